"""The KPIs of one gamma: small, JSON-ready, enough for every view of a result (spec §6).

A :class:`~BRTP.kpis.outcome.GammaOutcome` pairs these with the solution
arrays; :class:`GammaKpis` alone is what is kept, sent between processes and
turned into plots and tables.
"""

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class GammaKpis:
    """Spec §6 KPIs of one gamma, the aggregate loads and prices, and how it was solved.

    Scalars: ``auw``, ``tc`` (and ``tc_desired``), ``bb``, ``flex_q``,
    ``flex_r``, ``flex_delivered``, ``dso_revenue``. Arrays: ``uw`` per user;
    per slot ``final_load_kw`` (``L``), ``desired_load_kw`` (``Ld``, the
    initial ECC), ``price`` (``p``) and ``marginal_value`` (``lambda``).
    """

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
        plain: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**plain)
