"""Benchmark: loading your own data, and ``brtp run`` end to end.

Prints, for generated portfolios of 1 000, 10 000 and 100 000 prosumers
(24 hourly slots, 4-step offers, 1-4 devices and 0-2 EVs each, one 4-step
request), the time to load them with :func:`BRTP.data.load.load_dataset` from
a tidy Parquet package, a tidy CSV package and the five Eve JSON collections
(the baseline: the format the service's sample data and the central DB use),
each in a fresh process with its peak memory; then the wall time of
``brtp run`` (a subprocess, as a user types it) on a 3 000-prosumer Parquet
package with 11 gamma values.

    python -m bench.data_loading [--sizes 1000 10000 100000] [--run-size 3000]
"""

import argparse
import json
import multiprocessing
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.memory import peak_memory_mb
from BRTP.data.dataset import Dataset
from BRTP.data.load import load_dataset
from BRTP.data.package import write_package
from BRTP.data.synthetic import REQUEST, synthetic_dataset

GAMMAS = "0,0.2,0.4,0.6,0.8,1,1.2,1.4,1.6,1.8,2"


def write_eve(dataset: Dataset, folder: Path) -> None:
    """The dataset as the five central-DB collections (what the service's sample files look like)."""
    folder.mkdir(parents=True, exist_ok=True)
    grid = dataset.grid
    stamps = [grid.label(t) for t in range(grid.n_slots)]
    prosumers, loads, entries = [], [], []
    devices = dataset.devices
    per_user: dict[int, list[int]] = {}
    for d, user in enumerate(devices.user.tolist()):
        per_user.setdefault(user, []).append(d)
    for i, name in enumerate(dataset.user_names):
        mine = per_user.get(i, [])
        shiftable = [d for d in mine if not devices.is_ev[d]]
        evs = [d for d in mine if devices.is_ev[d]]
        prosumers.append(
            {
                "_id": f"p{i}",
                "name": name,
                "shiftable_devices": [{"name": devices.name[d]} for d in shiftable],
                "EVs": [{"name": devices.name[d], "charge_limit": float(devices.charge_limit_kw[d])} for d in evs],
            }
        )
        price, quantity = dataset.offers.price[i].tolist(), dataset.offers.quantity[i].tolist()
        desired, base = dataset.desired_kw[i].tolist(), dataset.baseload_kw[i].tolist()
        for t, stamp in enumerate(stamps):
            loads.append(
                {
                    "_id": f"c{i}-{t}",
                    "prosumer_id": f"p{i}",
                    "timestamp": stamp,
                    "desired_consumption_kw": desired[t],
                    "base_load_kw": base[t],
                    "flexibility": [
                        {"price_euro_per_kw": p, "quantity_kw": q} for p, q in zip(price[t], quantity[t], strict=True)
                    ],
                }
            )
        for kind, listed in (("shiftable_devices", shiftable), ("EVs", evs)):
            for offset, d in enumerate(listed):
                deadline = grid.label(int(devices.deadline[d]))
                for t in np.flatnonzero(devices.has_row[d]).tolist():
                    entries.append(
                        {
                            "_id": f"e{d}-{t}",
                            "prosumer_id": f"p{i}",
                            "timestamp": stamps[t],
                            "kw": float(devices.profile_kw[d, t]),
                            "deadline": deadline,
                            "price_euro_per_kw": float(devices.delay_price[d]),
                            "type": kind,
                            "offset": offset,
                        }
                    )
    curves = dataset.flex_requests[REQUEST]
    points = [
        {
            "_id": f"f{t}",
            "flex_request_id": "r0",
            "timestamp": stamps[t],
            "flexibility": [
                {"price_euro_per_kw": float(p), "quantity_kw": float(q)}
                for p, q in zip(curves.price[t], curves.quantity[t], strict=True)
            ],
        }
        for t in range(grid.n_slots)
    ]
    collections = {
        "dr_prosumers": prosumers,
        "curtailable_loads": loads,
        "load_entries": entries,
        "flex_requests": [{"_id": "r0", "name": REQUEST}],
        "flex_request_data_points": points,
    }
    for name, docs in collections.items():
        (folder / f"{name}.json").write_text(json.dumps(docs, separators=(",", ":")))


def _load(path: str, queue: "multiprocessing.Queue[tuple[float, float, int]]") -> None:
    started = time.perf_counter()
    dataset = load_dataset(path)
    seconds = time.perf_counter() - started
    queue.put((seconds, peak_memory_mb(), dataset.n_users))


def timed_load(path: Path) -> tuple[float, float, int]:
    """Seconds and peak memory (MB) of loading ``path`` in a fresh process."""
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[tuple[float, float, int]] = context.Queue()
    process = context.Process(target=_load, args=(str(path), queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def size_on_disk(path: Path) -> float:
    """MB of a file or folder."""
    files = [path] if path.is_file() else list(path.rglob("*"))
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


def main() -> None:
    """Run the sizes and print one row per size and format, then the end-to-end run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--run-size", type=int, default=3000)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {multiprocessing.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'prosumers':>10} {'format':>8} {'MB on disk':>11} {'load s':>8} {'peak MB':>8}")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for size in args.sizes:
            dataset = synthetic_dataset(size, seed=size)
            targets = {
                "parquet": root / f"{size}-parquet",
                "csv": root / f"{size}-csv",
                "eve-json": root / f"{size}-eve",
            }
            write_package(dataset, targets["parquet"], "parquet")
            write_package(dataset, targets["csv"], "csv")
            write_eve(dataset, targets["eve-json"])
            del dataset
            for name, path in targets.items():
                seconds, peak, users = timed_load(path)
                assert users == size
                rows.append({"size": size, "format": name, "seconds": seconds})
                print(f"{size:>10} {name:>8} {size_on_disk(path):>11.1f} {seconds:>8.2f} {peak:>8.0f}", flush=True)
        package = root / "run-package"
        write_package(synthetic_dataset(args.run_size, seed=1), package, "parquet")
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "BRTP",
                "run",
                str(package),
                "--flex-request",
                REQUEST,
                "--gammas",
                GAMMAS,
                "--margin",
                "0.2",
                "--out",
                str(root / "out"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        status = "ok" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr.strip()[-200:]}"
        print(
            f"brtp run, {args.run_size} prosumers x 11 gammas (Parquet in, every output file): {wall:.1f} s ({status})"
        )
    for size in args.sizes:
        by = {r["format"]: r["seconds"] for r in rows if r["size"] == size}
        parquet, csv = by["eve-json"] / by["parquet"], by["eve-json"] / by["csv"]
        print(f"{size:>10}: Parquet {parquet:.1f}x, CSV {csv:.1f}x faster than Eve JSON")


if __name__ == "__main__":
    main()
