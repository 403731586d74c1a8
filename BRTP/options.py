"""Options of a B-RTP run and the model's design choices, kept in one place.

The model (``docs/model.md``) marks some
modelling decisions as **[compat]** (recovered from the FlexGrid original and
kept for compatibility) and others as **[choice]** (ours). Every such choice
that has a knob lives in :class:`BrtpOptions`; the ones without a knob are
listed in :data:`MODEL_CHOICES` so that the package docs and the code agree.
"""

from dataclasses import dataclass
from typing import Literal

#: Design choices without a knob, documented for users (spec sections in brackets).
MODEL_CHOICES: dict[str, str] = {
    "energy_cost": "[compat] TC = a * sum_t L[t]^2 * dt with a = 0.03 EUR/kW^2h by default (§2, §6).",
    "curtailment_cost": "[compat] 0.5 * kappa * c^2 * dt, kappa = least-squares slope through the "
    "origin of the offer points (quantity, price) (§5).",
    "delay_cost": "[choice] delta_d EUR per kWh per hour of delay past the desired finish (§5).",
    "increase_value": "[choice] raising a slot above its desired load costs the first request "
    "price pi1[t], times gamma (§4).",
    "deadline_slot": "[choice] the deadline slot is the slot containing the deadline timestamp, "
    "inclusive; a deadline past the horizon is clipped to the last slot with a warning (§2).",
    "ev_power_cap": "[compat] an EV's power cap is its charge_limit; a desired profile above it "
    "is spread under the cap, with a warning (§2).",
    "shifting": "[compat] fractional shifting: energy may spread over slots (§3).",
    "lambda": "[choice] lambda[t] is the left derivative of V[t] at u[t], read from the link dual "
    "(nu/gamma between or at the request prices); at gamma 0 or without duals, from u snapped to "
    "breakpoints within breakpoint_snap_kw (§6).",
}


@dataclass(frozen=True)
class BrtpOptions:
    """Numerical options of a B-RTP run.

    Parameters
    ----------
    energy_cost_eur_per_kw2h
        The aggregator's energy-cost coefficient ``a`` (spec §2, [compat]).
    breakpoint_snap_kw
        Net reductions within this distance of a request-curve breakpoint are
        snapped to it before the marginal behavioural value is looked up (§6).
    solver
        ``"ipm"`` (production: the structure-exploiting interior-point method,
        PIQP as its fallback, every answer certified), ``"piqp"`` (PIQP first,
        the interior-point method as fallback, certified) or ``"highs"`` (the
        Pyomo reference model solved by HiGHS; slow, for cross-checks on small jobs).
    eps_abs, eps_rel
        Absolute and relative convergence tolerances handed to PIQP.
    eps_gap_abs, eps_gap_rel
        Duality-gap tolerances handed to PIQP. Tighter than PIQP's defaults
        (1e-8, 1e-9): at the defaults an interior-point solution may sit a few
        1e-6 kW off a request breakpoint, enough to flip the step that
        ``lambda`` reads; at these values the KKT checks of spec §7 pass on
        thousands of random portfolios, for about 10 % more iterations.
    max_iter
        PIQP iteration limit.
    threads
        Gamma values solved at once, each in its own thread (the interior-point
        method's compiled passes release the GIL; a PIQP fallback runs one at a
        time). 1 in the service, whose workers are already one process per core;
        ``brtp run`` uses one per core.
    anchored_starts
        The interior-point method starts each gamma from a partly solved anchor
        (``docs/solver.md``); ``False`` starts every gamma cold, the baseline
        ``bench/solver_scale.py`` measures the anchors against.
    """

    energy_cost_eur_per_kw2h: float = 0.03
    breakpoint_snap_kw: float = 1e-6
    solver: Literal["ipm", "piqp", "highs"] = "ipm"
    eps_abs: float = 1e-8
    eps_rel: float = 1e-9
    eps_gap_abs: float = 1e-10
    eps_gap_rel: float = 1e-11
    max_iter: int = 250
    threads: int = 1
    anchored_starts: bool = True
