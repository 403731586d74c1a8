"""The primal (and, where the solver gives it, dual) solution of one B-RTP QP."""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Solution:
    """Optimal decision variables for one gamma (spec §3), as dense arrays.

    Attributes
    ----------
    gamma
        The behavioural weight the QP was solved for.
    curtailment_kw
        ``c[i, t]``, shape ``(U, T)``.
    device_power_kw
        ``y[d, t]``, shape ``(D, T)``, zero outside each device's window.
    flex_credit_kw
        ``z[t, k]``, shape ``(T, K)``.
    increase_kw
        ``n[t]``, shape ``(T,)``.
    objective
        ``Phi_gamma`` at the solution (spec §5).
    link_dual
        ``nu[t]`` (EUR/kWh, per hour of slot), the dual of the flexibility
        link, where the solver reports duals; ``None`` otherwise.
    status
        The solver's termination status.
    solver
        Which solver produced this solution.
    solve_seconds
        Wall time of the solve call.
    solver_seconds
        The solver's own reported time (equal to ``solve_seconds`` when it
        reports none).
    iterations
        Solver iterations (0 when not reported).
    """

    gamma: float
    curtailment_kw: FloatArray
    device_power_kw: FloatArray
    flex_credit_kw: FloatArray
    increase_kw: FloatArray
    objective: float
    link_dual: FloatArray | None
    status: str
    solver: str
    solve_seconds: float
    solver_seconds: float
    iterations: int = 0
