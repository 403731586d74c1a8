"""What a FlexGrid user does in Swagger UI, as Playwright steps."""

import json
from typing import Any


def open_swagger_ui(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    """Open /ui/ and wait until the operations are rendered."""
    page.goto(f"{base_url}/ui/")
    page.wait_for_selector(".opblock-summary-path", timeout=20000)


def authorize(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Authorize button -> OAuth2 password flow -> token from the scheme's tokenUrl."""
    page.click("button.authorize")
    page.fill("#oauth_username", username)
    page.fill("#oauth_password", password)
    page.locator(".auth-container .scopes label").first.click()
    page.click(".auth-btn-wrapper button.authorize")
    # Swagger UI shows "Logout" once it holds a token (an error message otherwise).
    page.locator(".auth-container button", has_text="Logout").wait_for(timeout=10000)
    page.click("button.btn-done")


def try_post_pricing(page, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """ "Try it out" on POST /pricing with ``body``; returns the status code and the response body."""
    operation = page.locator(".opblock-post").first
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("textarea.body-param__text").fill(json.dumps(body))
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=20000)
    text = operation.locator(".live-responses-table tbody .response-col_description .microlight").first.inner_text()
    return status.inner_text().strip(), json.loads(text)
