"""The FlexGrid "BRTP Input" workbook (``.xlsx``) as the tidy tables.

Layout (the FlexGrid team's, any numbers of users, devices, EVs, slots and
steps): users ``i = 1..U`` exist at three flexibility levels, giving the
prosumers ``user_{i}_Low``, ``user_{i}_Medium`` and ``user_{i}_High``; sheets
with the suffix ``LF``/``MF``/``HF`` hold what differs by level (offers,
deadlines, delay prices), the others are shared. Slots are the columns
``t=1..N``; the workbook has no date, so slot ``t`` starts at
``start + (t - 1) h`` (``start`` defaults to 2021-11-11T00:00:00Z, when
FlexGrid seeded its central DB from this workbook). A deadline value ``v``
means the slot starting at ``start + (v - 1) h``. Flex requests are
``flex_request_1_{Level}``. Cells outside these blocks (notes) are ignored;
an empty or non-numeric cell inside a block is an error naming the sheet and
cell.
"""

import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook as NewWorkbook
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from BRTP.data.dataset import Dataset
from BRTP.data.source_tables import SourceTable
from BRTP.errors import InputFileError, InvalidInputError, Location

DEFAULT_START = datetime(2021, 11, 11, tzinfo=UTC)
LEVELS = {"LF": "Low", "MF": "Medium", "HF": "High"}
REQUEST_LEVELS = ("Low", "Medium", "High")
_SLOT = re.compile(r"^t\s*=\s*(\d+)$")
_USER = re.compile(r"^user\s*=\s*(\d+)$", re.I)
_NUMBERED = re.compile(r"^(?:user|device)\s*(\d+)$", re.I)

#: Where one value of a table came from: (sheet, cell).
Cell = tuple[str, str]


@dataclass
class TableBuilder:
    """Rows of one tidy table and, per row and column, the workbook cell they came from."""

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    cells: list[dict[str, Cell]] = field(default_factory=list)

    def add(self, values: list[Any], cells: dict[str, Cell]) -> None:
        """Append a row."""
        self.rows.append(values)
        self.cells.append(cells)

    def table(self, file: str) -> SourceTable:
        """The finished table; a value's location is its cell (or the sheet of the row's first cell)."""

        def locate(position: int, column: str) -> Location:
            row = self.cells[position] if 0 <= position < len(self.cells) else {}
            sheet, cell = row.get(column) or next(iter(row.values()), (None, None))
            return Location(file, sheet=sheet, cell=cell if column in row else None, column=column)

        return SourceTable(self.name, pd.DataFrame(self.rows, columns=self.columns), locate)


class Sheet:
    """One worksheet's values, addressed by (row, column) from 1, with cell-naming errors."""

    def __init__(self, file: str, title: str, rows: list[tuple[Any, ...]]) -> None:
        self.file = file
        self.title = title
        self.rows = rows

    def value(self, row: int, column: int) -> Any:
        """The cell's value, or None outside the sheet."""
        if row > len(self.rows) or column > len(self.rows[row - 1]):
            return None
        return self.rows[row - 1][column - 1]

    def where(self, row: int, column: int, what: str) -> Location:
        """The location of a cell, with what it holds."""
        return Location(self.file, sheet=self.title, cell=f"{get_column_letter(column)}{row}", column=what)

    def number(self, row: int, column: int, what: str) -> float:
        """A numeric cell; empty or text is an error naming the cell."""
        value = self.value(row, column)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problem = "is empty (a number is required)" if value in (None, "") else f"{value!r} is not a number"
            raise InputFileError(self.where(row, column, what), problem)
        return float(value)

    def cell(self, row: int, column: int) -> Cell:
        """(sheet, cell reference) of a cell."""
        return self.title, f"{get_column_letter(column)}{row}"

    def slot_columns(self, header_row: int, first: int) -> dict[int, int]:
        """Slot number -> column of every ``t=k`` header cell from column ``first`` on; numbered 1..N."""
        found: dict[int, int] = {}
        for column in range(first, len(self.rows[header_row - 1]) + 1):
            match = _SLOT.match(str(self.value(header_row, column) or "").strip())
            if match:
                found[int(match.group(1))] = column
        if sorted(found) != list(range(1, len(found) + 1)) or not found:
            raise InputFileError(
                Location(self.file, sheet=self.title, row=header_row),
                f"the slot headers must be t=1..t=N (found {sorted(found) or 'none'})",
            )
        return found


class Workbook:
    """The sheets of a workbook by title."""

    def __init__(self, path: Path) -> None:
        self.file = path.name
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
            raise InputFileError(Location(self.file), f"is not an .xlsx workbook ({exc})") from exc
        try:
            self.sheets = {ws.title: Sheet(self.file, ws.title, list(ws.iter_rows(values_only=True))) for ws in book}
        finally:
            book.close()

    def sheet(self, title: str) -> Sheet:
        """The sheet called ``title``; missing is an error naming it."""
        if title not in self.sheets:
            raise InputFileError(Location(self.file, sheet=title), "the sheet is missing")
        return self.sheets[title]


def _labelled_rows(sheet: Sheet, pattern: re.Pattern[str], what: str, first_row: int = 2) -> dict[int, int]:
    """Number -> row of every row whose column A matches ``pattern`` (``user=3``, ``Device 2``)."""
    found: dict[int, int] = {}
    for row in range(first_row, len(sheet.rows) + 1):
        label = str(sheet.value(row, 1) or "").strip()
        match = pattern.match(label)
        if match:
            number = int(match.group(1))
            if number in found:
                raise InputFileError(sheet.where(row, 1, what), f"{what} {number} appears twice")
            found[number] = row
    return found


def _numbered_columns(sheet: Sheet) -> dict[int, int]:
    """User number -> column of every ``User i`` header in row 1."""
    found: dict[int, int] = {}
    for column in range(2, len(sheet.rows[0]) + 1 if sheet.rows else 1):
        match = _NUMBERED.match(str(sheet.value(1, column) or "").strip())
        if match:
            found[int(match.group(1))] = column
    return found


def _counts(sheet: Sheet, users: list[int], columns: tuple[int, ...], what: str) -> dict[int, list[float]]:
    """Per user (column A), the numbers in ``columns`` (``Number Of Devices``; ``EVs``, ``Charge Limit``)."""
    rows: dict[int, int] = {}
    for row in range(2, len(sheet.rows) + 1):
        value = sheet.value(row, 1)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if int(value) in rows:
                raise InputFileError(sheet.where(row, 1, "Users"), f"user {int(value)} appears twice")
            rows[int(value)] = row
    out: dict[int, list[float]] = {}
    for user in users:
        if user not in rows:
            raise InputFileError(Location(sheet.file, sheet=sheet.title, column="Users"), f"user {user} is missing")
        out[user] = [sheet.number(rows[user], c, what) for c in columns]
    return out


def _curve_rows(sheet: Sheet, keyed: bool) -> dict[int, list[tuple[int, int]]]:
    """(Users, Steps) blocks: key (user number, or 1 for a request) -> [(step, row)]."""
    blocks: dict[int, list[tuple[int, int]]] = {}
    current: int | None = None if keyed else 1
    step_column = 2 if keyed else 1
    for row in range(3, len(sheet.rows) + 1):
        if keyed:
            label = sheet.value(row, 1)
            if isinstance(label, (int, float)) and not isinstance(label, bool):
                current = int(label)
                if current in blocks:
                    raise InputFileError(sheet.where(row, 1, "Users"), f"user {current} appears twice")
                blocks[current] = []
        step = sheet.value(row, step_column)
        if step is None:
            continue
        if current is None:
            raise InputFileError(sheet.where(row, 1, "Users"), "a step row before the first user number")
        number = sheet.number(row, step_column, "Steps")
        blocks.setdefault(current, []).append((int(number), row))
    return blocks


def read_workbook(path: Path, start: datetime = DEFAULT_START) -> Dataset:
    """A FlexGrid "BRTP Input" workbook as a validated :class:`Dataset` (hourly slots from ``start``)."""
    book = Workbook(path)
    file = book.file
    desired_sheet, base_sheet = book.sheet("Desired Consumption"), book.sheet("BaseLoad")
    slot_columns = desired_sheet.slot_columns(1, 2)
    base_columns = base_sheet.slot_columns(1, 2)
    n_slots = len(slot_columns)
    stamps = [(start + timedelta(hours=t)).isoformat().replace("+00:00", "Z") for t in range(n_slots)]
    desired_rows = _labelled_rows(desired_sheet, _USER, "user")
    base_rows = _labelled_rows(base_sheet, _USER, "user")
    users = sorted(desired_rows)
    for user in users:
        if user not in base_rows:
            raise InputFileError(Location(file, sheet="BaseLoad", column="user"), f"user={user} is missing")
    levels = sorted(
        {title.rsplit(" ", 1)[-1] for title in book.sheets if title.startswith("Curtailable Offers ")},
        key=list(LEVELS).index,
    )
    if not levels:
        raise InputFileError(Location(file, sheet="Curtailable Offers HF"), "no 'Curtailable Offers LF/MF/HF' sheet")

    def prosumer(user: int, level: str) -> str:
        return f"user_{user}_{LEVELS[level]}"

    prosumers = TableBuilder("prosumers", ["prosumer", "flexibility_level"])
    consumption = TableBuilder("consumption", ["prosumer", "timestamp", "desired_kw", "base_kw"])
    offers = TableBuilder("curtailment_offers", ["prosumer", "timestamp", "step", "price_eur_per_kw", "quantity_kw"])
    devices = TableBuilder(
        "devices", ["prosumer", "device", "type", "charge_limit_kw", "deadline", "delay_price_eur_per_kw"]
    )
    device_consumption = TableBuilder("device_consumption", ["prosumer", "device", "timestamp", "kw"])
    requests = TableBuilder("flex_requests", ["flex_request", "timestamp", "step", "price_eur_per_kw", "quantity_kw"])

    loads: dict[int, list[tuple[float, float, Cell, Cell]]] = {}
    for user in users:
        loads[user] = []
        for t in range(1, n_slots + 1):
            row, column = desired_rows[user], slot_columns[t]
            b_row, b_column = base_rows[user], base_columns.get(t, 0)
            desired = desired_sheet.number(row, column, f"t={t}")
            if not b_column:
                raise InputFileError(Location(file, sheet="BaseLoad", row=1), f"has no t={t} column")
            base = base_sheet.number(b_row, b_column, f"t={t}")
            loads[user].append((desired, base, desired_sheet.cell(row, column), base_sheet.cell(b_row, b_column)))

    for level in levels:
        offer_sheet = book.sheet(f"Curtailable Offers {level}")
        offer_columns = offer_sheet.slot_columns(1, 3)
        blocks = _curve_rows(offer_sheet, keyed=True)
        for user in users:
            name = prosumer(user, level)
            prosumers.add([name, LEVELS[level]], {"prosumer": desired_sheet.cell(desired_rows[user], 1)})
            for t, (desired, base, d_cell, b_cell) in enumerate(loads[user]):
                consumption.add(
                    [name, stamps[t], desired, base],
                    {"prosumer": d_cell, "timestamp": d_cell, "desired_kw": d_cell, "base_kw": b_cell},
                )
            if user not in blocks:
                raise InputFileError(Location(file, sheet=offer_sheet.title, column="Users"), f"user {user} is missing")
            for step, step_row in blocks[user]:
                for t in range(1, n_slots + 1):
                    price_column = offer_columns.get(t)
                    if price_column is None:
                        raise InputFileError(Location(file, sheet=offer_sheet.title, row=1), f"has no t={t} column")
                    price = offer_sheet.number(step_row, price_column, f"t={t} Price")
                    quantity = offer_sheet.number(step_row, price_column + 1, f"t={t} Quantity")
                    offers.add(
                        [name, stamps[t - 1], step, price, quantity],
                        {
                            "prosumer": offer_sheet.cell(step_row, 1),
                            "timestamp": offer_sheet.cell(step_row, price_column),
                            "step": offer_sheet.cell(step_row, 2),
                            "price_eur_per_kw": offer_sheet.cell(step_row, price_column),
                            "quantity_kw": offer_sheet.cell(step_row, price_column + 1),
                        },
                    )

    _add_devices(book, users, levels, n_slots, stamps, start, prosumer, devices, device_consumption)
    for level in REQUEST_LEVELS:
        title = f"Flex Request {level}"
        if title not in book.sheets:
            continue
        sheet = book.sheet(title)
        columns = sheet.slot_columns(1, 2)
        for step, row in _curve_rows(sheet, keyed=False).get(1, []):
            for t, column in sorted(columns.items()):
                if t > n_slots:
                    continue
                requests.add(
                    [
                        f"flex_request_1_{level}",
                        stamps[t - 1],
                        step,
                        sheet.number(row, column, f"t={t} Price"),
                        sheet.number(row, column + 1, f"t={t} Quantity"),
                    ],
                    {
                        "flex_request": sheet.cell(row, 1),
                        "timestamp": sheet.cell(row, column),
                        "step": sheet.cell(row, 1),
                        "price_eur_per_kw": sheet.cell(row, column),
                        "quantity_kw": sheet.cell(row, column + 1),
                    },
                )
    tables = {b.name: b.table(file) for b in (prosumers, consumption, offers, devices, device_consumption, requests)}
    return Dataset.from_tables(tables, file)


def _add_devices(
    book: Workbook,
    users: list[int],
    levels: list[str],
    n_slots: int,
    stamps: list[str],
    start: datetime,
    prosumer: Any,
    devices: TableBuilder,
    device_consumption: TableBuilder,
) -> None:
    """Shiftable devices (``device_k``) and EVs (``ev_k``) of every user at every level."""
    kinds = (
        ("shiftable", "device", "Shiftable Devices", "Shiftable Consumption", "Shiftable Deadlines", "Shiftable Price"),
        ("ev", "ev", "EVs", "EV Consumption", "EVs Deadlines", "EVs Price"),
    )
    for kind, prefix, count_title, load_title, deadline_title, price_title in kinds:
        if count_title not in book.sheets:
            continue
        count_sheet = book.sheet(count_title)
        columns = (2, 3) if kind == "ev" else (2,)
        counts = _counts(count_sheet, users, columns, count_sheet.value(1, 2) or "count")
        load_sheet = book.sheet(load_title)
        slot_columns = load_sheet.slot_columns(1, 3)
        rows: dict[tuple[int, int], int] = {}
        current: int | None = None
        for row in range(2, len(load_sheet.rows) + 1):
            match = _USER.match(str(load_sheet.value(row, 1) or "").strip())
            if match:
                current = int(match.group(1))
            device = load_sheet.value(row, 2)
            if device is None or current is None:
                continue
            number = int(load_sheet.number(row, 2, "Devices"))
            if (current, number) in rows:
                raise InputFileError(
                    load_sheet.where(row, 2, "Devices"), f"user {current} device {number} appears twice"
                )
            rows[(current, number)] = row
        for level in levels:
            deadline_sheet = book.sheet(f"{deadline_title} {level}")
            price_sheet = book.sheet(f"{price_title} {level}")
            deadline_rows = _labelled_rows(deadline_sheet, _NUMBERED, "device")
            price_rows = _labelled_rows(price_sheet, _NUMBERED, "device")
            deadline_columns = _numbered_columns(deadline_sheet)
            price_columns = _numbered_columns(price_sheet)
            for user in users:
                name = prosumer(user, level)
                for k in range(1, int(counts[user][0]) + 1):
                    found = rows.get((user, k))
                    if found is None:
                        raise InputFileError(
                            Location(book.file, sheet=load_title, column="Devices"),
                            f"user {user} has no row for device {k}",
                        )
                    for sheet, found_rows, found_columns in (
                        (deadline_sheet, deadline_rows, deadline_columns),
                        (price_sheet, price_rows, price_columns),
                    ):
                        if k not in found_rows or user not in found_columns:
                            raise InputFileError(
                                Location(book.file, sheet=sheet.title), f"has no cell for Device {k} of User {user}"
                            )
                    d_row, d_column = deadline_rows[k], deadline_columns[user]
                    p_row, p_column = price_rows[k], price_columns[user]
                    value = deadline_sheet.number(d_row, d_column, f"User {user}")
                    deadline = (start + timedelta(hours=value - 1)).isoformat().replace("+00:00", "Z")
                    device = f"{prefix}_{k}"
                    devices.add(
                        [
                            name,
                            device,
                            kind,
                            counts[user][1] if kind == "ev" else None,
                            deadline,
                            price_sheet.number(p_row, p_column, f"User {user}"),
                        ],
                        {
                            "prosumer": load_sheet.cell(found, 1),
                            "device": load_sheet.cell(found, 2),
                            "charge_limit_kw": count_sheet.cell(2, 3),
                            "deadline": deadline_sheet.cell(d_row, d_column),
                            "delay_price_eur_per_kw": price_sheet.cell(p_row, p_column),
                        },
                    )
                    for t in range(1, n_slots + 1):
                        column = slot_columns.get(t)
                        if column is None:
                            raise InputFileError(Location(book.file, sheet=load_title, row=1), f"has no t={t} column")
                        kw = load_sheet.number(found, column, f"t={t}")
                        if kw < 0:
                            raise InputFileError(load_sheet.where(found, column, f"t={t}"), f"negative value {kw:g}")
                        if kw > 0:
                            cell = load_sheet.cell(found, column)
                            device_consumption.add(
                                [name, device, stamps[t - 1], kw],
                                {"prosumer": cell, "device": load_sheet.cell(found, 2), "timestamp": cell, "kw": cell},
                            )


def write_workbook(dataset: Dataset, path: Path) -> None:
    """Write ``dataset`` in the FlexGrid "BRTP Input" layout (hourly slots; the date is not kept).

    The dataset must have that layout's shape: prosumers ``user_{i}_{Level}`` for the
    same users at every level, with the same loads, devices and EVs at every level.

    Raises
    ------
    InvalidInputError
        The dataset does not have that shape.
    """
    pattern = re.compile(r"^user_(\d+)_(Low|Medium|High)$")
    index: dict[tuple[int, str], int] = {}
    for i, name in enumerate(dataset.user_names):
        match = pattern.match(name)
        if not match:
            raise InvalidInputError(f"prosumer {name!r} is not named user_<i>_<Low|Medium|High>")
        index[(int(match.group(1)), match.group(2))] = i
    users = sorted({u for u, _ in index})
    levels = [code for code, level in LEVELS.items() if any(lv == level for _, lv in index)]
    if dataset.grid.dt_hours != 1.0 or any((u, LEVELS[c]) not in index for u in users for c in levels):
        raise InvalidInputError("a FlexGrid workbook needs hourly slots and every user at every level")
    first = {u: index[(u, LEVELS[levels[0]])] for u in users}
    devices = dataset.devices
    n_slots = dataset.grid.n_slots
    per_user: dict[int, list[int]] = {}
    for d, owner in enumerate(devices.user):
        per_user.setdefault(int(owner), []).append(d)
    for u in users:
        for code in levels[1:]:
            other = index[(u, LEVELS[code])]
            same = (dataset.desired_kw[other] == dataset.desired_kw[first[u]]).all() and (
                dataset.baseload_kw[other] == dataset.baseload_kw[first[u]]
            ).all()
            mine, theirs = per_user.get(first[u], []), per_user.get(other, [])
            same = (
                same
                and len(mine) == len(theirs)
                and all(
                    (devices.profile_kw[a] == devices.profile_kw[b]).all() for a, b in zip(mine, theirs, strict=True)
                )
            )
            if not same:
                raise InvalidInputError(f"user {u}: loads or devices differ between levels; a workbook shares them")
    book = NewWorkbook()
    book.remove(book.active)
    slots = [f"t={t}" for t in range(1, n_slots + 1)]

    def grid_sheet(title: str, values: Any) -> None:
        sheet = book.create_sheet(title)
        sheet.append([None, *slots])
        for u in users:
            sheet.append([f"user={u}", *map(float, values[first[u]])])

    grid_sheet("Desired Consumption", dataset.desired_kw)
    grid_sheet("BaseLoad", dataset.baseload_kw)
    for code in levels:
        sheet = book.create_sheet(f"Curtailable Offers {code}")
        sheet.append(["Users", "Steps", *[v for s in slots for v in (s, None)]])
        sheet.append([None, None, *["Price", "Quantity"] * n_slots])
        steps = int(dataset.offers.steps.max(initial=0))
        for u in users:
            i = index[(u, LEVELS[code])]
            for k in range(steps):
                cells: list[Any] = [u if k == 0 else None, k + 1]
                for t in range(n_slots):
                    present = k < dataset.offers.steps[i, t]
                    cells += [
                        float(dataset.offers.price[i, t, k]) if present else 0.0,
                        float(dataset.offers.quantity[i, t, k]) if present else 0.0,
                    ]
                sheet.append(cells)
    for is_ev, count_title, load_title, deadline_title, price_title in (
        (False, "Shiftable Devices", "Shiftable Consumption", "Shiftable Deadlines", "Shiftable Price"),
        (True, "EVs", "EV Consumption", "EVs Deadlines", "EVs Price"),
    ):
        kinds = {u: [d for d in per_user.get(first[u], []) if devices.is_ev[d] == is_ev] for u in users}
        counts = book.create_sheet(count_title)
        counts.append(["Users", "EVs", "Charge Limit"] if is_ev else ["Users", "Number Of Devices"])
        for u in users:
            limit = [float(devices.charge_limit_kw[d]) for d in kinds[u] if not np.isnan(devices.charge_limit_kw[d])]
            if len(set(limit)) > 1:
                raise InvalidInputError(f"user {u}: its EVs have different charge limits; a workbook has one per user")
            counts.append([u, len(kinds[u]), limit[0] if limit else 0.0] if is_ev else [u, len(kinds[u])])
        loads = book.create_sheet(load_title)
        loads.append(["Users", "Devices", *slots])
        for u in users:
            for k, d in enumerate(kinds[u]):
                loads.append([f"user={u}" if k == 0 else None, k + 1, *map(float, devices.profile_kw[d])])
        most = max((len(v) for v in kinds.values()), default=0)
        for code in levels:
            level_devices = {u: per_user.get(index[(u, LEVELS[code])], []) for u in users}
            listed = {u: [d for d in level_devices[u] if devices.is_ev[d] == is_ev] for u in users}
            for title, values in ((f"{deadline_title} {code}", "deadline"), (f"{price_title} {code}", "price")):
                sheet = book.create_sheet(title)
                sheet.append([None, *[f"User {u}" for u in users]])
                for k in range(most):
                    row: list[Any] = [f"Device {k + 1}"]
                    for u in users:
                        if k >= len(listed[u]):
                            row.append(None)
                            continue
                        d = listed[u][k]
                        if values == "price":
                            row.append(float(devices.delay_price[d]))
                        else:
                            finish = int(np.flatnonzero(devices.has_row[d])[-1])
                            row.append(int(devices.deadline[d] if devices.deadline[d] >= 0 else finish) + 1)
                    sheet.append(row)
    for level in REQUEST_LEVELS:
        name = f"flex_request_1_{level}"
        if name not in dataset.flex_requests:
            continue
        curves = dataset.flex_requests[name]
        sheet = book.create_sheet(f"Flex Request {level}")
        sheet.append(["Steps", *[v for s in slots for v in (s, None)]])
        sheet.append([None, *["Price", "Quantity"] * n_slots])
        for k in range(int(curves.steps.max(initial=0))):
            cells = [k + 1]
            for t in range(n_slots):
                present = k < curves.steps[t]
                cells += [
                    float(curves.price[t, k]) if present else 0.0,
                    float(curves.quantity[t, k]) if present else 0.0,
                ]
            sheet.append(cells)
    book.save(path)
