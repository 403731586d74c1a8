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
