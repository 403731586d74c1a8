"""A folder or ``.zip`` of the five central-DB collections (Eve JSON) as the tidy tables.

The same files the service's sample data and the central DB's export use:
``dr_prosumers.json``, ``curtailable_loads.json``, ``load_entries.json``,
``flex_requests.json``, ``flex_request_data_points.json``, each a JSON list of
documents. Load entries join a prosumer's ``shiftable_devices``/``EVs`` by
``type`` and ``offset``, as the FlexGrid original did. A bad value is named by
its file, document position (row) and field (column).
"""

import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from BRTP.data.dataset import Dataset
from BRTP.data.source_tables import Locator, SourceTable
from BRTP.errors import InputFileError, Location

COLLECTIONS = ("dr_prosumers", "curtailable_loads", "load_entries", "flex_requests", "flex_request_data_points")
Document = dict[str, Any]
KIND = {"shiftable_devices": "shiftable", "EVs": "ev"}


def is_eve_folder(path: Path) -> bool:
    """True if ``path`` (folder or zip) holds a ``dr_prosumers.json``."""
    if path.is_dir():
        return (path / "dr_prosumers.json").is_file()
    with zipfile.ZipFile(path) as archive:
        return any(name.rsplit("/", 1)[-1] == "dr_prosumers.json" for name in archive.namelist())


def _load(path: Path) -> dict[str, list[Document]]:
    found: dict[str, list[Document]] = {}
    contents: dict[str, bytes] = {}
    if path.is_dir():
        contents = {
            f"{c}.json": (path / f"{c}.json").read_bytes() for c in COLLECTIONS if (path / f"{c}.json").is_file()
        }
    else:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                base = member.rsplit("/", 1)[-1]
                if base in {f"{c}.json" for c in COLLECTIONS}:
                    contents[base] = archive.read(member)
    for collection in COLLECTIONS:
        raw = contents.get(f"{collection}.json")
        if raw is None:
            raise InputFileError(Location(path.name), f"has no {collection}.json")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputFileError(Location(f"{collection}.json"), f"is not JSON ({exc})") from exc
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise InputFileError(Location(f"{collection}.json"), "must be a JSON list of objects")
        found[collection] = data
    return found


def _located(file: str, positions: list[int], fields: dict[str, str]) -> Locator:
    """Rows made from documents of ``file``: row = the document's position (1-based), column = its field."""

    def locate(position: int, column: str) -> Location:
        row = positions[position] + 1 if 0 <= position < len(positions) else None
        return Location(file, row=row, column=fields.get(column, column))

    return locate


def read_eve_collections(path: Path) -> Dataset:
    """The five collections as a validated :class:`Dataset` (all prosumers, all flex requests)."""
    docs = _load(path)
    prosumer_of: dict[str, str] = {}
    prosumer_rows: list[dict[str, Any]] = []
    device_rows: list[dict[str, Any]] = []
    device_positions: list[int] = []
    listed: dict[tuple[str, str, int], str] = {}
    for position, doc in enumerate(docs["dr_prosumers"]):
        name = doc.get("name")
        prosumer_of[str(doc.get("_id"))] = str(name)
        prosumer_rows.append({"prosumer": name, "flexibility_level": doc.get("flexibility_level")})
        for kind, devices in (("shiftable_devices", doc.get("shiftable_devices") or []), ("EVs", doc.get("EVs") or [])):
            for offset, item in enumerate(devices):
                device = str(item.get("name", f"{kind}[{offset}]"))
                listed[(str(name), kind, offset)] = device
                device_rows.append(
                    {
                        "prosumer": name,
                        "device": device,
                        "type": KIND[kind],
                        "charge_limit_kw": item.get("charge_limit"),
                    }
                )
                device_positions.append(position)
    consumption, offers, offer_positions, positions = [], [], [], []
    for position, doc in enumerate(docs["curtailable_loads"]):
        name = prosumer_of.get(str(doc.get("prosumer_id")))
        if name is None:
            continue
        stamp = doc.get("timestamp")
        consumption.append(
            {
                "prosumer": name,
                "timestamp": stamp,
                "desired_kw": doc.get("desired_consumption_kw"),
                "base_kw": doc.get("base_load_kw"),
            }
        )
        positions.append(position)
        for step, item in enumerate(doc.get("flexibility") or [], start=1):
            offers.append(
                {
                    "prosumer": name,
                    "timestamp": stamp,
                    "step": step,
                    "price_eur_per_kw": item.get("price_euro_per_kw"),
                    "quantity_kw": item.get("quantity_kw"),
                }
            )
            offer_positions.append(position)
    entries, entry_positions = [], []
    deadlines: dict[tuple[str, str], Any] = {}
    prices: dict[tuple[str, str], Any] = {}
    for position, doc in enumerate(docs["load_entries"]):
        name = prosumer_of.get(str(doc.get("prosumer_id")))
        if name is None:
            continue
        entry_offset = doc.get("offset")
        known = listed.get((name, str(doc.get("type")), entry_offset)) if isinstance(entry_offset, int) else None
        if known is None:
            raise InputFileError(
                Location("load_entries.json", row=position + 1, column="offset"),
                f"type {doc.get('type')!r} and offset {doc.get('offset')!r} match no device of prosumer {name}",
            )
        device = known
        entries.append({"prosumer": name, "device": device, "timestamp": doc.get("timestamp"), "kw": doc.get("kw")})
        entry_positions.append(position)
        for field, seen in (("deadline", deadlines), ("price_euro_per_kw", prices)):
            first = seen.setdefault((name, device), doc.get(field))
            if first != doc.get(field):
                raise InputFileError(
                    Location("load_entries.json", row=position + 1, column=field),
                    f"prosumer {name}, device {device}: {field} changes between entries ({first!r}, "
                    f"{doc.get(field)!r}); it must be the same on every entry of a device",
                )
    for row in device_rows:
        key = (str(row["prosumer"]), str(row["device"]))
        row["deadline"] = deadlines.get(key)
        row["delay_price_eur_per_kw"] = prices.get(key, 0.0)
    request_of = {str(doc.get("_id")): str(doc.get("name")) for doc in docs["flex_requests"]}
    points, point_positions = [], []
    for position, doc in enumerate(docs["flex_request_data_points"]):
        name = request_of.get(str(doc.get("flex_request_id")))
        if name is None:
            continue
        for step, item in enumerate(doc.get("flexibility") or [], start=1):
            points.append(
                {
                    "flex_request": name,
                    "timestamp": doc.get("timestamp"),
                    "step": step,
                    "price_eur_per_kw": item.get("price_euro_per_kw"),
                    "quantity_kw": item.get("quantity_kw"),
                }
            )
            point_positions.append(position)
    offer_fields = {"price_eur_per_kw": "flexibility.price_euro_per_kw", "quantity_kw": "flexibility.quantity_kw"}
    tables = {
        "prosumers": SourceTable(
            "prosumers",
            pd.DataFrame(prosumer_rows, columns=["prosumer", "flexibility_level"]),
            _located("dr_prosumers.json", list(range(len(prosumer_rows))), {"prosumer": "name"}),
        ),
        "consumption": SourceTable(
            "consumption",
            pd.DataFrame(consumption, columns=["prosumer", "timestamp", "desired_kw", "base_kw"]),
            _located(
                "curtailable_loads.json",
                positions,
                {"prosumer": "prosumer_id", "desired_kw": "desired_consumption_kw", "base_kw": "base_load_kw"},
            ),
        ),
        "curtailment_offers": SourceTable(
            "curtailment_offers",
            pd.DataFrame(offers, columns=["prosumer", "timestamp", "step", "price_eur_per_kw", "quantity_kw"]),
            _located("curtailable_loads.json", offer_positions, offer_fields),
        ),
        "devices": SourceTable(
            "devices",
            pd.DataFrame(
                device_rows,
                columns=["prosumer", "device", "type", "charge_limit_kw", "deadline", "delay_price_eur_per_kw"],
            ),
            _located("dr_prosumers.json", device_positions, {"charge_limit_kw": "EVs.charge_limit"}),
        ),
        "device_consumption": SourceTable(
            "device_consumption",
            pd.DataFrame(entries, columns=["prosumer", "device", "timestamp", "kw"]),
            _located("load_entries.json", entry_positions, {}),
        ),
        "flex_requests": SourceTable(
            "flex_requests",
            pd.DataFrame(points, columns=["flex_request", "timestamp", "step", "price_eur_per_kw", "quantity_kw"]),
            _located("flex_request_data_points.json", point_positions, offer_fields),
        ),
    }
    return Dataset.from_tables(tables, path.name)
