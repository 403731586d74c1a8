"""The B-RTP QP assembled directly as sparse matrices (spec §3-§5): the production formulation.

It has the shape of the readable Pyomo model in :mod:`BRTP.model`: one block
builder per concern, in the same order (aggregate load, curtailment,
shifting, flexibility), each returning a :class:`VariableBlock` that says
where its columns are, what they cost and which coupling rows they enter.
:func:`assemble_qp` only stacks the blocks. Every builder is vectorised
numpy, so assembly stays a small share of the solve at any size.

Variables (column blocks, in order)::

    c[i, t]  curtailment, only where cmax[i, t] > 0        bounds [0, cmax]
    y[d, t]  device power, only on s_d <= t <= l_d          bounds [0, Pmax_d]
    z[t, k]  flex credit, only on steps of positive width   bounds [0, w[t, k]]
    n[t]     net increase, only on slots with a request     bounds [0, inf)
    L[t]     aggregate load                                 free

Rows::

    energy   sum_t y[d, t] * dt = E_d                       one per device
    balance  L[t] + sum_i c[i, t] - sum_d y[d, t] = sum_i xc[i, t]   one per slot
    link     sum_k z[t, k] - n[t] + L[t] <= Ld[t]          one per slot with a request

The aggregate load is its own variable so that every quadratic term is
diagonal: ``P = diag(kappa * dt on c, (1+pr) * a * dt on L)``.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from BRTP.problem import PricingProblem
from BRTP.solution import CellValues

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Curtailment cells with cmax below this (kW) are not variables.
MIN_CURTAILMENT_KW = 1e-9


@dataclass(frozen=True)
class VariableBlock:
    """One family of variables: where its cells are, what they cost, which rows they enter.

    Attributes
    ----------
    name
        ``c``, ``y``, ``z``, ``n`` or ``L`` (spec §3).
    shape
        Shape of the family's dense array (``(U, T)``, ``(D, T)``, ``(T, K)``, ``(T,)``).
    cells
        Flat indices into that dense array of the cells that are variables.
    quadratic, cost, gamma_cost
        Per column: the diagonal of ``P``, the linear cost without gamma and
        the linear cost per unit of gamma.
    lower, upper
        Per column bounds.
    slot
        Per column, the slot ``t`` whose balance and link rows it enters.
    balance, link
        Its coefficient in the slot's balance row and link row (0: not in it).
    device
        Per column, the device whose energy row it enters (``y`` only; else empty).
    """

    name: str
    shape: tuple[int, ...]
    cells: IntArray
    quadratic: FloatArray
    cost: FloatArray
    gamma_cost: FloatArray
    lower: FloatArray
    upper: FloatArray
    slot: IntArray
    balance: float = 0.0
    link: float = 0.0
    device: IntArray | None = None

    @property
    def size(self) -> int:
        """Number of columns."""
        return len(self.cells)

    def cell_values(self, values: FloatArray) -> CellValues:
        """This block's column values on its cells of its dense array."""
        return CellValues(self.shape, self.cells, values)


def _block(name: str, shape: tuple[int, ...], cells: IntArray, slot: IntArray, **values: object) -> VariableBlock:
    """A block with zero costs and ``[0, inf)`` bounds unless ``values`` says otherwise."""
    size = len(cells)
    defaults: dict[str, object] = {
        "quadratic": np.zeros(size),
        "cost": np.zeros(size),
        "gamma_cost": np.zeros(size),
        "lower": np.zeros(size),
        "upper": np.full(size, np.inf),
    }
    defaults.update(values)
    return VariableBlock(name=name, shape=shape, cells=cells.astype(np.int64), slot=slot.astype(np.int64), **defaults)  # type: ignore[arg-type]


def aggregate_load_block(problem: PricingProblem) -> VariableBlock:
    """``L[t]`` free, cost ``1/2 (1+pr) a dt L^2`` (spec §5); enters the balance and link rows."""
    n_time, dt = problem.portfolio.n_slots, problem.portfolio.dt
    slots = np.arange(n_time)
    return _block(
        "L",
        (n_time,),
        slots,
        slots,
        quadratic=np.full(n_time, problem.price_weight * dt),
        lower=np.full(n_time, -np.inf),
        balance=1.0,
        link=1.0,
    )


def curtailment_block(problem: PricingProblem) -> VariableBlock:
    """``c[i, t] in [0, cmax]``, cost ``1/2 kappa dt c^2`` ([compat] kappa, spec §5); balance coefficient +1."""
    portfolio = problem.portfolio
    cells = np.flatnonzero(portfolio.max_curtailment_kw > MIN_CURTAILMENT_KW)
    return _block(
        "c",
        (portfolio.n_users, portfolio.n_slots),
        cells,
        cells % portfolio.n_slots,
        quadratic=portfolio.curtailment_slope.flat[cells] * portfolio.dt,
        upper=portfolio.max_curtailment_kw.flat[cells],
        balance=1.0,
    )


def shifting_block(problem: PricingProblem) -> VariableBlock:
    """``y[d, t] in [0, Pmax_d]`` on ``s_d <= t <= l_d``, cost ``delta_d (t - f_d)^+ dt * dt`` ([choice], spec §5).

    Enters its slot's balance row with -1 and its device's energy row with ``dt``.
    """
    portfolio = problem.portfolio
    devices, n_time, dt = portfolio.devices, portfolio.n_slots, portfolio.dt
    cells = np.flatnonzero(devices.window_mask(n_time))
    device, slot = np.divmod(cells, n_time)
    delay = devices.delay_hours(n_time, dt)
    return _block(
        "y",
        (devices.count, n_time),
        cells,
        slot,
        cost=devices.delay_price[device] * delay.flat[cells] * dt,
        upper=devices.power_cap_kw[device],
        balance=-1.0,
        device=device.astype(np.int64),
    )


def flex_credit_block(problem: PricingProblem) -> VariableBlock:
    """``z[t, k] in [0, w[t, k]]`` on positive-width steps, cost ``-gamma pi[t, k] dt z`` (spec §4-§5); link +1."""
    request = problem.flex_request
    widths = request.widths_kw
    n_steps = widths.shape[1]
    cells = np.flatnonzero(widths > 0)
    return _block(
        "z",
        widths.shape,
        cells,
        cells // max(n_steps, 1),
        gamma_cost=-request.prices.flat[cells] * problem.portfolio.dt,
        upper=widths.flat[cells],
        link=1.0,
    )


def net_increase_block(problem: PricingProblem) -> VariableBlock:
    """``n[t] >= 0`` on slots with a request, cost ``gamma pi1[t] dt n`` ([choice], spec §4); link -1."""
    request = problem.flex_request
    slots = np.flatnonzero((request.widths_kw > 0).any(axis=1))
    return _block(
        "n",
        (problem.portfolio.n_slots,),
        slots,
        slots,
        gamma_cost=request.first_price[slots] * problem.portfolio.dt,
        link=-1.0,
    )


@dataclass(frozen=True)
class Columns:
    """A solution vector split into the dense arrays of each family (spec §3)."""

    c: FloatArray
    y: FloatArray
    z: FloatArray
    n: FloatArray
    L: FloatArray


@dataclass(frozen=True)
class QpLayout:
    """The column blocks in order, and the slots that have a link row."""

    blocks: tuple[VariableBlock, ...]
    link_slots: IntArray
    n_time: int

    @property
    def link_row_of_slot(self) -> IntArray:
        """Per slot, the index of its link row, or -1 for a slot without a request."""
        rows = np.full(self.n_time, -1, dtype=np.int64)
        rows[self.link_slots] = np.arange(len(self.link_slots))
        return rows

    def columns(self, name: str) -> slice:
        """The column range of block ``name``."""
        start = 0
        for block in self.blocks:
            if block.name == name:
                return slice(start, start + block.size)
            start += block.size
        raise KeyError(name)

    def block(self, name: str) -> VariableBlock:
        """The block ``name``."""
        for block in self.blocks:
            if block.name == name:
                return block
        raise KeyError(name)

    def cell_values(self, x: FloatArray, name: str) -> CellValues:
        """Block ``name`` of the column vector ``x``, on its cells."""
        return self.block(name).cell_values(x[self.columns(name)])

    def dense(self, x: FloatArray, name: str) -> FloatArray:
        """Block ``name`` of the column vector ``x`` as its dense array (zeros off its cells)."""
        return self.cell_values(x, name).dense()

    def unpack(self, x: FloatArray) -> Columns:
        """Split a column vector into dense ``c, y, z, n, L`` arrays."""
        return Columns(**{block.name: self.dense(x, block.name) for block in self.blocks})


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
        """``Phi_gamma(x)`` (spec §5)."""
        return float(0.5 * x @ (self.p_diag * x) + self.linear_costs(gamma) @ x)


def assemble_qp(problem: PricingProblem) -> QpMatrices:
    """Stack the blocks of spec §3-§5 into sparse matrices (see the module docstring for rows and columns)."""
    portfolio = problem.portfolio
    n_time, dt, n_dev = portfolio.n_slots, portfolio.dt, portfolio.devices.count
    blocks = (
        curtailment_block(problem),
        shifting_block(problem),
        flex_credit_block(problem),
        net_increase_block(problem),
        aggregate_load_block(problem),
    )
    link_slots = blocks[3].cells
    layout = QpLayout(blocks=blocks, link_slots=link_slots, n_time=n_time)
    n_cols = sum(b.size for b in blocks)

    def stacked(field: str) -> FloatArray:
        return np.concatenate([getattr(b, field) for b in blocks])

    row_of_link = layout.link_row_of_slot
    eq_rows, eq_cols, eq_vals, in_rows, in_cols, in_vals = ([] for _ in range(6))
    for block in blocks:
        columns = np.arange(n_cols)[layout.columns(block.name)]
        if block.device is not None:  # energy: sum_t y[d, t] * dt = E_d
            eq_rows.append(block.device)
            eq_cols.append(columns)
            eq_vals.append(np.full(block.size, dt))
        if block.balance:  # balance: L[t] + sum_i c[i, t] - sum_d y[d, t] = sum_i xc[i, t]
            eq_rows.append(n_dev + block.slot)
            eq_cols.append(columns)
            eq_vals.append(np.full(block.size, block.balance))
        if block.link:  # link: sum_k z[t, k] - n[t] + L[t] <= Ld[t], slots with a request only
            linked = row_of_link[block.slot] >= 0
            in_rows.append(row_of_link[block.slot[linked]])
            in_cols.append(columns[linked])
            in_vals.append(np.full(int(linked.sum()), block.link))
    a_eq = sp.csc_matrix(
        (np.concatenate(eq_vals), (np.concatenate(eq_rows), np.concatenate(eq_cols))), shape=(n_dev + n_time, n_cols)
    )
    g_ineq = sp.csc_matrix(
        (np.concatenate(in_vals), (np.concatenate(in_rows), np.concatenate(in_cols))), shape=(len(link_slots), n_cols)
    )
    return QpMatrices(
        layout=layout,
        p_diag=stacked("quadratic"),
        q_base=stacked("cost"),
        q_gamma=stacked("gamma_cost"),
        a_eq=a_eq,
        b_eq=np.concatenate([portfolio.devices.energy_kwh(dt), portfolio.curtailable_kw.sum(axis=0)]),
        g_ineq=g_ineq,
        h_ineq=portfolio.desired_load_kw.sum(axis=0)[link_slots],
        lower=stacked("lower"),
        upper=stacked("upper"),
        dt=dt,
    )
