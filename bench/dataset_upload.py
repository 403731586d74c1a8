"""Benchmark: uploading a dataset to the service, and what a worker then does with it.

For generated portfolios of 1 000, 10 000 and 100 000 prosumers as tidy
Parquet ``.zip`` packages, prints side by side:

- ``load``: reading the file with :func:`BRTP.data.load.load_dataset` (what
  ``brtp validate`` does; the baseline of the upload);
- ``upload``: ``POST /datasets`` through the app (validation, serialisation,
  storing in Redis), with the upload's and the stored sizes;
- ``cut (stored)``: what a worker does for a job on it: load the stored arrays
  from Redis and cut out every prosumer (:meth:`Dataset.job`);
- ``cut (parse)``: the same job cut after parsing the file again (what a
  worker would do if the raw upload were stored).

Redis: ``--redis-url`` (default the machine's on 127.0.0.1:6379, database 13,
flushed), else the embedded one.

    python -m bench.dataset_upload [--sizes 1000 10000 100000]
"""

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import redis

from BRTP.data.load import load_dataset
from BRTP.data.package import write_package
from BRTP.data.serialize import dataset_from_bytes
from BRTP.data.synthetic import REQUEST, synthetic_dataset
from swagger_server.app import create_app
from swagger_server.core.datasets import DatasetStore
from swagger_server.core.job_store import JobStore
from swagger_server.core.settings import Settings
from swagger_server.embedded import free_port, start_embedded_redis

AUTH = {"Authorization": "Bearer bench"}


def redis_for_bench(url: str, scratch: Path) -> str:
    """``url`` if a Redis answers there (flushed), else an embedded one's URL."""
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).flushdb()
        return url
    except redis.RedisError:
        port = free_port()
        start_embedded_redis(port, scratch / "redis")
        return f"redis://127.0.0.1:{port}/0"


def seconds(work: Callable[[], object]) -> float:
    """Wall time of calling ``work``."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def cut_stored_job(datasets: DatasetStore, dataset_id: str) -> None:
    """A worker's job on a stored dataset: load its arrays from Redis, cut out every prosumer."""
    dataset_from_bytes(datasets.arrays(dataset_id) or b"").job(REQUEST)


def cut_parsed_job(path: Path) -> None:
    """The same job if the raw upload were stored: parse the file again, then cut."""
    load_dataset(path).job(REQUEST)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        url = redis_for_bench(args.redis_url, scratch)
        settings = Settings(  # type: ignore[call-arg]  # pydantic-settings' init-only option
            _env_file=None, redis_url=url, sample_data=True, max_upload_bytes=2_000_000_000
        )
        client = create_app(settings).test_client()
        datasets: DatasetStore = JobStore.from_url(url, 1).datasets
        columns = ("prosumers", "zip MB", "stored MB", "load s", "upload s", "cut (stored) s", "cut (parse) s")
        print(" ".join(f"{name:>{max(9, len(name))}}" for name in columns))
        for size in args.sizes:
            path = scratch / f"portfolio-{size}.zip"
            write_package(synthetic_dataset(size, seed=1), path, "parquet")
            load = seconds(partial(load_dataset, path))
            started = time.perf_counter()
            with path.open("rb") as handle:
                answer = client.post("/datasets", files={"file": (path.name, handle)}, headers=AUTH)
            upload = time.perf_counter() - started
            assert answer.status_code == 201, answer.text
            dataset_id = answer.json()["dataset_id"]
            stored = datasets.arrays(dataset_id) or b""
            cut_stored = seconds(partial(cut_stored_job, datasets, dataset_id))
            cut_parse = seconds(partial(cut_parsed_job, path))
            figures = (size, path.stat().st_size / 1e6, len(stored) / 1e6, load, upload, cut_stored, cut_parse)
            print(
                " ".join(
                    f"{value:>{max(9, len(name))}.{0 if k == 0 else 2}f}"
                    for k, (name, value) in enumerate(zip(columns, figures, strict=True))
                )
            )
            client.delete(f"/datasets/{dataset_id}", headers=AUTH)


if __name__ == "__main__":
    main()
