"""A parsed job (portfolio and flex request), or a whole dataset, to bytes and back: parsed once, shared.

The format is numpy's ``.npz`` with ``allow_pickle=False``: arrays as they are,
names and scalars as one JSON document stored in a ``uint8`` array. Loading
never executes code from the bytes.
"""

import io
import json
from datetime import datetime

import numpy as np

from BRTP.data.dataset import Curves, Dataset, DeviceTable
from BRTP.data.portfolio import Devices, FlexRequest, Portfolio, SlotGrid

_ARRAYS = ("baseload_kw", "curtailable_kw", "max_curtailment_kw", "curtailment_slope")
_DEVICE_ARRAYS = ("user", "is_ev", "profile_kw", "start", "finish", "deadline", "delay_price", "power_cap_kw")


def job_to_bytes(portfolio: Portfolio, flex_request: FlexRequest) -> bytes:
    """Serialise a validated portfolio and its flex request."""
    meta = {
        "user_names": list(portfolio.user_names),
        "device_names": list(portfolio.devices.names),
        "start": portfolio.grid.start.isoformat(),
        "dt_hours": portfolio.grid.dt_hours,
        "n_slots": portfolio.grid.n_slots,
        "warnings": list(portfolio.warnings),
        "flex_request": flex_request.name,
    }
    arrays = {name: getattr(portfolio, name) for name in _ARRAYS}
    arrays |= {f"device_{name}": getattr(portfolio.devices, name) for name in _DEVICE_ARRAYS}
    arrays |= {"flex_widths_kw": flex_request.widths_kw, "flex_prices": flex_request.prices}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def job_from_bytes(data: bytes) -> tuple[Portfolio, FlexRequest]:
    """Inverse of :func:`job_to_bytes`."""
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    devices = Devices(names=tuple(meta["device_names"]), **{name: arrays[f"device_{name}"] for name in _DEVICE_ARRAYS})
    portfolio = Portfolio(
        user_names=tuple(meta["user_names"]),
        grid=SlotGrid(start=datetime.fromisoformat(meta["start"]), dt_hours=meta["dt_hours"], n_slots=meta["n_slots"]),
        devices=devices,
        warnings=tuple(meta["warnings"]),
        **{name: arrays[name] for name in _ARRAYS},
    )
    request = FlexRequest(name=meta["flex_request"], widths_kw=arrays["flex_widths_kw"], prices=arrays["flex_prices"])
    return portfolio, request


_DATASET_ARRAYS = ("baseload_kw", "desired_kw")
_CURVE_ARRAYS = ("price", "quantity", "steps")
_DEVICE_TABLE_ARRAYS = (
    "user",
    "is_ev",
    "profile_kw",
    "has_row",
    "deadline",
    "delay_price",
    "charge_limit_kw",
)


def dataset_to_bytes(dataset: Dataset) -> bytes:
    """Serialise a validated :class:`Dataset` (every prosumer and flex request), in the same ``.npz`` form."""
    requests = sorted(dataset.flex_requests)
    meta = {
        "source": dataset.source,
        "start": dataset.grid.start.isoformat(),
        "dt_hours": dataset.grid.dt_hours,
        "n_slots": dataset.grid.n_slots,
        "user_names": list(dataset.user_names),
        "flexibility_levels": list(dataset.flexibility_levels),
        "device_names": list(dataset.devices.name),
        "flex_requests": requests,
        "warnings": list(dataset.warnings),
    }
    arrays = {name: getattr(dataset, name) for name in _DATASET_ARRAYS}
    arrays |= {f"offers_{name}": getattr(dataset.offers, name) for name in _CURVE_ARRAYS}
    arrays |= {f"device_{name}": getattr(dataset.devices, name) for name in _DEVICE_TABLE_ARRAYS}
    for k, request in enumerate(requests):
        arrays |= {f"request{k}_{name}": getattr(dataset.flex_requests[request], name) for name in _CURVE_ARRAYS}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    # Compressed: a dataset is kept for good (100 000 prosumers: 21 MB instead of 305 MB in Redis, read as fast).
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def dataset_from_bytes(data: bytes) -> Dataset:
    """Inverse of :func:`dataset_to_bytes`."""
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode())

    def curves(prefix: str) -> Curves:
        return Curves(**{name: arrays[f"{prefix}_{name}"] for name in _CURVE_ARRAYS})

    return Dataset(
        source=meta["source"],
        grid=SlotGrid(start=datetime.fromisoformat(meta["start"]), dt_hours=meta["dt_hours"], n_slots=meta["n_slots"]),
        user_names=tuple(meta["user_names"]),
        flexibility_levels=tuple(meta["flexibility_levels"]),
        offers=curves("offers"),
        devices=DeviceTable(
            name=tuple(meta["device_names"]),
            **{name: arrays[f"device_{name}"] for name in _DEVICE_TABLE_ARRAYS},
        ),
        flex_requests={name: curves(f"request{k}") for k, name in enumerate(meta["flex_requests"])},
        warnings=tuple(meta["warnings"]),
        **{name: arrays[name] for name in _DATASET_ARRAYS},
    )
