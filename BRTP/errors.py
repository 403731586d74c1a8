"""Typed errors of the BRTP package.

Every error carries a message a user can act on: it names the prosumer,
device, flex request or slot at fault. HTTP status codes are not decided
here; the service maps these classes to problem+json responses.
"""


class BrtpError(Exception):
    """Base class of every error raised by the BRTP package."""


class InvalidInputError(BrtpError, ValueError):
    """The input documents are malformed or inconsistent (missing slot, NaN, ...)."""


class InfeasibleJobError(BrtpError):
    """The data is well formed but no schedule can satisfy it (e.g. an EV cannot charge in time)."""


class SolverError(BrtpError):
    """The QP solver did not reach an optimal solution."""


class Location:
    """Where a value sits in an input: the file, and the sheet and cell or the row and column."""

    def __init__(
        self,
        file: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        cell: str | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.sheet = sheet
        self.row = row
        self.cell = cell
        self.column = column

    def __str__(self) -> str:
        parts = [self.file]
        if self.sheet is not None:
            parts.append(f"sheet '{self.sheet}'")
        if self.cell is not None:
            parts.append(f"cell {self.cell}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, str | int]:
        """The parts that are known, for a problem+json answer."""
        parts = {"file": self.file, "sheet": self.sheet, "row": self.row, "cell": self.cell, "column": self.column}
        return {k: v for k, v in parts.items() if v is not None}


class InputFileError(InvalidInputError):
    """Bad data in an input file: the message starts with where it is (file, sheet/cell or row/column)."""

    def __init__(self, location: Location, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = location
        self.problem = problem
