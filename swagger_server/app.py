"""The Connexion 3 application, routed from ``swagger/pricing.yml``."""

import ipaddress
import logging
import secrets
from pathlib import Path
from typing import Any

import redis
import structlog
import yaml
from connexion import AsyncApp
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from BRTP import __version__
from swagger_server import dependencies
from swagger_server.auth import AnyToken, Authorizer, StaticTokens, central_db_authorizer, introspection_authorizer
from swagger_server.body_limit import BodySizeLimit
from swagger_server.core.callbacks import Allowlist
from swagger_server.core.data_sources import make_data_source
from swagger_server.core.datasets import DatasetStore
from swagger_server.core.job_store import JobStore
from swagger_server.core.logging import configure_logging
from swagger_server.core.metrics import MetricsCollector
from swagger_server.core.settings import Settings, get_settings
from swagger_server.dataset_service import DatasetService
from swagger_server.job_queue import JobQueue
from swagger_server.pricing_service import PricingService
from swagger_server.problems import VALIDATORS, register_error_handlers
from swagger_server.readiness import ReadinessProbe, solver_check
from swagger_server.web import pages
from swagger_server.web.session import CookieToBearer

logger = structlog.get_logger(__name__)
SPEC_PATH = Path(__file__).resolve().parents[1] / "swagger" / "pricing.yml"


def load_spec(settings: Settings) -> dict[str, Any]:
    """The contract, with this deployment's OAuth2 token URL and the service's version."""
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    spec["info"]["version"] = __version__
    flows = spec["components"]["securitySchemes"]["oAuth2"]["flows"]
    flows["password"]["tokenUrl"] = settings.token_url
    return spec


def make_authorizer(settings: Settings) -> Authorizer:
    """Configured tokens first; in sample-data mode any token; else introspection or the central DB."""
    if settings.tokens:
        return StaticTokens(settings.tokens)
    if settings.sample_data:
        logger.warning("auth.any_token", detail="SAMPLE_DATA=1 without API_TOKENS accepts any non-empty bearer token")
        return AnyToken()
    if settings.token_introspection_url:
        return introspection_authorizer(
            settings.token_introspection_url,
            settings.central_db_client_id,
            settings.token_introspection_client_secret.get_secret_value(),
            settings.auth_cache_seconds,
        )
    return central_db_authorizer(settings.central_db_base_url, settings.auth_cache_seconds)


async def development_token(request: Request) -> JSONResponse:
    """Sample-data mode's own OAuth2 token endpoint, so Swagger UI's Authorize works on a laptop."""
    form = await request.form()
    if form.get("grant_type") != "password" or not form.get("username"):
        return JSONResponse(
            {"error": "invalid_request", "error_description": "use grant_type=password with a username"},
            status_code=400,
        )
    return JSONResponse(
        {"access_token": secrets.token_urlsafe(24), "token_type": "bearer", "expires_in": 3600, "scope": "post_pricing"}
    )


def _client_in(request: Request, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """True if the client's address (after the trusted proxy's X-Forwarded-For) is in one of ``networks``."""
    try:
        address = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def warn_if_datasets_may_be_lost(store: DatasetStore) -> None:
    """Log what in Redis' configuration could lose uploaded datasets (persistence off, eviction on)."""
    try:
        problems = store.durability_problems()
    except redis.RedisError as exc:
        logger.warning("datasets.durability_unchecked", error=exc)
        return
    for problem in problems:
        logger.warning("datasets.may_be_lost", problem=problem)


def create_app(settings: Settings | None = None) -> AsyncApp:
    """Build the app and its dependencies for ``settings`` (defaults: the environment)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    # Connexion warns on every request that POST /pricing accepts two JSON media types; that is intended.
    logging.getLogger("connexion.operations.openapi3").setLevel(logging.ERROR)
    store = JobStore.from_url(settings.broker_url, settings.job_retention_days)
    queue = JobQueue(settings, store.workspace(settings.workspace_ttl))
    datasets = DatasetService(
        store.datasets,
        max_upload_bytes=settings.max_upload_bytes,
        max_unpacked_bytes=settings.max_unpacked_bytes,
        shared=settings.is_single_tenant,
    )
    service = PricingService(
        store,
        make_data_source(settings),
        queue,
        datasets,
        max_horizon_days=settings.max_horizon_days,
        show_tracebacks=settings.debug,
        callback_allowlist=Allowlist.parse(settings.callback_allowlist),
        shared=settings.is_single_tenant,
    )
    warn_if_datasets_may_be_lost(store.datasets)
    installed = dependencies.Dependencies(
        settings=settings,
        service=service,
        datasets=datasets,
        authorizer=make_authorizer(settings),
        readiness=ReadinessProbe({"broker": queue.check_broker, "job_store": store.ping, "solver": solver_check}),
    )
    app = AsyncApp(__name__, swagger_ui_options=SwaggerUIOptions(swagger_ui=True, swagger_ui_path="/ui"))
    app.add_api(
        load_spec(settings),
        validate_responses=settings.validate_responses,
        validator_map=VALIDATORS,
    )
    if settings.sample_data:
        app.add_url_rule("/oauth/token", "oauth_token", development_token, methods=["POST"])
    registry = CollectorRegistry()
    registry.register(MetricsCollector(store.redis, settings.celery_queue))

    scrapers = [
        ipaddress.ip_network(n.strip(), strict=False) for n in settings.metrics_networks.split(",") if n.strip()
    ]
    scrape_token = settings.metrics_token.get_secret_value()

    async def metrics(request: Request) -> Response:
        """Prometheus text format, for METRICS_NETWORKS or the METRICS_TOKEN bearer (operational, like Flower)."""
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not ((scrape_token and secrets.compare_digest(given, scrape_token)) or _client_in(request, scrapers)):
            body = {"type": "about:blank", "title": "Forbidden", "status": 403,
                    "detail": "metrics are for METRICS_NETWORKS or the METRICS_TOKEN bearer"}  # fmt: skip
            return JSONResponse(body, status_code=403, media_type="application/problem+json")
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
    for rule, endpoint, handler, methods in pages.ROUTES:
        app.add_url_rule(rule, endpoint, handler, methods=methods)
    app.add_middleware(CookieToBearer, position=MiddlewarePosition.BEFORE_SECURITY)
    app.add_middleware(
        dependencies.InstallDependencies, position=MiddlewarePosition.BEFORE_EXCEPTION, dependencies=installed
    )
    app.add_middleware(
        BodySizeLimit,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        max_bytes=settings.max_request_bytes,
        uploads={"/datasets": settings.max_upload_bytes, "/jobs/datasets": settings.max_upload_bytes},
    )
    register_error_handlers(app)
    return app
