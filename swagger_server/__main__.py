"""``python -m swagger_server``: serve the API with uvicorn (the original's command)."""

import uvicorn

from swagger_server.core.settings import get_settings


def main() -> None:
    """Run the API on ``HOST:PORT``."""
    settings = get_settings()
    uvicorn.run(
        "swagger_server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
