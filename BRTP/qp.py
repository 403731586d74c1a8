"""The B-RTP QP assembled directly as sparse matrices (spec §3-§5), for PIQP.

This is the production formulation: every block is built with vectorised
numpy/scipy, so assembly stays a small share of the solve at 3000 users. The
readable Pyomo formulation in :mod:`BRTP.model` is the reference it must agree
with (tests compare both on random portfolios).

Variables, in column order::

    c[i, t]  curtailment, only where cmax[i, t] > 0        bounds [0, cmax]
    y[d, t]  device power, only on s_d <= t <= l_d          bounds [0, Pmax_d]
    z[t, k]  flex credit, only on steps of positive width   bounds [0, w[t, k]]
    n[t]     net increase, only on slots with a request     bounds [0, inf)
    L[t]     aggregate load                                 free

The aggregate load is its own variable so that every quadratic term is
diagonal: ``P = diag(kappa * dt on c, (1+pr) * a * dt on L)``.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from BRTP.data.portfolio import FlexRequest, Portfolio

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Curtailment cells with cmax below this (kW) are not variables.
MIN_CURTAILMENT_KW = 1e-9


@dataclass(frozen=True)
class QpLayout:
    """Where each family of variables sits in the column vector.

    ``*_cells`` are flat indices into the dense array of that family
    (``(U, T)`` for c, ``(D, T)`` for y, ``(T, K)`` for z); ``n_slots`` are the
    slots that have an ``n`` variable and a flexibility-link row.
    """

    shape_c: tuple[int, int]
    shape_y: tuple[int, int]
    shape_z: tuple[int, int]
    c_cells: IntArray
    y_cells: IntArray
    z_cells: IntArray
    n_slots: IntArray
    n_time: int

    @property
    def offsets(self) -> tuple[int, int, int, int, int, int]:
        """Start column of c, y, z, n, L and the total column count."""
        c0 = 0
        y0 = c0 + len(self.c_cells)
        z0 = y0 + len(self.y_cells)
        n0 = z0 + len(self.z_cells)
        l0 = n0 + len(self.n_slots)
        return c0, y0, z0, n0, l0, l0 + self.n_time

    def unpack(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """Split a column vector into dense ``c, y, z, n, L`` arrays."""
        c0, y0, z0, n0, l0, end = self.offsets
        c = np.zeros(self.shape_c)
        c.flat[self.c_cells] = x[c0:y0]
        y = np.zeros(self.shape_y)
        y.flat[self.y_cells] = x[y0:z0]
        z = np.zeros(self.shape_z)
        z.flat[self.z_cells] = x[z0:n0]
        n = np.zeros(self.n_time)
        n[self.n_slots] = x[n0:l0]
        return c, y, z, n, x[l0:end].copy()


@dataclass(frozen=True)
class QpMatrices:
    """``min 1/2 x'Px + (q_base + gamma * q_gamma)'x`` s.t. ``Ax = b``, ``Gx <= h``, ``lb <= x <= ub``."""

    layout: QpLayout
    p_diag: FloatArray
    q_base: FloatArray
    q_gamma: FloatArray
    a_eq: sp.csc_matrix
    b_eq: FloatArray
    g_ineq: sp.csc_matrix
    h_ineq: FloatArray
    lower: FloatArray
    upper: FloatArray
    dt: float

    def linear_costs(self, gamma: float) -> FloatArray:
        """The linear cost vector for ``gamma``: only z and n costs depend on it (spec §5)."""
        return self.q_base + gamma * self.q_gamma

    def objective(self, x: FloatArray, gamma: float) -> float:
        """``Phi_gamma(x)``."""
        return float(0.5 * x @ (self.p_diag * x) + self.linear_costs(gamma) @ x)


def assemble_qp(
    portfolio: Portfolio,
    flex_request: FlexRequest,
    profit_margin: float,
    energy_cost: float,
) -> QpMatrices:
    """Assemble the B-RTP QP of spec §5 as sparse matrices.

    Parameters
    ----------
    portfolio, flex_request
        Validated inputs on the same slot grid.
    profit_margin
        ``pr`` as a fraction (0.2 = 20 %).
    energy_cost
        ``a`` in EUR/kW^2h.
    """
    n_users, n_time, dt = portfolio.n_users, portfolio.n_slots, portfolio.dt
    devices = portfolio.devices
    n_dev = devices.count
    widths = flex_request.widths_kw
    n_steps = widths.shape[1]

    c_cells = np.flatnonzero(portfolio.max_curtailment_kw > MIN_CURTAILMENT_KW)
    y_cells = np.flatnonzero(devices.window_mask(n_time))
    z_cells = np.flatnonzero(widths > 0)
    n_slots = np.flatnonzero((widths > 0).any(axis=1)) if n_steps else np.zeros(0, dtype=np.int64)
    layout = QpLayout(
        shape_c=(n_users, n_time),
        shape_y=(n_dev, n_time),
        shape_z=(n_time, n_steps),
        c_cells=c_cells.astype(np.int64),
        y_cells=y_cells.astype(np.int64),
        z_cells=z_cells.astype(np.int64),
        n_slots=n_slots.astype(np.int64),
        n_time=n_time,
    )
    c0, y0, z0, n0, l0, n_cols = layout.offsets
    c_slot = c_cells % n_time
    y_dev, y_slot = np.divmod(y_cells, n_time)
    z_slot = z_cells // max(n_steps, 1)
    c_cols = np.arange(c0, y0)
    y_cols = np.arange(y0, z0)
    z_cols = np.arange(z0, n0)
    n_cols_ = np.arange(n0, l0)
    l_cols = np.arange(l0, n_cols)

    p_diag = np.zeros(n_cols)
    p_diag[c_cols] = portfolio.curtailment_slope.flat[c_cells] * dt
    p_diag[l_cols] = (1.0 + profit_margin) * energy_cost * dt

    q_base = np.zeros(n_cols)
    delay = devices.delay_hours(n_time, dt)
    q_base[y_cols] = devices.delay_price[y_dev] * delay.flat[y_cells] * dt
    q_gamma = np.zeros(n_cols)
    q_gamma[z_cols] = -flex_request.prices.flat[z_cells] * dt
    q_gamma[n_cols_] = flex_request.first_price[n_slots] * dt

    # Equalities: energy of each device, then the aggregate-load balance per slot:
    #   sum_t y[d, t] * dt = E_d
    #   L[t] + sum_i c[i, t] - sum_d y[d, t] = sum_i xc[i, t]
    rows = np.concatenate([y_dev, n_dev + c_slot, n_dev + y_slot, n_dev + np.arange(n_time)])
    cols = np.concatenate([y_cols, c_cols, y_cols, l_cols])
    vals = np.concatenate([np.full(len(y_cols), dt), np.ones(len(c_cols)), -np.ones(len(y_cols)), np.ones(n_time)])
    a_eq = sp.csc_matrix((vals, (rows, cols)), shape=(n_dev + n_time, n_cols))
    b_eq = np.concatenate([devices.energy_kwh(dt), portfolio.curtailable_kw.sum(axis=0)])

    # Flexibility link on slots with a request: sum_k z[t, k] - n[t] + L[t] <= Ld[t].
    row_of_slot = np.full(n_time, -1)
    row_of_slot[n_slots] = np.arange(len(n_slots))
    rows = np.concatenate([row_of_slot[z_slot], np.arange(len(n_slots)), np.arange(len(n_slots))])
    cols = np.concatenate([z_cols, n_cols_, l0 + n_slots])
    vals = np.concatenate([np.ones(len(z_cols)), -np.ones(len(n_slots)), np.ones(len(n_slots))])
    g_ineq = sp.csc_matrix((vals, (rows, cols)), shape=(len(n_slots), n_cols))
    h_ineq = portfolio.desired_load_kw().sum(axis=0)[n_slots]

    lower = np.zeros(n_cols)
    lower[l_cols] = -np.inf
    upper = np.full(n_cols, np.inf)
    upper[c_cols] = portfolio.max_curtailment_kw.flat[c_cells]
    upper[y_cols] = devices.power_cap_kw[y_dev]
    upper[z_cols] = widths.flat[z_cells]
    return QpMatrices(
        layout=layout,
        p_diag=p_diag,
        q_base=q_base,
        q_gamma=q_gamma,
        a_eq=a_eq,
        b_eq=b_eq,
        g_ineq=g_ineq,
        h_ineq=h_ineq,
        lower=lower,
        upper=upper,
        dt=dt,
    )
