"""Service metrics kept in Redis and exposed in the Prometheus text format by ``/metrics``.

Every API and worker process, on any machine, adds to the same numbers.

Counters: jobs submitted, jobs finished by status, callback deliveries that
failed for good. Histograms: job duration (submit to end) and solve time per
gamma. Gauge: messages waiting in the Celery queue.
"""

from collections.abc import Iterator

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

METRICS_KEY = "pricing:metrics"
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
SOLVE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
STATUSES = ("SUCCESS", "FAILURE", "REVOKED")


class JobMetrics:
    """Adds to the shared metrics (one Redis hash, atomic increments)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def _observe(self, name: str, buckets: tuple[float, ...], value: float) -> None:
        with self.redis.pipeline(transaction=False) as pipe:
            for bound in buckets:
                if value <= bound:
                    pipe.hincrby(METRICS_KEY, f"{name}_bucket:{bound}", 1)
            pipe.hincrbyfloat(METRICS_KEY, f"{name}_sum", value)
            pipe.hincrby(METRICS_KEY, f"{name}_count", 1)
            pipe.execute()

    def job_submitted(self) -> None:
        """A job was accepted."""
        self.redis.hincrby(METRICS_KEY, "submitted", 1)

    def job_finished(self, status: str, duration_seconds: float) -> None:
        """A job reached SUCCESS, FAILURE or REVOKED ``duration_seconds`` after it was submitted."""
        self.redis.hincrby(METRICS_KEY, f"finished:{status}", 1)
        self._observe("job_duration", DURATION_BUCKETS, duration_seconds)

    def gamma_solved(self, seconds: float) -> None:
        """One gamma's QP was solved in ``seconds``."""
        self._observe("solve_time", SOLVE_BUCKETS, seconds)

    def callback_failed(self) -> None:
        """A callback delivery gave up."""
        self.redis.hincrby(METRICS_KEY, "callback_failed", 1)


class MetricsCollector(Collector):
    """Reads the shared metrics (and the queue length) at each scrape."""

    def __init__(self, client: redis.Redis, queue: str) -> None:
        self.redis = client
        self.queue = queue

    def _histogram(
        self, values: dict[str, str], name: str, doc: str, buckets: tuple[float, ...]
    ) -> HistogramMetricFamily:
        cumulative = [(str(bound), float(values.get(f"{name}_bucket:{bound}", 0))) for bound in buckets]
        count = float(values.get(f"{name}_count", 0))
        family = HistogramMetricFamily(f"pricing_{name}_seconds", doc)
        family.add_metric([], [*cumulative, ("+Inf", count)], sum_value=float(values.get(f"{name}_sum", 0)))
        return family

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        """The metric families, in the Prometheus data model."""
        values = {str(k): str(v) for k, v in self.redis.hgetall(METRICS_KEY).items()}
        yield CounterMetricFamily(
            "pricing_jobs_submitted", "Jobs accepted by the API", value=float(values.get("submitted", 0))
        )
        finished = CounterMetricFamily("pricing_jobs_finished", "Jobs that ended, by status", labels=["status"])
        for status in STATUSES:
            finished.add_metric([status], float(values.get(f"finished:{status}", 0)))
        yield finished
        yield CounterMetricFamily(
            "pricing_callbacks_failed",
            "Callback deliveries that failed for good",
            value=float(values.get("callback_failed", 0)),
        )
        yield self._histogram(values, "job_duration", "Seconds from submit to the end of a job", DURATION_BUCKETS)
        yield self._histogram(values, "solve_time", "Seconds to solve one gamma's QP", SOLVE_BUCKETS)
        yield GaugeMetricFamily(
            "pricing_queue_length", "Messages waiting in the Celery queue", value=float(self.redis.llen(self.queue))
        )
