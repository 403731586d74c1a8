"""The KPIs of one gamma as plain numbers: small, JSON-ready, enough for every view of a result.

A :class:`~BRTP.kpis.outcome.GammaOutcome` holds arrays and the solution; its
:class:`GammaKpis` is what is kept, sent between processes and turned into
plots and tables.
"""

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class GammaKpis:
    """Spec §6 KPIs of one gamma, the aggregate loads and prices, and how it was solved."""

    gamma: float
    auw: float
    uw: tuple[float, ...]
    tc: float
    tc_desired: float
    bb: float
    flex_q: float
    flex_r: float
    flex_delivered: float
    dso_revenue: float
    final_load_kw: tuple[float, ...]
    desired_load_kw: tuple[float, ...]
    price: tuple[float, ...]
    marginal_value: tuple[float, ...]
    solver: str
    status: str
    iterations: int
    solve_seconds: float
    solver_seconds: float
    solved_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GammaKpis":
        """Inverse of :meth:`to_dict`."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for name, value in values.items():
            if isinstance(value, list):
                values[name] = tuple(value)
        return cls(**values)
