"""A whole input as validated arrays: every prosumer and flex request on the data's own slot grid.

Every input format (tidy package, FlexGrid workbook, Eve JSON collections)
becomes a :class:`Dataset` through :meth:`Dataset.from_tables`, which checks
every rule of spec §2 with vectorised numpy (100 000 prosumers load in
seconds) and names the file, sheet/cell or row and column of the first bad
value. :meth:`Dataset.job` then cuts out one job -- some prosumers, one flex
request, a horizon -- as the :class:`Portfolio` and :class:`FlexRequest` the
solver takes, with the same results as the Eve document parser
(:mod:`BRTP.data.eve`) on the same data. :meth:`Dataset.to_tables` is the
way back, for ``brtp convert``.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from BRTP.data.portfolio import Devices, FlexRequest, Portfolio, SlotGrid
from BRTP.data.source_tables import SourceTable, first_duplicate
from BRTP.data.timestamps import parse_timestamp
from BRTP.data.validate import QUANTITY_TOL_KW, check_energy_fits
from BRTP.errors import InfeasibleJobError, InputFileError, InvalidInputError, Location

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
DEVICE_TYPES = ("shiftable", "ev")


@dataclass(frozen=True)
class Curves:
    """Stepwise curves per row and slot, padded to ``K`` steps: ``(R, T, K)`` prices and cumulative quantities."""

    price: FloatArray
    quantity: FloatArray
    steps: IntArray

    @classmethod
    def empty(cls, rows: int, slots: int) -> "Curves":
        """No steps anywhere."""
        return cls(np.zeros((rows, slots, 0)), np.zeros((rows, slots, 0)), np.zeros((rows, slots), dtype=np.int64))


@dataclass(frozen=True)
class DeviceTable:
    """Shiftable devices and EVs of all prosumers, one row per device, on the dataset's grid.

    ``deadline`` is a slot index that may lie past the data (clipped when a job is cut);
    -1 means "no deadline: the desired finish". ``charge_limit_kw`` is NaN where none is given.
    ``has_row`` marks the slots with a consumption row (the desired run).
    """

    user: IntArray
    name: tuple[str, ...]
    is_ev: BoolArray
    profile_kw: FloatArray
    has_row: BoolArray
    deadline: IntArray
    delay_price: FloatArray
    charge_limit_kw: FloatArray


@dataclass(frozen=True)
class Dataset:
    """Every prosumer and flex request of one input, validated (spec §2)."""

    source: str
    grid: SlotGrid
    user_names: tuple[str, ...]
    flexibility_levels: tuple[str | None, ...]
    baseload_kw: FloatArray
    desired_kw: FloatArray
    offers: Curves
    devices: DeviceTable
    flex_requests: dict[str, Curves]
    warnings: tuple[str, ...] = field(default=())

    @property
    def n_users(self) -> int:
        """Number of prosumers."""
        return len(self.user_names)

    # ------------------------------------------------------------------ reading

    @classmethod
    def from_tables(cls, tables: dict[str, SourceTable], source: str) -> "Dataset":
        """Check and convert the tables of an input (see :mod:`BRTP.data.tables`).

        Raises
        ------
        InputFileError
            A missing table or column, an unknown prosumer or device, a
            duplicate key, a wrong type, NaN or a negative number, an
            off-grid timestamp, a missing slot, a non-monotone curve:
            naming the file, sheet/cell or row, and column.
        InfeasibleJobError
            A deadline before the desired finish.
        """
        for name in ("prosumers", "consumption"):
            if name not in tables:
                raise InputFileError(Location(source), f"the table {name} is missing")
        for table in tables.values():
            table.check_columns()
        warnings: list[str] = []
        names, levels = _prosumers(tables["prosumers"])
        user_of = {name: i for i, name in enumerate(names)}
        grid, baseload, desired = _consumption(tables["consumption"], user_of)
        slots = _SlotMapper(grid)
        offers = (
            _curves(tables["curtailment_offers"], "prosumer", user_of, slots, rising_prices=True)
            if "curtailment_offers" in tables
            else Curves.empty(len(names), grid.n_slots)
        )
        devices = _devices(tables.get("devices"), tables.get("device_consumption"), user_of, names, slots, warnings)
        requests: dict[str, Curves] = {}
        if "flex_requests" in tables:
            table = tables["flex_requests"]
            request_names = table.strings("flex_request")
            order = list(dict.fromkeys(request_names))
            request_of = {name: k for k, name in enumerate(order)}
            curves = _curves(table, "flex_request", request_of, slots, rising_prices=False, warnings=warnings)
            requests = {
                name: Curves(curves.price[k], curves.quantity[k], curves.steps[k]) for name, k in request_of.items()
            }
        return cls(
            source=source,
            grid=grid,
            user_names=tuple(names),
            flexibility_levels=tuple(levels),
            baseload_kw=baseload,
            desired_kw=desired,
            offers=offers,
            devices=devices,
            flex_requests=requests,
            warnings=tuple(warnings),
        )

    # ------------------------------------------------------------------ one job

    def horizon(self, start: datetime | str | None, end: datetime | str | None) -> tuple[int, int]:
        """Slot range ``[a, b)`` of a horizon inside the data (the whole data where omitted)."""
        return horizon_slots(self.grid, start, end)

    def job(
        self,
        flex_request: str,
        prosumers: Sequence[str] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> tuple[Portfolio, FlexRequest]:
        """The portfolio of ``prosumers`` (all where omitted) and ``flex_request`` on ``[start, end)``.

        Devices cut by the horizon keep the part inside (with a warning);
        deadlines past it are clipped to its last slot (with a warning), as
        the Eve document parser does.
        """
        users = self._users(prosumers)
        if flex_request not in self.flex_requests:
            known = ", ".join(sorted(self.flex_requests)) or "none"
            raise InvalidInputError(f"unknown flex request {flex_request!r} in {self.source} (it has: {known})")
        a, b = self.horizon(start, end)
        grid = SlotGrid(start=self.grid.slot_start(a), dt_hours=self.grid.dt_hours, n_slots=b - a)
        warnings = list(self.warnings)
        baseload = self.baseload_kw[users, a:b]
        desired = self.desired_kw[users, a:b]
        where_low = desired < baseload - QUANTITY_TOL_KW
        if where_low.any():
            i, t = np.argwhere(where_low)[0]
            raise InvalidInputError(
                f"prosumer {self.user_names[users[i]]} at {grid.label(int(t))}: desired_kw {desired[i, t]} is below "
                f"base_kw {baseload[i, t]}"
            )
        price = self.offers.price[users, a:b]
        quantity = self.offers.quantity[users, a:b]
        largest = quantity.max(axis=2, initial=0.0)
        squares = (quantity * quantity).sum(axis=2)
        moment = (price * quantity).sum(axis=2)
        kappa = np.divide(moment, squares, out=np.zeros_like(moment), where=squares > 0)
        portfolio = Portfolio(
            user_names=tuple(self.user_names[u] for u in users),
            grid=grid,
            baseload_kw=baseload,
            curtailable_kw=desired,
            max_curtailment_kw=np.maximum(0.0, np.minimum(desired - baseload, largest)),
            curtailment_slope=kappa,
            devices=self._job_devices(users, a, b, grid, warnings),
            warnings=tuple(warnings),
        )
        return portfolio, self._job_request(flex_request, a, b)

    def _users(self, prosumers: Sequence[str] | None) -> IntArray:
        if prosumers is None:
            return np.arange(self.n_users, dtype=np.int64)
        index = {name: i for i, name in enumerate(self.user_names)}
        unknown = [name for name in prosumers if name not in index]
        if unknown:
            shown = ", ".join(unknown[:20]) + (" ..." if len(unknown) > 20 else "")
            raise InvalidInputError(f"unknown prosumer(s) in {self.source}: {shown}")
        if len(set(prosumers)) != len(prosumers):
            raise InvalidInputError("prosumer names in the job are not unique")
        return np.array([index[name] for name in prosumers], dtype=np.int64)

    def _job_devices(self, users: IntArray, a: int, b: int, grid: SlotGrid, warnings: list[str]) -> Devices:
        table = self.devices
        position = np.full(self.n_users, -1)
        position[users] = np.arange(len(users))
        mine = np.flatnonzero(position[table.user] >= 0)
        inside = table.has_row[mine, a:b]
        kept = mine[inside.any(axis=1)]
        order = np.lexsort((kept, position[table.user[kept]]))  # job's user order, then the dataset's device order
        kept = kept[order]
        has_row = table.has_row[kept, a:b]
        cut = table.has_row[kept].sum(axis=1) - has_row.sum(axis=1)
        profile = np.where(has_row, table.profile_kw[kept, a:b], 0.0)
        start = np.argmax(has_row, axis=1)
        finish = has_row.shape[1] - 1 - np.argmax(has_row[:, ::-1], axis=1)
        raw = table.deadline[kept]
        deadline = np.where(raw < 0, finish, raw - a)
        names = tuple(f"{self.user_names[table.user[d]]}/{table.name[d]}" for d in kept)
        for row in np.flatnonzero(cut > 0):
            warnings.append(
                f"prosumer {names[row].split('/')[0]}, device {table.name[kept[row]]}: {cut[row]} of its "
                "load entries fall outside the horizon; only the part inside is scheduled"
            )
        for row in np.flatnonzero(deadline >= grid.n_slots):
            when = self.grid.slot_start(int(raw[row]))
            warnings.append(
                f"prosumer {names[row].split('/')[0]}, device {table.name[kept[row]]}: deadline "
                f"{when.isoformat()} is past the horizon; clipped to the last slot {grid.label(grid.n_slots - 1)}"
            )
        deadline = np.minimum(deadline, grid.n_slots - 1)
        peak = profile.max(axis=1, initial=0.0)
        limit = table.charge_limit_kw[kept]
        is_ev = table.is_ev[kept]
        cap = np.where(is_ev & ~np.isnan(limit), limit, peak)
        for row in np.flatnonzero(is_ev & (cap < peak - QUANTITY_TOL_KW)):
            warnings.append(
                f"prosumer {names[row].split('/')[0]}, device {table.name[kept[row]]}: desired profile peaks at "
                f"{peak[row]} kW, above charge_limit {cap[row]} kW; its energy is spread over more slots at most "
                "charge_limit each"
            )
        devices = Devices(
            user=position[table.user[kept]].astype(np.int64),
            names=names,
            is_ev=is_ev,
            profile_kw=profile,
            start=start.astype(np.int64),
            finish=finish.astype(np.int64),
            deadline=deadline.astype(np.int64),
            delay_price=table.delay_price[kept],
            power_cap_kw=cap,
        )
        check_energy_fits(devices, grid.dt_hours)
        return devices

    def _job_request(self, name: str, a: int, b: int) -> FlexRequest:
        curves = self.flex_requests[name]
        steps = curves.steps[a:b]
        k = int(steps.max(initial=0))
        quantity = curves.quantity[a:b, :k]
        widths = np.diff(quantity, axis=1, prepend=0.0).clip(min=0.0)
        widths[np.arange(k)[None, :] >= steps[:, None]] = 0.0
        prices = np.where(np.arange(k)[None, :] < steps[:, None], curves.price[a:b, :k], 0.0)
        return FlexRequest(name=name, widths_kw=widths, prices=prices)

    # ------------------------------------------------------------------ writing

    def to_tables(self) -> dict[str, pd.DataFrame]:
        """The six tidy tables of this dataset (timestamps as timezone-aware pandas timestamps)."""
        grid = self.grid
        stamps = pd.DatetimeIndex([grid.slot_start(t) for t in range(grid.n_slots)])
        names = np.array(self.user_names, dtype=object)
        n_users, n_slots = self.n_users, grid.n_slots
        tables: dict[str, pd.DataFrame] = {
            "prosumers": pd.DataFrame({"prosumer": names, "flexibility_level": list(self.flexibility_levels)}),
            "consumption": pd.DataFrame(
                {
                    "prosumer": np.repeat(names, n_slots),
                    "timestamp": np.tile(stamps, n_users),
                    "desired_kw": self.desired_kw.ravel(),
                    "base_kw": self.baseload_kw.ravel(),
                }
            ),
        }
        users, slots, steps = np.nonzero(np.arange(self.offers.price.shape[2]) < self.offers.steps[..., None])
        tables["curtailment_offers"] = pd.DataFrame(
            {
                "prosumer": names[users],
                "timestamp": stamps[slots],
                "step": steps + 1,
                "price_eur_per_kw": self.offers.price[users, slots, steps],
                "quantity_kw": self.offers.quantity[users, slots, steps],
            }
        )
        devices = self.devices
        deadline = [grid.slot_start(int(d)) if d >= 0 else None for d in devices.deadline]
        tables["devices"] = pd.DataFrame(
            {
                "prosumer": names[devices.user],
                "device": list(devices.name),
                "type": np.where(devices.is_ev, "ev", "shiftable"),
                "charge_limit_kw": pd.array(devices.charge_limit_kw, dtype="Float64").fillna(pd.NA),
                "deadline": pd.to_datetime(deadline, utc=True),
                "delay_price_eur_per_kw": devices.delay_price,
            }
        )
        rows, slots = np.nonzero(devices.has_row)
        tables["device_consumption"] = pd.DataFrame(
            {
                "prosumer": names[devices.user[rows]],
                "device": np.array(devices.name, dtype=object)[rows],
                "timestamp": stamps[slots],
                "kw": devices.profile_kw[rows, slots],
            }
        )
        frames = []
        for name, curves in self.flex_requests.items():
            slots, steps = np.nonzero(np.arange(curves.price.shape[1]) < curves.steps[:, None])
            frames.append(
                pd.DataFrame(
                    {
                        "flex_request": name,
                        "timestamp": stamps[slots],
                        "step": steps + 1,
                        "price_eur_per_kw": curves.price[slots, steps],
                        "quantity_kw": curves.quantity[slots, steps],
                    }
                )
            )
        columns = ["flex_request", "timestamp", "step", "price_eur_per_kw", "quantity_kw"]
        tables["flex_requests"] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
        return tables


def horizon_slots(grid: SlotGrid, start: datetime | str | None, end: datetime | str | None) -> tuple[int, int]:
    """Slot range ``[a, b)`` of a horizon on ``grid`` (the whole grid where omitted).

    Raises :class:`InvalidInputError` when the horizon is empty, off the grid's
    slots, or outside the data.
    """
    first = grid.start if start is None else parse_timestamp(start, "start")
    last = grid.end if end is None else parse_timestamp(end, "end")
    if last <= first:
        raise InvalidInputError(f"end {last.isoformat()} is not after start {first.isoformat()}")
    a, b = (round((when - grid.start).total_seconds() / 3600 / grid.dt_hours) for when in (first, last))
    if grid.slot_start(a) != first or grid.slot_start(b) != last:
        raise InvalidInputError(
            f"the horizon {first.isoformat()} to {last.isoformat()} is not on the data's "
            f"{grid.dt_hours:g} h slots starting at {grid.label(0)}"
        )
    if a < 0 or b > grid.n_slots:
        raise InvalidInputError(
            f"the horizon {first.isoformat()} to {last.isoformat()} is outside the data, "
            f"which covers {grid.label(0)} to {grid.end.isoformat().replace('+00:00', 'Z')}"
        )
    return a, b


class _SlotMapper:
    """Timestamps (POSIX seconds) to slot indices of a grid."""

    def __init__(self, grid: SlotGrid) -> None:
        self.grid = grid
        self.start = grid.start.timestamp()
        self.step = grid.dt_hours * 3600.0

    def slots(self, table: SourceTable, seconds: FloatArray, *, outside_ok: bool = False) -> IntArray:
        """Slot index of every row; off-grid rows are errors, rows outside the data errors or -1."""
        position = (seconds - self.start) / self.step
        index = np.round(position).astype(np.int64)
        off_grid = np.abs(position - index) > 1e-6
        if off_grid.any():
            row = int(np.flatnonzero(off_grid)[0])
            raise table.fail(
                row,
                "timestamp",
                f"{_label(seconds[row])} is not on the {self.grid.dt_hours:g} h slot grid starting at "
                f"{self.grid.label(0)}",
            )
        outside = (index < 0) | (index >= self.grid.n_slots)
        if outside.any():
            if not outside_ok:
                row = int(np.flatnonzero(outside)[0])
                raise table.fail(
                    row,
                    "timestamp",
                    f"{_label(seconds[row])} is outside the consumption data ({self.grid.label(0)} to "
                    f"{self.grid.label(self.grid.n_slots - 1)})",
                )
            index[outside] = -1
        return index


def _label(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _codes(table: SourceTable, column: str, index_of: dict[str, int], what: str) -> IntArray:
    """Row -> index of the named prosumer (or request); unknown names are errors."""
    try:
        return table.codes(column, index_of, what)
    except InputFileError as exc:
        if what == "prosumer" and "unknown" in exc.problem:
            raise InputFileError(exc.location, f"{exc.problem} (not in the prosumers table)") from None
        raise


def _prosumers(table: SourceTable) -> tuple[list[str], list[str | None]]:
    names = table.strings("prosumer")
    seen: dict[str, int] = {}
    for row, name in enumerate(names):
        if name in seen:
            raise table.fail(row, "prosumer", f"prosumer {name!r} appears twice (first at row position {seen[name]})")
        seen[name] = row
    levels: list[str | None] = (
        list(table.strings("flexibility_level", required=False))
        if "flexibility_level" in table.frame.columns
        else [None] * len(names)
    )
    return list(names), levels


def _consumption(table: SourceTable, user_of: dict[str, int]) -> tuple[SlotGrid, FloatArray, FloatArray]:
    users = _codes(table, "prosumer", user_of, "prosumer")
    seconds = table.timestamps("timestamp")
    desired = table.numbers("desired_kw")
    base = table.numbers("base_kw")
    if not len(seconds):
        raise InputFileError(table.locate(-1, "timestamp"), "the consumption table has no rows")
    stamps = np.unique(seconds)
    gaps = np.diff(stamps)
    if len(gaps):
        values, counts = np.unique(np.round(gaps, 3), return_counts=True)
        step = float(values[np.argmax(counts)])
    else:
        step = 3600.0
    start = datetime.fromtimestamp(stamps[0], UTC)
    n_slots = round(float(stamps[-1] - stamps[0]) / step) + 1
    grid = SlotGrid(start=start, dt_hours=step / 3600.0, n_slots=n_slots)
    slots = _SlotMapper(grid).slots(table, seconds)
    duplicate = first_duplicate([users, slots])
    if duplicate is not None:
        raise table.fail(
            duplicate, "timestamp", f"prosumer {table.frame['prosumer'].iloc[duplicate]} has this slot twice"
        )
    n_users = len(user_of)
    seen = np.zeros((n_users, n_slots), dtype=bool)
    seen[users, slots] = True
    if not seen.all():
        i, t = np.argwhere(~seen)[0]
        name = next(n for n, k in user_of.items() if k == i)
        missing = int((~seen[i]).sum())
        raise InputFileError(
            Location(table.locate(-1, "timestamp").file, column="timestamp"),
            f"prosumer {name} has no row for slot {grid.label(int(t))}"
            + (f" and {missing - 1} other slot(s)" if missing > 1 else "")
            + f" (the data has {n_slots} slots of {grid.dt_hours:g} h from {grid.label(0)})",
        )
    low = desired < base - QUANTITY_TOL_KW
    if low.any():
        row = int(np.flatnonzero(low)[0])
        raise table.fail(row, "desired_kw", f"desired_kw {desired[row]:g} is below base_kw {base[row]:g}")
    baseload = np.zeros((n_users, n_slots))
    desire = np.zeros((n_users, n_slots))
    baseload[users, slots] = base
    desire[users, slots] = desired
    return grid, baseload, desire


def _curves(
    table: SourceTable,
    key: str,
    index_of: dict[str, int],
    slots: _SlotMapper,
    *,
    rising_prices: bool,
    warnings: list[str] | None = None,
) -> Curves:
    """Stepwise cumulative curves per (key, slot): offers (prices rise) or requests (prices fall)."""
    what = "prosumer" if key == "prosumer" else "flex request"
    rows_of = _codes(table, key, index_of, what)
    slot = slots.slots(table, table.timestamps("timestamp"), outside_ok=warnings is not None)
    step = table.integers("step")
    price = table.numbers("price_eur_per_kw")
    quantity = table.numbers("quantity_kw")
    if warnings is not None and (slot < 0).any():
        warnings.append(f"{(slot < 0).sum()} flex-request rows fall outside the consumption data and are ignored")
    keep = slot >= 0
    positions = np.flatnonzero(keep)
    rows_of, slot, step, price, quantity = rows_of[keep], slot[keep], step[keep], price[keep], quantity[keep]
    duplicate = first_duplicate([rows_of, slot, step])
    if duplicate is not None:
        raise table.fail(
            int(positions[duplicate]), "step", f"step {step[duplicate]} appears twice for this {what} and slot"
        )
    n_rows, n_slots = len(index_of), slots.grid.n_slots
    k = int(step.max(initial=0))
    prices = np.zeros((n_rows, n_slots, k))
    quantities = np.zeros((n_rows, n_slots, k))
    row_at = np.full((n_rows, n_slots, k), -1, dtype=np.int64)
    prices[rows_of, slot, step - 1] = price
    quantities[rows_of, slot, step - 1] = quantity
    row_at[rows_of, slot, step - 1] = positions
    counts = np.zeros((n_rows, n_slots), dtype=np.int64)
    np.add.at(counts, (rows_of, slot), 1)
    highest = np.zeros((n_rows, n_slots), dtype=np.int64)
    np.maximum.at(highest, (rows_of, slot), step)
    gap = counts != highest
    if gap.any():
        r, t = np.argwhere(gap)[0]
        row = int(row_at[r, t][row_at[r, t] >= 0][0])
        raise table.fail(row, "step", f"the steps of this {what} and slot are not numbered 1..{highest[r, t]}")
    _check_monotone(table, quantities, prices, row_at, highest, rising_prices)
    return Curves(prices, quantities, highest)


def _check_monotone(
    table: SourceTable,
    quantities: FloatArray,
    prices: FloatArray,
    row_at: IntArray,
    steps: IntArray,
    rising_prices: bool,
) -> None:
    """Quantities never fall; over steps of positive width, offer prices never fall and request prices never rise."""
    if quantities.shape[-1] == 0:
        return
    previous_quantity = np.zeros(quantities.shape[:-1])
    previous_price = np.full(quantities.shape[:-1], 0.0 if rising_prices else np.inf)
    for k in range(quantities.shape[-1]):
        present = k < steps
        q, p = quantities[..., k], prices[..., k]
        falls = present & (q < previous_quantity - QUANTITY_TOL_KW)
        if falls.any():
            index = tuple(np.argwhere(falls)[0])
            raise table.fail(
                int(row_at[(*index, k)]),
                "quantity_kw",
                f"curve is not monotone: cumulative quantity_kw falls from {previous_quantity[index]:g} to "
                f"{q[index]:g} at step {k + 1}",
            )
        wider = present & (q > previous_quantity + QUANTITY_TOL_KW)
        wrong = wider & ((p < previous_price) if rising_prices else (p > previous_price))
        if wrong.any():
            index = tuple(np.argwhere(wrong)[0])
            kind = "offer" if rising_prices else "request"
            verb = "falls" if rising_prices else "rises"
            raise table.fail(
                int(row_at[(*index, k)]),
                "price_eur_per_kw",
                f"{kind} curve is not monotone: price_eur_per_kw {verb} from {previous_price[index]:g} to "
                f"{p[index]:g} at step {k + 1}",
            )
        previous_price = np.where(wider, p, previous_price)
        previous_quantity = np.where(present, np.maximum(previous_quantity, q), previous_quantity)


def _devices(
    devices: SourceTable | None,
    consumption: SourceTable | None,
    user_of: dict[str, int],
    names: list[str],
    slots: _SlotMapper,
    warnings: list[str],
) -> DeviceTable:
    n_slots = slots.grid.n_slots
    if devices is None or not len(devices.frame):
        if consumption is not None and len(consumption.frame):
            raise consumption.fail(0, "device", "device rows without a devices table")
        return DeviceTable(
            user=np.zeros(0, dtype=np.int64),
            name=(),
            is_ev=np.zeros(0, dtype=bool),
            profile_kw=np.zeros((0, n_slots)),
            has_row=np.zeros((0, n_slots), dtype=bool),
            deadline=np.zeros(0, dtype=np.int64),
            delay_price=np.zeros(0),
            charge_limit_kw=np.zeros(0),
        )
    users = _codes(devices, "prosumer", user_of, "prosumer")
    device_names = devices.strings("device")
    kinds = devices.strings("type")
    bad_kind = ~np.isin(kinds, DEVICE_TYPES)
    if bad_kind.any():
        row = int(np.flatnonzero(bad_kind)[0])
        raise devices.fail(row, "type", f"unknown type {kinds[row]!r} (expected shiftable or ev)")
    name_codes, unique_names = pd.factorize(pd.Series(device_names, dtype=object))
    name_of = {str(n): k for k, n in enumerate(unique_names)}
    key = users * len(unique_names) + name_codes
    duplicate = first_duplicate([key])
    if duplicate is not None:
        raise devices.fail(
            duplicate,
            "device",
            f"device {device_names[duplicate]!r} of prosumer {names[users[duplicate]]} appears twice",
        )
    sorted_keys = np.sort(key)
    device_at = np.argsort(key)
    limits = (
        devices.numbers("charge_limit_kw", required=False)
        if "charge_limit_kw" in devices.frame.columns
        else np.full(len(users), np.nan)
    )
    deadline_seconds = (
        devices.timestamps("deadline", required=False)
        if "deadline" in devices.frame.columns
        else np.full(len(users), np.nan)
    )
    delay = devices.numbers("delay_price_eur_per_kw")
    n_devices = len(users)
    profile = np.zeros((n_devices, n_slots))
    has_row = np.zeros((n_devices, n_slots), dtype=bool)
    if consumption is not None and len(consumption.frame):
        owner = _codes(consumption, "prosumer", user_of, "prosumer")
        codes, uniques = pd.factorize(consumption.frame["device"])
        lookup = np.array([name_of.get(str(u).strip(), -1) for u in uniques] + [-1], dtype=np.int64)
        wanted = np.where(lookup[codes] >= 0, owner * len(unique_names) + lookup[codes], -1)
        found = np.searchsorted(sorted_keys, wanted).clip(max=max(len(sorted_keys) - 1, 0))
        unknown = (wanted < 0) | (sorted_keys[found] != wanted)
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise consumption.fail(
                row,
                "device",
                f"device {consumption.frame['device'].iloc[row]!r} of prosumer {names[owner[row]]} is not in the "
                "devices table",
            )
        device = device_at[found]
        slot = slots.slots(consumption, consumption.timestamps("timestamp"))
        duplicate = first_duplicate([device, slot])
        if duplicate is not None:
            raise consumption.fail(duplicate, "timestamp", "this device has this slot twice")
        profile[device, slot] = consumption.numbers("kw")
        has_row[device, slot] = True
    empty = ~has_row.any(axis=1)
    for d in np.flatnonzero(empty):
        warnings.append(f"prosumer {names[users[d]]}, device {device_names[d]}: no consumption rows; not scheduled")
    finish = np.where(empty, -1, n_slots - 1 - np.argmax(has_row[:, ::-1], axis=1))
    position = (deadline_seconds - slots.start) / slots.step
    deadline = np.where(np.isnan(deadline_seconds), -1, np.floor(np.nan_to_num(position) + 1e-9)).astype(np.int64)
    early = ~empty & ~np.isnan(deadline_seconds) & (deadline < finish)
    if early.any():
        bad = int(np.flatnonzero(early)[0])
        raise InfeasibleJobError(
            f"{devices.locate(bad, 'deadline')}: prosumer {names[users[bad]]}, device {device_names[bad]}: deadline "
            f"{_label(deadline_seconds[bad])} is before the desired finish {slots.grid.label(int(finish[bad]))}"
        )
    order = np.lexsort((np.arange(n_devices), kinds == "ev", users))  # by prosumer, shiftable before EVs, as listed
    return DeviceTable(
        user=users[order],
        name=tuple(str(device_names[d]) for d in order),
        is_ev=(kinds == "ev")[order],
        profile_kw=profile[order],
        has_row=has_row[order],
        deadline=deadline[order],
        delay_price=delay[order],
        charge_limit_kw=limits[order],
    )
