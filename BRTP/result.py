"""The result of a B-RTP run, and its JSON views in the FlexGrid original's format.

``plots`` and ``raw_data`` keep the original's keys, titles and labels
(including its ``serries`` spelling) so that clients of the original keep
working. Unlike the original, every gamma is written to its own index.
Ratios use the original's sign-safe form ``1 + (W0 - W) / W0`` and are
``None`` (JSON null) where ``W0`` is 0.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from BRTP.kpis import GammaOutcome

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Timings:
    """Seconds spent per phase of a run."""

    build: float = 0.0
    solve: float = 0.0
    solver_own: float = 0.0
    kpis: float = 0.0

    @property
    def total(self) -> float:
        """Build + solve + KPIs."""
        return self.build + self.solve + self.kpis


@dataclass(frozen=True)
class BrtpResult:
    """Outcomes for every gamma of a job, gamma 0 first."""

    user_names: tuple[str, ...]
    slot_starts: tuple[str, ...]
    outcomes: tuple[GammaOutcome, ...]
    warnings: tuple[str, ...] = field(default=())
    timings: Timings = field(default_factory=Timings)

    @property
    def gammas(self) -> list[float]:
        """The gamma values, in run order."""
        return [o.gamma for o in self.outcomes]


def ratio_to_reference(reference: float, value: float) -> float | None:
    """The original's sign-safe ratio ``1 + (W0 - W) / W0``; ``None`` where undefined."""
    if reference == 0 or not math.isfinite(reference) or not math.isfinite(value):
        return None
    return 1.0 + (reference - value) / reference


def _floats(values: Any) -> list[Any]:
    """Nested lists of floats with NaN/inf turned into ``None``."""
    array = np.asarray(values, dtype=np.float64)
    return (
        [_floats(row) for row in array] if array.ndim > 1 else [float(v) if math.isfinite(v) else None for v in array]
    )


def plots(result: BrtpResult) -> JsonDict:
    """The five plot series of the original service, one entry per gamma where it had a list."""
    gammas = result.gammas
    reference = result.outcomes[0]
    slots = list(range(1, len(reference.final_load_kw) + 1))
    users = list(range(1, len(result.user_names) + 1))
    return {
        "AUW_vs_GAMMA": {
            "title": "Ratio between AUW with B-RTP and AUW with RTP as a function of γ",
            "xlabel": "γ",
            "ylabel": "AUW with B-RTP(γ) / AUW with RTP (γ = 0)",
            "serries": [
                {
                    "xvalues": gammas,
                    "yvalues": [ratio_to_reference(reference.auw, o.auw) for o in result.outcomes],
                    "legend": "B-RTP(γ) / RTP",
                }
            ],
            "plot_type": "scatter",
        },
        "UW_BAR": [
            {
                "title": f"UW with B-RTP(γ = {o.gamma}) / UW with RTP per user",
                "xlabel": "Users",
                "ylabel": "UW with B-RTP(γ)/UW with RTP",
                "serries": [
                    {
                        "xvalues": users,
                        "yvalues": [
                            ratio_to_reference(float(w0), float(w)) for w0, w in zip(reference.uw, o.uw, strict=True)
                        ],
                        "legend": f"γ = {o.gamma}",
                        "xticklabels": list(result.user_names),
                    }
                ],
                "plot_type": "bar",
            }
            for o in result.outcomes
        ],
        "FLEX_REVENUES": {
            "title": "Flexibility revenues as a function of γ",
            "xlabel": "γ",
            "ylabel": "Flexibility Revenues (€)",
            "serries": [{"xvalues": gammas, "yvalues": _floats([o.flex_r for o in result.outcomes])}],
            "plot_type": "bar",
        },
        "FLEX_QUANTITY": {
            "title": "Flexibility quantity as a function of γ",
            "xlabel": "γ",
            "ylabel": "Flexibility Quantity Delivered (kW)",
            "serries": [{"xvalues": gammas, "yvalues": _floats([o.flex_q for o in result.outcomes])}],
            "plot_type": "bar",
        },
        "FINAL_ECC": [
            {
                "title": f"Initial vs Final ECC (γ = {o.gamma})",
                "xlabel": "Time (h)",
                "ylabel": "Power Consumption (kW)",
                "serries": [
                    {"xvalues": slots, "yvalues": _floats(o.desired_load_kw), "legend": "Initial ECC"},
                    {"xvalues": slots, "yvalues": _floats(o.final_load_kw), "legend": "Final ECC"},
                ],
                "plot_type": "scatter",
            }
            for o in result.outcomes
        ],
    }


def raw_data(result: BrtpResult) -> JsonDict:
    """KPIs per gamma: the original's keys, then this service's additions."""
    outcomes = result.outcomes
    return {
        "AUW_BRTP": _floats([o.auw for o in outcomes]),
        "TC_BRTP": _floats([o.tc for o in outcomes]),
        "BB_BRTP": _floats([o.bb for o in outcomes]),
        "uw_bar_plot": _floats([o.uw for o in outcomes]),
        "FLEX_Q": _floats([o.flex_q for o in outcomes]),
        "FLEX_R": _floats([o.flex_r for o in outcomes]),
        "FINALCONS": _floats([o.final_load_kw for o in outcomes]),
        "GAMMA": result.gammas,
        "USERS": list(result.user_names),
        "SLOTS": list(result.slot_starts),
        "FLEX_DELIVERED": _floats([o.flex_delivered for o in outcomes]),
        "DSO_REVENUE": _floats([o.dso_revenue for o in outcomes]),
        "TC_DESIRED": float(outcomes[0].tc_desired),
        "INITIAL_ECC": _floats(outcomes[0].desired_load_kw),
        "PRICE": _floats([o.price for o in outcomes]),
        "LAMBDA": _floats([o.marginal_value for o in outcomes]),
        "SOLVER": [
            {
                "gamma": o.gamma,
                "solver": o.solution.solver,
                "status": o.solution.status,
                "iterations": o.solution.iterations,
                "solve_seconds": o.solution.solve_seconds,
                "solver_seconds": o.solution.solver_seconds,
            }
            for o in outcomes
        ],
    }
