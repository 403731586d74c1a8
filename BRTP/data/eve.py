"""Build a :class:`Portfolio` and a :class:`FlexRequest` from central-DB documents.

The documents have the Eve JSON shapes the FlexGrid central DB serves
(collections ``dr_prosumers``, ``curtailable_loads``, ``load_entries``,
``flex_requests`` and ``flex_request_data_points``). Load entries are joined
to a prosumer's ``shiftable_devices`` / ``EVs`` by ``type`` and ``offset``
(the index in that list), as the FlexGrid original did.
"""

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from BRTP.data.portfolio import Devices, FlexRequest, Portfolio, SlotGrid
from BRTP.data.timestamps import parse_timestamp
from BRTP.data.validate import (
    QUANTITY_TOL_KW,
    check_energy_fits,
    check_request_prices_fall,
    curve_steps,
    finite_number,
    non_negative,
    offer_summary,
)
from BRTP.errors import InfeasibleJobError, InvalidInputError

Document = Mapping[str, Any]
DEVICE_TYPES = ("shiftable_devices", "EVs")


class _SlotIndexer:
    """Maps timestamps to slot indices of a grid, rejecting off-grid times."""

    def __init__(self, grid: SlotGrid) -> None:
        self.grid = grid
        self._slots: dict[object, int | None] = {}

    def slot_of(self, value: object, where: str) -> int | None:
        """Slot index of a timestamp value, None outside the horizon (cached per distinct value)."""
        key = value if isinstance(value, str) else None
        if key is not None and key in self._slots:
            return self._slots[key]
        when = parse_timestamp(value, where)
        slot = self.slot(when, where) if self.in_horizon(when) else None
        if key is not None:
            self._slots[key] = slot
        return slot

    def offset_hours(self, when: datetime) -> float:
        return (when - self.grid.start).total_seconds() / 3600.0

    def in_horizon(self, when: datetime) -> bool:
        return self.grid.start <= when < self.grid.end

    def slot(self, when: datetime, where: str) -> int:
        position = self.offset_hours(when) / self.grid.dt_hours
        index = round(position)
        if abs(position - index) > 1e-6:
            raise InvalidInputError(
                f"{where}: timestamp {when.isoformat()} is not on the {self.grid.dt_hours} h "
                f"slot grid starting at {self.grid.label(0)}"
            )
        return int(index)

    def containing_slot(self, when: datetime) -> int:
        return math.floor(self.offset_hours(when) / self.grid.dt_hours + 1e-9)


def infer_slot_hours(curtailable_loads: Sequence[Document], start: datetime, end: datetime) -> float:
    """Slot length from the data: the most common gap between a prosumer's timestamps.

    Using the most common gap (not the smallest) makes an odd timestamp show up
    as off-grid rather than as a finer grid. With a single timestamp per
    prosumer the whole horizon is one slot.
    """
    stamps: dict[str, set[datetime]] = defaultdict(set)
    for doc in curtailable_loads:
        when = parse_timestamp(doc.get("timestamp"), "curtailable_loads")
        if start <= when < end:
            stamps[str(doc.get("prosumer_id"))].add(when)
    gaps: Counter[float] = Counter()
    for times in stamps.values():
        ordered = sorted(times)
        gaps.update(round((b - a).total_seconds() / 3600.0, 9) for a, b in itertools.pairwise(ordered))
    if gaps:
        return gaps.most_common(1)[0][0]
    return (end - start).total_seconds() / 3600.0


def make_grid(start: datetime, end: datetime, dt_hours: float) -> SlotGrid:
    """A slot grid from ``start`` to ``end``; the horizon must be a whole number of slots."""
    if end <= start:
        raise InvalidInputError(f"end {end.isoformat()} is not after start {start.isoformat()}")
    if not (dt_hours > 0 and math.isfinite(dt_hours)):
        raise InvalidInputError(f"slot length {dt_hours} h is not a positive number")
    n_float = (end - start).total_seconds() / 3600.0 / dt_hours
    n_slots = round(n_float)
    if n_slots < 1 or abs(n_float - n_slots) > 1e-6:
        raise InvalidInputError(
            f"the horizon {start.isoformat()} to {end.isoformat()} is not a whole number of {dt_hours} h slots"
        )
    return SlotGrid(start=start, dt_hours=dt_hours, n_slots=n_slots)


def _order_prosumers(prosumers: Sequence[Document], user_names: Sequence[str] | None) -> list[Document]:
    by_name: dict[str, Document] = {}
    for doc in prosumers:
        name = doc.get("name")
        if not isinstance(name, str):
            raise InvalidInputError(f"dr_prosumers document {doc.get('_id')!r} has no name")
        if name in by_name:
            raise InvalidInputError(f"prosumer {name}: appears twice in dr_prosumers")
        by_name[name] = doc
    if user_names is None:
        return list(by_name.values())
    missing = [name for name in user_names if name not in by_name]
    if missing:
        raise InvalidInputError(f"unknown prosumer(s): {', '.join(missing)}")
    if len(set(user_names)) != len(user_names):
        raise InvalidInputError("prosumer names in the job are not unique")
    return [by_name[name] for name in user_names]


def _parse_curtailable(
    ordered: list[Document],
    curtailable_loads: Sequence[Document],
    indexer: _SlotIndexer,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    grid = indexer.grid
    n_users, n_slots = len(ordered), grid.n_slots
    user_of = {str(doc.get("_id")): i for i, doc in enumerate(ordered)}
    names = [str(doc["name"]) for doc in ordered]
    labels = grid.labels()
    prefixes = [f"prosumer {name}: curtailable load" for name in names]
    cells: dict[tuple[int, int], tuple[float, float, float, float]] = {}
    for doc in curtailable_loads:
        i = user_of.get(str(doc.get("prosumer_id")))
        if i is None:
            continue
        t = indexer.slot_of(doc.get("timestamp"), prefixes[i])
        if t is None:
            continue
        if (i, t) in cells:
            raise InvalidInputError(f"prosumer {names[i]}: duplicated slot {labels[t]} in curtailable_loads")
        where = f"{prefixes[i]} at {labels[t]}"
        b = non_negative(doc.get("base_load_kw"), f"{where}: base_load_kw")
        xc = non_negative(doc.get("desired_consumption_kw"), f"{where}: desired_consumption_kw")
        if xc < b - QUANTITY_TOL_KW:
            raise InvalidInputError(f"{where}: desired_consumption_kw {xc} is below base_load_kw {b}")
        largest, kappa = offer_summary(doc.get("flexibility", []), where)
        cells[(i, t)] = (b, xc, max(0.0, min(xc - b, largest)), kappa)
    seen = np.zeros((n_users, n_slots), dtype=bool)
    values = np.zeros((4, n_users, n_slots))
    if cells:
        index = np.array(list(cells), dtype=np.int64)
        seen[index[:, 0], index[:, 1]] = True
        values[:, index[:, 0], index[:, 1]] = np.array(list(cells.values())).T
    baseload, desired, cmax, kappa_grid = values
    counts = seen.sum(axis=1)
    for i in range(n_users):
        if counts[i] != n_slots:
            missing = [grid.label(int(t)) for t in np.flatnonzero(~seen[i])]
            others = sorted({int(c) for c in counts})
            raise InvalidInputError(
                f"prosumer {names[i]}: has {counts[i]} curtailable-load slots, expected {n_slots} "
                f"(slot counts across prosumers: {others}); missing slot(s) "
                f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
            )
    return baseload, desired, cmax, kappa_grid


def _parse_devices(
    ordered: list[Document],
    load_entries: Sequence[Document],
    indexer: _SlotIndexer,
    warnings: list[str],
) -> Devices:
    grid = indexer.grid
    n_slots, dt = grid.n_slots, grid.dt_hours
    user_of = {str(doc.get("_id")): i for i, doc in enumerate(ordered)}
    entries: dict[tuple[int, str, int], list[Document]] = defaultdict(list)
    for doc in load_entries:
        i = user_of.get(str(doc.get("prosumer_id")))
        if i is None:
            continue
        kind = doc.get("type")
        offset = doc.get("offset")
        where = f"prosumer {ordered[i]['name']}: load entry {doc.get('_id')!r}"
        if kind not in DEVICE_TYPES:
            raise InvalidInputError(f"{where}: unknown type {kind!r} (expected one of {DEVICE_TYPES})")
        listed = ordered[i].get(kind) or []
        if not isinstance(offset, int) or not 0 <= offset < len(listed):
            raise InvalidInputError(
                f"{where}: offset {offset!r} does not match any of the prosumer's {len(listed)} {kind}"
            )
        entries[(i, kind, offset)].append(doc)

    rows: list[dict[str, Any]] = []
    for i, prosumer in enumerate(ordered):
        for kind in DEVICE_TYPES:
            for offset, item in enumerate(prosumer.get(kind) or []):
                docs = entries.get((i, kind, offset), [])
                where = f"prosumer {prosumer['name']}, device {item.get('name')}: load entry"
                slots = [(indexer.slot_of(doc.get("timestamp"), where), doc) for doc in docs]
                inside = [(t, doc) for t, doc in slots if t is not None]
                if len(inside) < len(docs) and inside:
                    warnings.append(
                        f"prosumer {prosumer['name']}, device {item.get('name')}: {len(docs) - len(inside)} of its "
                        "load entries fall outside the horizon; only the part inside is scheduled"
                    )
                if inside:
                    rows.append(_device_row(i, prosumer, kind, item, inside, indexer, warnings))
    n_devices = len(rows)
    profile = np.zeros((n_devices, n_slots))
    for d, row in enumerate(rows):
        profile[d] = row["profile"]
    devices = Devices(
        user=np.array([r["user"] for r in rows], dtype=np.int64),
        names=tuple(r["name"] for r in rows),
        is_ev=np.array([r["is_ev"] for r in rows], dtype=bool),
        profile_kw=profile,
        start=np.array([r["start"] for r in rows], dtype=np.int64),
        finish=np.array([r["finish"] for r in rows], dtype=np.int64),
        deadline=np.array([r["deadline"] for r in rows], dtype=np.int64),
        delay_price=np.array([r["delay_price"] for r in rows], dtype=np.float64),
        power_cap_kw=np.array([r["cap"] for r in rows], dtype=np.float64),
    )
    check_energy_fits(devices, dt)
    return devices


def _device_row(
    i: int,
    prosumer: Document,
    kind: str,
    item: Document,
    docs: list[tuple[int, Document]],
    indexer: _SlotIndexer,
    warnings: list[str],
) -> dict[str, Any]:
    grid = indexer.grid
    device_name = str(item.get("name", f"{kind}[{docs[0][1].get('offset')}]"))
    name = f"{prosumer['name']}/{device_name}"
    where = f"prosumer {prosumer['name']}, device {device_name}"
    profile = [0.0] * grid.n_slots
    seen: set[int] = set()
    prices: set[float] = set()
    deadlines: set[datetime] = set()
    for t, doc in docs:
        if t in seen:
            raise InvalidInputError(f"{where}: duplicated slot {grid.label(t)} in load_entries")
        seen.add(t)
        profile[t] = non_negative(doc.get("kw"), f"{where}, slot {grid.label(t)}: kw")
        prices.add(non_negative(doc.get("price_euro_per_kw"), f"{where}, slot {grid.label(t)}: price_euro_per_kw"))
        if doc.get("deadline") is not None:
            deadlines.add(parse_timestamp(doc.get("deadline"), f"{where}: deadline"))
    if len(prices) > 1:
        raise InvalidInputError(
            f"{where}: price_euro_per_kw changes between entries ({sorted(prices)}); "
            "it must be the same on every entry of a device"
        )
    if len(deadlines) > 1:
        raise InvalidInputError(
            f"{where}: deadline changes between entries ({sorted(d.isoformat() for d in deadlines)})"
        )
    start, finish = min(seen), max(seen)
    deadline = finish
    if deadlines:
        deadline_time = deadlines.pop()
        deadline = indexer.containing_slot(deadline_time)
        if deadline < finish:
            raise InfeasibleJobError(
                f"{where}: deadline {deadline_time.isoformat()} is before the desired finish {grid.label(finish)}"
            )
        if deadline >= grid.n_slots:
            warnings.append(
                f"{where}: deadline {deadline_time.isoformat()} is past the horizon; "
                f"clipped to the last slot {grid.label(grid.n_slots - 1)}"
            )
            deadline = grid.n_slots - 1
    peak = max(profile)
    is_ev = kind == "EVs"
    cap = peak
    if is_ev:
        limit = item.get("charge_limit")
        cap = non_negative(limit, f"{where}: charge_limit") if limit is not None else peak
        if cap < peak - QUANTITY_TOL_KW:
            warnings.append(
                f"{where}: desired profile peaks at {peak} kW, above charge_limit {cap} kW; "
                "its energy is spread over more slots at most charge_limit each"
            )
    return {
        "user": i,
        "name": name,
        "is_ev": is_ev,
        "profile": profile,
        "start": start,
        "finish": finish,
        "deadline": deadline,
        "delay_price": prices.pop(),
        "cap": cap,
    }


def portfolio_from_documents(
    prosumers: Sequence[Document],
    curtailable_loads: Sequence[Document],
    load_entries: Sequence[Document],
    start: datetime | str,
    end: datetime | str,
    *,
    user_names: Sequence[str] | None = None,
    dt_hours: float | None = None,
) -> Portfolio:
    """Build a validated :class:`Portfolio` from central-DB documents.

    Parameters
    ----------
    prosumers, curtailable_loads, load_entries
        Documents of the ``dr_prosumers``, ``curtailable_loads`` and
        ``load_entries`` collections. Entries of other prosumers and entries
        outside ``[start, end)`` are ignored.
    start, end
        The horizon.
    user_names
        Prosumers of the job, in order; all of ``prosumers`` when omitted.
    dt_hours
        Slot length; inferred from the curtailable-load timestamps when omitted.

    Raises
    ------
    InvalidInputError
        Unknown prosumer, missing or duplicated slot, NaN/inf, negative
        quantity, non-monotone offer, changing device price, off-grid time.
    InfeasibleJobError
        A deadline before the desired finish, or a device whose energy cannot
        fit before its deadline at its power cap.
    """
    start_time = parse_timestamp(start, "start")
    end_time = parse_timestamp(end, "end")
    ordered = _order_prosumers(prosumers, user_names)
    mine = {str(doc.get("_id")) for doc in ordered}
    own_loads = [doc for doc in curtailable_loads if str(doc.get("prosumer_id")) in mine]
    slot = dt_hours if dt_hours is not None else infer_slot_hours(own_loads, start_time, end_time)
    grid = make_grid(start_time, end_time, finite_number(slot, "slot length"))
    indexer = _SlotIndexer(grid)
    warnings: list[str] = []
    baseload, desired, cmax, kappa = _parse_curtailable(ordered, own_loads, indexer)
    devices = _parse_devices(ordered, load_entries, indexer, warnings)
    return Portfolio(
        user_names=tuple(str(doc["name"]) for doc in ordered),
        grid=grid,
        baseload_kw=baseload,
        curtailable_kw=desired,
        max_curtailment_kw=cmax,
        curtailment_slope=kappa,
        devices=devices,
        warnings=tuple(warnings),
    )


def flex_request_from_documents(flex_request: Document, data_points: Sequence[Document], grid: SlotGrid) -> FlexRequest:
    """Build a validated :class:`FlexRequest` on ``grid`` from central-DB documents.

    Data points of other flex requests and outside the horizon are ignored; a
    slot without a data point has no request (all widths 0, spec §2).
    """
    name = str(flex_request.get("name"))
    request_id = str(flex_request.get("_id"))
    indexer = _SlotIndexer(grid)
    per_slot: dict[int, list[tuple[float, float]]] = {}
    for doc in data_points:
        if str(doc.get("flex_request_id")) != request_id:
            continue
        when = parse_timestamp(doc.get("timestamp"), f"flex request {name}: data point")
        if not indexer.in_horizon(when):
            continue
        where = f"flex request {name}, slot {when.isoformat()}"
        t = indexer.slot(when, where)
        if t in per_slot:
            raise InvalidInputError(f"flex request {name}: duplicated slot {grid.label(t)}")
        steps = curve_steps(doc.get("flexibility", []), where)
        check_request_prices_fall(steps, where)
        per_slot[t] = steps
    n_steps = max((len(s) for s in per_slot.values()), default=0)
    widths = np.zeros((grid.n_slots, n_steps))
    prices = np.zeros((grid.n_slots, n_steps))
    for t, steps in per_slot.items():
        quantities = np.array([q for _, q in steps])
        widths[t, : len(steps)] = np.diff(quantities, prepend=0.0).clip(min=0.0)
        prices[t, : len(steps)] = [p for p, _ in steps]
    return FlexRequest(name=name, widths_kw=widths, prices=prices)
