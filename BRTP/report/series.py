"""A result's JSON views in the FlexGrid original's format: ``plots``, ``raw_data`` and ``PricingData``.

``plots`` and ``raw_data`` keep the original's keys, titles and labels
(including its ``serries`` spelling) so that clients of the original keep
working. Unlike the original, every gamma is written to its own index.
Ratios use the original's sign-safe form ``1 + (W0 - W) / W0`` and are
``None`` (JSON null) where ``W0`` is 0. Both views are built from
:class:`~BRTP.kpis.GammaKpis`, so gammas solved in different processes can be
put together.
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from BRTP.kpis import GammaKpis

JsonDict = dict[str, Any]


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


def plots(kpis: Sequence[GammaKpis], user_names: Sequence[str]) -> JsonDict:
    """The five plot series of the original service, one entry per gamma where it had a list.

    Users are numbered 1..U on the UW_BAR x axis, as in the original; their
    names are in ``raw_data["USERS"]`` once, not repeated per gamma.
    """
    gammas = [k.gamma for k in kpis]
    reference = kpis[0]
    slots = list(range(1, len(reference.final_load_kw) + 1))
    users = list(range(1, len(user_names) + 1))
    return {
        "AUW_vs_GAMMA": {
            "title": "Ratio between AUW with B-RTP and AUW with RTP as a function of γ",
            "xlabel": "γ",
            "ylabel": "AUW with B-RTP(γ) / AUW with RTP (γ = 0)",
            "serries": [
                {
                    "xvalues": gammas,
                    "yvalues": [ratio_to_reference(reference.auw, k.auw) for k in kpis],
                    "legend": "B-RTP(γ) / RTP",
                }
            ],
            "plot_type": "scatter",
        },
        "UW_BAR": [
            {
                "title": f"UW with B-RTP(γ = {k.gamma}) / UW with RTP per user",
                "xlabel": "Users",
                "ylabel": "UW with B-RTP(γ)/UW with RTP",
                "serries": [
                    {
                        "xvalues": users,
                        "yvalues": [ratio_to_reference(w0, w) for w0, w in zip(reference.uw, k.uw, strict=True)],
                        "legend": f"γ = {k.gamma}",
                    }
                ],
                "plot_type": "bar",
            }
            for k in kpis
        ],
        "FLEX_REVENUES": {
            "title": "Flexibility revenues as a function of γ",
            "xlabel": "γ",
            "ylabel": "Flexibility Revenues (€)",
            "serries": [{"xvalues": gammas, "yvalues": _floats([k.flex_r for k in kpis])}],
            "plot_type": "bar",
        },
        "FLEX_QUANTITY": {
            "title": "Flexibility quantity as a function of γ",
            "xlabel": "γ",
            "ylabel": "Flexibility Quantity Delivered (kW)",
            "serries": [{"xvalues": gammas, "yvalues": _floats([k.flex_q for k in kpis])}],
            "plot_type": "bar",
        },
        "FINAL_ECC": [
            {
                "title": f"Initial vs Final ECC (γ = {k.gamma})",
                "xlabel": "Time (h)",
                "ylabel": "Power Consumption (kW)",
                "serries": [
                    {"xvalues": slots, "yvalues": _floats(k.desired_load_kw), "legend": "Initial ECC"},
                    {"xvalues": slots, "yvalues": _floats(k.final_load_kw), "legend": "Final ECC"},
                ],
                "plot_type": "scatter",
            }
            for k in kpis
        ],
    }


def raw_data(kpis: Sequence[GammaKpis], user_names: Sequence[str], slot_starts: Sequence[str]) -> JsonDict:
    """KPIs per gamma: the original's keys, then this service's additions."""
    return {
        "AUW_BRTP": _floats([k.auw for k in kpis]),
        "TC_BRTP": _floats([k.tc for k in kpis]),
        "BB_BRTP": _floats([k.bb for k in kpis]),
        "uw_bar_plot": _floats([k.uw for k in kpis]),
        "FLEX_Q": _floats([k.flex_q for k in kpis]),
        "FLEX_R": _floats([k.flex_r for k in kpis]),
        "FINALCONS": _floats([k.final_load_kw for k in kpis]),
        "GAMMA": [k.gamma for k in kpis],
        "USERS": list(user_names),
        "SLOTS": list(slot_starts),
        "FLEX_DELIVERED": _floats([k.flex_delivered for k in kpis]),
        "DSO_REVENUE": _floats([k.dso_revenue for k in kpis]),
        "TC_DESIRED": float(kpis[0].tc_desired),
        "INITIAL_ECC": _floats(kpis[0].desired_load_kw),
        "PRICE": _floats([k.price for k in kpis]),
        "LAMBDA": _floats([k.marginal_value for k in kpis]),
        "SOLVER": [
            {
                "gamma": k.gamma,
                "solver": k.solver,
                "status": k.status,
                "iterations": k.iterations,
                "solve_seconds": k.solve_seconds,
                "solver_seconds": k.solver_seconds,
                **({"solved_by": k.solved_by} if k.solved_by else {}),
            }
            for k in kpis
        ],
    }


def pricing_data(
    user_names: Sequence[str], slot_starts: Sequence[str], kpis: Sequence[GammaKpis], warnings: Sequence[str]
) -> JsonDict:
    """The ``PricingData`` JSON of a job: plots, raw data and warnings, gamma 0 first."""
    return {
        "plots": plots(kpis, user_names),
        "raw_data": raw_data(kpis, user_names, slot_starts),
        "warnings": list(warnings),
    }
