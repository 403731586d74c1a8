"""Headless Chromium (Debian's package) driven by Playwright, and a live service to point it at."""

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import api_server, service_env

logger = logging.getLogger(__name__)
CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")
# Flags for a machine with no network but loopback (see README, "Tests").
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A Chromium browser; skipped without Chromium, except in CI where it must be installed."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_api(worker, redis_url, service_sample_dir, queue_name, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A real API server (uvicorn) on a free port, with the session worker behind it."""
    with api_server(service_env(redis_url, service_sample_dir, queue_name), tmp_path / "api.log") as base:
        yield base
