"""All configuration in one typed object, read from the environment and ``.env``.

Variable names carry no prefix, so the FlexGrid original's ``.env`` files keep
working (``SAMPLE_DATA``, ``REDIS_URL``, ``CENTRAL_DB_*``). Nothing else in the
project reads ``os.environ`` (``make run``'s launcher and ``config/gunicorn.conf.py``
read this object too). Every variable is documented in ``.env.example``.
"""

import base64
import binascii
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from swagger_server.sample_data import SAMPLE_DIR

DEFAULT_REDIS_URL = "redis://localhost:6379/0"


class Settings(BaseSettings):
    """Service settings (see ``.env.example`` for each variable)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    sample_data: bool = Field(default=False, description="1/true: read the project's sample files, not the central DB")
    sample_data_dir: Path = SAMPLE_DIR
    redis_url: str | None = Field(default=None, description="broker and job store; unset: localhost:6379/0")
    embedded_redis_port: int = Field(default=6399, description="port of the embedded Redis that `make run` starts")
    embedded_redis_dir: Path = Field(default=Path("var/redis"), description="data folder of that embedded Redis")
    celery_queue: str = "pricing"
    callback_queue: str = Field(
        default="pricing-callbacks",
        description="queue of callback deliveries (their own workers: a slow receiver holds no solve)",
    )

    central_db_base_url: str = "https://db.flexgrid-project.eu"
    central_db_client_id: str = ""
    central_db_username: str = ""
    central_db_password: SecretStr = SecretStr("")

    central_db_timeout: float = Field(default=30.0, gt=0, description="seconds to wait for one central-DB response")
    central_db_retries: int = Field(default=4, ge=1, description="attempts per central-DB request (timeouts, 5xx)")
    central_db_backoff: float = Field(default=1.0, ge=0, description="first retry delay in seconds, doubled per retry")
    central_db_outage_seconds: float = Field(
        default=60.0, ge=0, description="how long a job waits for an unreachable central DB before it fails"
    )
    central_db_page_size: int = Field(default=500, ge=1, le=5000, description="documents per page (Eve max_results)")

    api_tokens: str = Field(default="", description="comma-separated bearer tokens accepted by the API")
    token_introspection_url: str = Field(
        default="", description="RFC 7662 endpoint; empty: the central DB's /authorization/"
    )
    token_introspection_client_secret: SecretStr = SecretStr("")
    auth_cache_seconds: float = Field(default=60.0, ge=0, description="how long a token check is reused")

    callback_secret: SecretStr = Field(
        default=SecretStr(""), description="Standard Webhooks secret (whsec_...); empty: unsigned"
    )
    callback_allowed_hosts: str | None = Field(
        default=None,
        description="hosts and CIDRs callbacks may reach besides public addresses; unset: loopback in sample mode",
    )
    callback_connect_timeout: float = Field(default=3.0, gt=0)
    callback_read_timeout: float = Field(default=10.0, gt=0)
    callback_attempt_deadline: float = Field(
        default=30.0, gt=0, description="seconds one delivery attempt may take in all (a slow sender is cut off)"
    )
    callback_retry_base: float = Field(default=10.0, gt=0, description="first retry delay (s), doubled per attempt")
    callback_retry_cap: float = Field(default=900.0, gt=0, description="longest delay between two attempts (s)")
    callback_retry_total: float = Field(default=3600.0, ge=0, description="give up once the delays add up to this (s)")

    max_request_bytes: int = Field(default=2_000_000, ge=1024, description="larger request bodies get a 413")
    max_upload_bytes: int = Field(
        default=200_000_000, ge=1024, description="larger dataset uploads (POST /datasets) get a 413"
    )
    max_unpacked_bytes: int = Field(
        default=2_000_000_000, ge=1024, description="an uploaded .zip/.xlsx that unpacks to more is refused (400)"
    )
    single_tenant: bool | None = Field(
        default=None,
        description="1: every caller sees every job and dataset; 0: only their own; unset: 1 in sample mode",
    )
    worker_soft_shutdown_timeout: float = Field(
        default=60.0, ge=0, description="seconds a stopping worker lets running tasks finish before re-queueing them"
    )

    host: str = "0.0.0.0"
    port: int = 8080
    gunicorn_bind: str = Field(default="", description="gunicorn's address; empty: 127.0.0.1:PORT (behind nginx)")
    gunicorn_workers: int = Field(default=0, ge=0, description="gunicorn worker processes; 0: min(4, cores + 1)")

    task_soft_time_limit: int = Field(default=1800, ge=10, description="seconds; the job fails with a clear message")
    task_time_limit: int = Field(default=1900, ge=20, description="seconds; the worker process is killed")
    gammas_per_task: int = Field(default=1, ge=1, description="gamma values one solve task takes (fan-out)")
    kept_solver_idle_seconds: float = Field(
        default=60.0,
        gt=0,
        description="a worker process lets its last job's QP and interior-point anchors go after this long without "
        "a task of that job",
    )
    task_max_starts: int = Field(
        default=5,
        ge=1,
        description="times a job's task (fetch, solve, assembly) may start without finishing (its worker process "
        "killed or crashed: the broker hands it out again) before its job fails with a message",
    )
    worker_heartbeat_seconds: float = Field(
        default=10.0, gt=0, description="how often a worker renews the tasks it holds and the heartbeat of their jobs"
    )
    broker_visibility_timeout: int = Field(
        default=45,
        ge=5,
        description="seconds without a heartbeat after which a task held by a worker goes back to the queue "
        "(a killed worker's task runs again after this)",
    )
    stale_job_seconds: int = Field(
        default=60, ge=1, description="a queued or running job with no heartbeat and no task for this long is stuck"
    )
    sweep_interval_seconds: float = Field(default=15.0, gt=0, description="how often one worker looks for stuck jobs")
    job_redrive_limit: int = Field(
        default=3, ge=0, description="times a stuck job is driven on before it fails with a message"
    )
    worker_blas_threads: int = Field(
        default=1, ge=1, description="BLAS threads per worker process (scale out with processes, one per core)"
    )
    job_retention_days: int = Field(default=30, ge=1)
    max_horizon_days: int = 7

    metrics_token: SecretStr = Field(
        default=SecretStr(""), description="bearer token that may read /metrics from anywhere; empty: none"
    )
    metrics_networks: str = Field(
        default="127.0.0.0/8,::1/128", description="client networks that may read /metrics without the token"
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    debug: bool = Field(default=False, description="store tracebacks of internal failures in job results")
    validate_responses: bool = Field(default=False, description="check every response against the contract (tests)")

    @model_validator(mode="after")
    def _hard_limit_above_soft(self) -> "Settings":
        if self.task_time_limit <= self.task_soft_time_limit:
            raise ValueError("TASK_TIME_LIMIT must be greater than TASK_SOFT_TIME_LIMIT")
        return self

    @model_validator(mode="after")
    def _standard_webhooks_secret(self) -> "Settings":
        """A callback secret must be ``whsec_<base64>``: other forms cannot be verified by official libraries."""
        secret = self.callback_secret.get_secret_value()
        if secret:
            try:
                valid = secret.startswith("whsec_") and bool(base64.b64decode(secret[6:], validate=True))
            except (binascii.Error, ValueError):
                valid = False
            if not valid:
                raise ValueError(
                    "CALLBACK_SECRET must be a Standard Webhooks secret: whsec_ followed by a base64 key (make "
                    "one: python -c \"import base64, os; print('whsec_' + base64.b64encode(os.urandom(24)).decode())\")"
                )
        return self

    @property
    def broker_url(self) -> str:
        """The Redis URL used as Celery broker and job store."""
        return self.redis_url or DEFAULT_REDIS_URL

    @model_validator(mode="after")
    def _heartbeat_within_visibility(self) -> "Settings":
        """Three heartbeats must fit in the visibility timeout, or a live worker's task could run twice."""
        if self.worker_heartbeat_seconds * 3 > self.broker_visibility_timeout:
            raise ValueError("BROKER_VISIBILITY_TIMEOUT must be at least 3 x WORKER_HEARTBEAT_SECONDS")
        return self

    @property
    def is_single_tenant(self) -> bool:
        """True if every caller sees every job and dataset: ``SINGLE_TENANT``, else sample-data mode."""
        return self.sample_data if self.single_tenant is None else self.single_tenant

    @property
    def workspace_ttl(self) -> int:
        """How long a running job's working data (parsed input, solved gammas) is kept in Redis."""
        return 2 * (self.task_time_limit + 600)

    @property
    def tokens(self) -> frozenset[str]:
        """The configured API tokens."""
        return frozenset(t.strip() for t in self.api_tokens.split(",") if t.strip())

    @property
    def callback_allowlist(self) -> list[str]:
        """Hosts and CIDRs callbacks may reach even if not public: loopback by default in sample mode."""
        if self.callback_allowed_hosts is None:
            return ["localhost", "127.0.0.0/8", "::1/128"] if self.sample_data else []
        return [item.strip() for item in self.callback_allowed_hosts.split(",") if item.strip()]

    @property
    def token_url(self) -> str:
        """Where Swagger UI's Authorize button gets a token."""
        if self.sample_data:
            return "/oauth/token"
        return f"{self.central_db_base_url.rstrip('/')}/oauth/token"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
