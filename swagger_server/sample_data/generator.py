"""Generate realistic FlexGrid-like sample data in the central DB's Eve JSON shapes.

Each user has a baseload, an evening-peaking curtailable bundle with a
5-point curtailment offer, three shiftable devices (washing machine,
dishwasher, tumble dryer) and one EV. Users of flexibility level ``Low``
ask high prices for curtailment and have tight deadlines; ``High`` users
are cheap and lenient. Each level also gets a flex request
``flex_request_1_<Level>``, a falling 5-point demand curve per hour scaled to
the portfolio's load.

Run ``python -m swagger_server.sample_data.generator`` (``make sample-data``)
to rewrite the committed files; ``--users N`` writes a larger portfolio for
benchmarks. It also writes the samples of ``docs/samples/`` (a FlexGrid
workbook and a tidy package, for ``brtp``) and ``docs/datapackage.json``.
"""

import argparse
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from BRTP.data.package import write_package
from BRTP.data.synthetic import flexgrid_dataset
from BRTP.data.tables import datapackage
from BRTP.data.workbook import write_workbook
from swagger_server.core.logging import configure_logging
from swagger_server.sample_data import DATAPACKAGE, SAMPLE_DIR, USER_SAMPLES

logger = structlog.get_logger(__name__)

Document = dict[str, Any]
LEVELS = ("Low", "Medium", "High")
SAMPLE_DAY = datetime(2021, 11, 11, tzinfo=UTC)
CREATED = "2022-01-17T11:40:26"
COLLECTIONS = ("dr_prosumers", "curtailable_loads", "load_entries", "flex_requests", "flex_request_data_points")


@dataclass(frozen=True)
class LevelProfile:
    """How flexible a level's users are."""

    offer_price_per_kw: float  # price at the largest offered quantity, EUR/kW
    offer_share: float  # share of (xc - b) offered for curtailment
    slack_hours: tuple[int, int]  # deadline slack after the desired finish, min/max
    request_share: float  # flex request size relative to the evening load


PROFILES = {
    "Low": LevelProfile(offer_price_per_kw=3.2, offer_share=0.4, slack_hours=(1, 2), request_share=0.15),
    "Medium": LevelProfile(offer_price_per_kw=1.6, offer_share=0.6, slack_hours=(2, 4), request_share=0.25),
    "High": LevelProfile(offer_price_per_kw=0.4, offer_share=0.85, slack_hours=(3, 6), request_share=0.35),
}

#: name, power range (kW), run length (h), preferred start hours
DEVICES = (
    ("device_1", (1.0, 4.2), 1, (17, 18, 19, 20)),
    ("device_2", (0.6, 1.1), 2, (8, 9, 10, 12)),
    ("device_3", (2.0, 2.5), 1, (12, 13, 14, 15)),
)


class _Ids:
    """Deterministic ObjectId-like ids, etags and Eve metadata."""

    def __init__(self, seed: int) -> None:
        self.counter = 0
        self.prefix = f"{0x61E555AA + seed:08x}"

    def next(self) -> str:
        self.counter += 1
        return f"{self.prefix}{self.counter:016x}"

    def eve(self, doc: Document, collection: str, title: str) -> Document:
        doc_id = self.next()
        body = json.dumps(doc, sort_keys=True).encode()
        return {
            "_id": doc_id,
            **doc,
            "_updated": CREATED,
            "_created": CREATED,
            "_etag": hashlib.sha1(body, usedforsecurity=False).hexdigest(),
            "_links": {"self": {"title": title, "href": f"{collection}/{doc_id}"}},
        }


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _curtailable_profile(rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """Baseload and desired curtailable consumption over 24 hours (evening peak)."""
    baseload = round(float(rng.uniform(0.15, 0.45)), 4)
    hours = np.arange(24)
    afternoon = rng.uniform(0.3, 0.7) * ((hours >= 15) & (hours < 18))
    evening = rng.uniform(0.8, 1.4) * ((hours >= 18) & (hours < 22))
    late = rng.uniform(0.2, 0.5) * (hours >= 22)
    return baseload, np.round(baseload + afternoon + evening + late, 4)


def _offer(extra_kw: float, price_at_max: float, share: float, rng: np.random.Generator) -> list[Document]:
    """A 5-point offer: origin plus 4 equal steps, prices rising linearly."""
    top = extra_kw * share
    price = price_at_max * rng.uniform(0.8, 1.2)
    return [
        {"price_euro_per_kw": round(price * k / 4, 6) if top > 0 else 0.0, "quantity_kw": round(top * k / 4, 6)}
        for k in range(5)
    ]


def generate_documents(
    users_per_level: int = 10, levels: tuple[str, ...] = LEVELS, seed: int = 2021, day: datetime = SAMPLE_DAY
) -> dict[str, list[Document]]:
    """All five collections for ``users_per_level`` users of each level and one flex request per level."""
    rng = np.random.default_rng(seed)
    ids = _Ids(seed)
    docs: dict[str, list[Document]] = {name: [] for name in COLLECTIONS}
    evening_total = {level: np.zeros(24) for level in levels}
    for level in levels:
        profile = PROFILES[level]
        for number in range(1, users_per_level + 1):
            ev_limit = float(rng.choice([2.0, 3.7]))
            prosumer = ids.eve(
                {
                    "name": f"user_{number}_{level}",
                    "flexibility_level": level,
                    "shiftable_devices": [{"name": name} for name, *_ in DEVICES],
                    "EVs": [{"name": "ev_1", "charge_limit": ev_limit}],
                },
                "dr_prosumers",
                "Dr_prosumer",
            )
            docs["dr_prosumers"].append(prosumer)
            baseload, desired = _curtailable_profile(rng)
            evening_total[level] += desired
            for hour in range(24):
                docs["curtailable_loads"].append(
                    ids.eve(
                        {
                            "timestamp": _iso(day + timedelta(hours=hour)),
                            "desired_consumption_kw": float(desired[hour]),
                            "base_load_kw": baseload,
                            "flexibility": _offer(
                                float(desired[hour]) - baseload, profile.offer_price_per_kw, profile.offer_share, rng
                            ),
                            "prosumer_id": prosumer["_id"],
                        },
                        "curtailable_loads",
                        "Curtailable_load",
                    )
                )
            docs["load_entries"].extend(
                _device_entries(prosumer["_id"], profile, ev_limit, day, rng, ids, evening_total[level])
            )
    for level in levels:
        docs["flex_requests"].append(
            ids.eve({"name": f"flex_request_1_{level}", "flexibility_level": level}, "flex_requests", "Flex_request")
        )
        request_id = docs["flex_requests"][-1]["_id"]
        for hour in range(24):
            top = float(evening_total[level][hour]) * PROFILES[level].request_share
            price = 0.3 + 1.5 * float(evening_total[level][hour] / evening_total[level].max())
            docs["flex_request_data_points"].append(
                ids.eve(
                    {
                        "flex_request_id": request_id,
                        "timestamp": _iso(day + timedelta(hours=hour)),
                        "flexibility": [
                            {
                                "price_euro_per_kw": round(price * (1.2 - 0.1 * k), 6) if k else 0.0,
                                "quantity_kw": round(top * k / 4, 6),
                            }
                            for k in range(5)
                        ],
                    },
                    "flex_request_data_points",
                    "Flex_request_data_point",
                )
            )
    return docs


def _device_entries(
    prosumer_id: str,
    profile: LevelProfile,
    ev_limit: float,
    day: datetime,
    rng: np.random.Generator,
    ids: _Ids,
    totals: np.ndarray,
) -> list[Document]:
    entries: list[Document] = []

    def run(kind: str, name: str, offset: int, start: int, hours: int, kw: float) -> None:
        slack = int(rng.integers(profile.slack_hours[0], profile.slack_hours[1] + 1))
        deadline = min(start + hours - 1 + slack, 23)
        price = round(float(rng.uniform(1.2, 1.36)), 4)
        for hour in range(start, start + hours):
            totals[hour] += kw
            entries.append(
                ids.eve(
                    {
                        "timestamp": _iso(day + timedelta(hours=hour)),
                        "kw": kw,
                        "deadline": _iso(day + timedelta(hours=deadline)),
                        "price_euro_per_kw": price,
                        "prosumer_id": prosumer_id,
                        "obj_name": name,
                        "type": kind,
                        "offset": offset,
                    },
                    "load_entries",
                    "Load_entry",
                )
            )

    for offset, (name, (low, high), hours, starts) in enumerate(DEVICES):
        run("shiftable_devices", name, offset, int(rng.choice(starts)), hours, round(float(rng.uniform(low, high)), 4))
    ev_hours = int(rng.integers(2, 4))
    ev_start = int(rng.choice([0, 1, 18, 19]))
    run("EVs", "ev_1", 0, ev_start, ev_hours, round(ev_limit * float(rng.uniform(0.9, 0.97)), 4))
    return entries


def write_documents(docs: dict[str, list[Document]], directory: Path) -> None:
    """Write one ``<collection>.json`` per collection (compact, stable key order)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, items in docs.items():
        (directory / f"{name}.json").write_text(json.dumps(items, separators=(",", ":")) + "\n")


def write_user_samples(directory: Path, users: int = 10, seed: int = 2021) -> list[Path]:
    """The samples a user tries the ``brtp`` command on: a FlexGrid workbook and the same portfolio as a tidy package.

    ``portfolio.xlsx`` has the FlexGrid "BRTP Input" layout (``users`` users at three
    flexibility levels); ``portfolio.zip`` is the same portfolio as CSV tables with
    their ``datapackage.json``.
    """
    dataset = flexgrid_dataset(users, seed=seed, start=SAMPLE_DAY)
    directory.mkdir(parents=True, exist_ok=True)
    write_workbook(dataset, directory / "portfolio.xlsx")
    write_package(dataset, directory / "portfolio.zip", "csv")
    return [directory / "portfolio.xlsx", directory / "portfolio.zip"]


def main() -> None:
    """Command line: write the sample files (or a benchmark portfolio) and the user samples."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLE_DIR, help="output folder of the Eve JSON files")
    parser.add_argument("--users", type=int, default=30, help="number of users (a multiple of 3)")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--samples", type=Path, default=USER_SAMPLES, help="output folder of the user samples")
    args = parser.parse_args()
    docs = generate_documents(users_per_level=max(1, args.users // 3), seed=args.seed)
    write_documents(docs, args.out)
    written = write_user_samples(args.samples, max(1, args.users // 3), args.seed)
    (DATAPACKAGE).write_text(json.dumps(datapackage(), indent=2) + "\n")
    configure_logging()
    logger.info(
        "sample_data.written",
        prosumers=len(docs["dr_prosumers"]),
        folder=str(args.out),
        samples=[str(p) for p in written],
        descriptor=str(DATAPACKAGE),
    )


if __name__ == "__main__":
    main()
