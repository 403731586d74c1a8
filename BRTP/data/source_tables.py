"""Tables as read from an input, with a way back to where each value came from.

Every reader (tidy package, FlexGrid workbook, Eve JSON collections) hands
:class:`~BRTP.data.dataset.Dataset` the same six tables as pandas DataFrames,
each with a locator that turns (row position, column) into a
:class:`~BRTP.errors.Location`: ``consumption.csv, row 17, column base_kw``
for a CSV file, ``sheet 'BaseLoad', cell D5`` for a workbook cell. The checks
below raise :class:`~BRTP.errors.InputFileError` at the first bad value.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from BRTP.data.tables import TABLES
from BRTP.errors import InputFileError, Location

#: (row position, column) -> where that value is in the input.
Locator = Callable[[int, str], Location]


def row_locator(file: str, first_row: int) -> Locator:
    """Rows of a file whose first data row is numbered ``first_row`` (2 for CSV: the header is row 1)."""
    return lambda position, column: Location(file, row=position + first_row, column=column)


@dataclass(frozen=True)
class SourceTable:
    """One table of an input: its rows and where they came from."""

    name: str
    frame: pd.DataFrame
    locate: Locator

    def fail(self, position: int, column: str, problem: str) -> InputFileError:
        """The error for the value at (``position``, ``column``)."""
        return InputFileError(self.locate(position, column), problem)

    def check_columns(self) -> None:
        """Every required column is there (extra columns are ignored)."""
        missing = [c for c in TABLES[self.name].required_columns if c not in self.frame.columns]
        if missing:
            where = self.locate(-1, missing[0])
            location = Location(where.file, sheet=where.sheet, column=missing[0])
            raise InputFileError(
                location,
                f"table {self.name} has no column {missing[0]!r} (it has: {', '.join(map(str, self.frame.columns))})",
            )

    def strings(self, column: str, *, required: bool = True) -> NDArray[np.object_]:
        """A column as strings (None where empty and not required)."""
        values = self.frame[column]
        empty = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
        if required and empty.any():
            raise self.fail(int(np.flatnonzero(empty)[0]), column, "is empty")
        out: NDArray[np.object_] = values.astype(str).str.strip().to_numpy(dtype=object)
        out[empty] = None
        return out

    def numbers(self, column: str, *, required: bool = True, minimum: float | None = 0.0) -> NDArray[np.float64]:
        """A column as finite floats (NaN where empty and not required), at least ``minimum``."""
        raw = self.frame[column]
        if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
            values = raw.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
            given = ~raw.isna().to_numpy()
        else:  # text (a CSV column with a non-number in it, a workbook's mixed cells): convert the distinct values
            codes, uniques = pd.factorize(raw)
            converted = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
            blank = np.array([str(u).strip() == "" for u in uniques], dtype=bool)
            values = np.where(codes >= 0, converted[codes] if len(uniques) else np.nan, np.nan)
            given = (codes >= 0) & ~(blank[codes] if len(uniques) else False)
        bad = given & ~np.isfinite(values)
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            raise self.fail(position, column, f"{raw.iloc[position]!r} is not a finite number")
        if required and (~given).any():
            raise self.fail(int(np.flatnonzero(~given)[0]), column, "is empty (a number is required)")
        if minimum is not None:
            low = given & (values < minimum)
            if low.any():
                position = int(np.flatnonzero(low)[0])
                raise self.fail(position, column, f"negative value {values[position]:g}")
        values[~given] = np.nan
        result: NDArray[np.float64] = values
        return result

    def codes(self, column: str, index_of: dict[str, int], what: str) -> NDArray[np.int64]:
        """Row -> ``index_of[name]`` of the name in ``column``; empty or unknown names are errors."""
        codes, uniques = pd.factorize(self.frame[column])
        lookup = np.array([index_of.get(str(u).strip(), -1) for u in uniques] + [-2], dtype=np.int64)
        out = lookup[codes]  # code -1 (empty) reads the -2 sentinel at the end
        if (out == -2).any():
            raise self.fail(int(np.flatnonzero(out == -2)[0]), column, "is empty")
        if (out == -1).any():
            row = int(np.flatnonzero(out == -1)[0])
            raise self.fail(row, column, f"unknown {what} {str(self.frame[column].iloc[row]).strip()!r}")
        codes_of_rows: NDArray[np.int64] = out
        return codes_of_rows

    def integers(self, column: str, *, minimum: int = 1) -> NDArray[np.int64]:
        """A column of whole numbers, at least ``minimum``."""
        values = self.numbers(column, minimum=None)
        bad = (values != np.round(values)) | (values < minimum)
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            raise self.fail(
                position, column, f"{self.frame[column].iloc[position]!r} is not a whole number >= {minimum}"
            )
        return values.astype(np.int64)

    def timestamps(self, column: str, *, required: bool = True) -> NDArray[np.float64]:
        """A column of RFC 3339 timestamps with a time zone, as POSIX seconds (NaN where empty and not required)."""
        raw = self.frame[column]
        if isinstance(raw.dtype, pd.DatetimeTZDtype):
            # whatever the resolution (pandas 3 keeps s/ms/us/ns); missing values become NaN
            since_epoch = raw.dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")
            values = since_epoch.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
        elif pd.api.types.is_datetime64_any_dtype(raw):
            raise self.fail(0, column, "timestamps have no time zone (store them in UTC with a zone)")
        else:
            codes, uniques = pd.factorize(raw)
            parsed = np.full(len(uniques) + 1, np.nan)  # the last entry: empty cells (code -1)
            for k, value in enumerate(uniques):
                text = str(value).strip()
                if not text:
                    continue
                stamp = _parse(text)
                if stamp is None or not _has_zone(text):
                    position = int(np.flatnonzero(codes == k)[0])
                    reason = (
                        "has no time zone (add Z or +hh:mm)" if stamp is not None else "is not an RFC 3339 date-time"
                    )
                    raise self.fail(position, column, f"{text!r} {reason}")
                parsed[k] = stamp
            values = parsed[codes]
        if required and np.isnan(values).any():
            raise self.fail(int(np.flatnonzero(np.isnan(values))[0]), column, "is empty (a timestamp is required)")
        seconds: NDArray[np.float64] = values
        return seconds


def first_duplicate(keys: list[NDArray[np.int64]]) -> int | None:
    """Position of the first row whose key (one integer per array) repeats an earlier row's, or None."""
    if not len(keys[0]):
        return None
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key in keys:  # one integer per row: mixed radix, each digit below its column's maximum + 1
        combined = combined * (int(key.max()) + 1) + key
    order = np.argsort(combined, kind="stable")
    repeated = order[1:][combined[order][1:] == combined[order][:-1]]
    return int(repeated.min()) if len(repeated) else None


def _has_zone(value: str) -> bool:
    text = value.strip()
    return text.endswith(("Z", "z")) or (len(text) > 6 and text[-6] in "+-" and text[-3] == ":")


def _parse(value: str) -> float | None:
    """POSIX seconds of an ISO 8601 timestamp (naive ones as UTC, for the message), or None."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return float(stamp.timestamp())
