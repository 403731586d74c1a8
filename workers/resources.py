"""This worker process's shared objects, made once on first use: job store, workspace, data source, callback policy."""

from functools import cache

from swagger_server.core.callbacks import DeliveryPolicy
from swagger_server.core.data_sources import DataSource, make_data_source
from swagger_server.core.job_store import JobStore
from swagger_server.core.settings import get_settings
from swagger_server.core.workspace import JobWorkspace

#: How long a worker's store commands wait out a Redis outage (a restart) before the task retries.
REDIS_RIDE_OUT_SECONDS = 30.0


@cache
def job_store() -> JobStore:
    """This worker process's job store (it rides out a Redis restart)."""
    settings = get_settings()
    return JobStore.from_url(settings.broker_url, settings.job_retention_days, ride_out_seconds=REDIS_RIDE_OUT_SECONDS)


@cache
def workspace() -> JobWorkspace:
    """This worker process's view of running jobs' working data."""
    return job_store().workspace(get_settings().workspace_ttl)


@cache
def data_source() -> DataSource:
    """This worker process's data source."""
    return make_data_source(get_settings())


@cache
def delivery_policy() -> DeliveryPolicy:
    """This worker process's callback policy."""
    return DeliveryPolicy.from_settings(get_settings())
