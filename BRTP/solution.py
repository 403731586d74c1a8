"""The primal (and, where the solver gives it, dual) solution of one B-RTP QP."""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class CellValues:
    """A dense array's values on some cells, zero elsewhere: device powers kept on their windows only.

    ``cells`` are flat indices into an array of ``shape``. Device windows cover
    a fifth of a day on average, so this keeps a solution several times smaller:
    at 100 000 prosumers 11 MB of values per gamma instead of a 64 MB array (the
    cells, 11 MB more, are the QP layout's own array, shared by every gamma).
    """

    shape: tuple[int, ...]
    cells: IntArray
    values: FloatArray

    @classmethod
    def of(cls, dense: FloatArray) -> "CellValues":
        """The nonzero cells of ``dense``."""
        cells = np.flatnonzero(dense)
        return cls(tuple(int(n) for n in dense.shape), cells.astype(np.int64), dense.ravel()[cells])

    def indices(self) -> tuple[IntArray, IntArray]:
        """Each cell's row and column (of a 2-D ``shape``): for device powers, its device and slot."""
        rows, columns = np.divmod(self.cells, self.shape[1])
        return rows, columns

    def dense(self) -> FloatArray:
        """The whole array."""
        out = np.zeros(self.shape)
        out.flat[self.cells] = self.values
        return out


@dataclass(frozen=True)
class Solution:
    """Optimal decision variables for one gamma (spec §3), as dense arrays.

    Attributes
    ----------
    gamma
        The behavioural weight the QP was solved for.
    curtailment_kw
        ``c[i, t]``, shape ``(U, T)``.
    device_power
        ``y[d, t]`` on each device's window (:attr:`device_power_kw` is the dense ``(D, T)`` array).
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
    device_power: CellValues
    flex_credit_kw: FloatArray
    increase_kw: FloatArray
    objective: float
    link_dual: FloatArray | None
    status: str
    solver: str
    solve_seconds: float
    solver_seconds: float
    iterations: int = 0

    @property
    def device_power_kw(self) -> FloatArray:
        """``y[d, t]``, shape ``(D, T)``, zero outside each device's window."""
        return self.device_power.dense()
