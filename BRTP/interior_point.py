"""A primal-dual interior-point method that solves the B-RTP QP through a T x T system.

The QP of :mod:`BRTP.matrices` has diagonal costs and three families of rows:
one energy row per device, one balance row and (where a request exists) one
link row per slot. In a Newton step every variable is eliminated through its
diagonal ``H = Q + Z_l/S_l + Z_u/S_u``, leaving the normal matrix
``M = A H^-1 A^T`` over the rows, whose energy block is diagonal. Eliminating
it too (a Schur complement) leaves a dense system over the slots only::

    S = [[M_bb - V^T diag(1/M_ee) V,  M_bl],
         [M_lb,                       M_ll]]          (T + R unknowns)

where ``V[d, t] = -dt / H[y[d, t]]``: each device adds one outer product over
its own window. So one iteration is a few vectorised passes over the columns,
one ``D x T`` product and a Cholesky factorisation of size ``T + R`` (at most
``2T``) -- linear in prosumers, whatever their number (``docs/model.md`` §5).
Mehrotra's predictor-corrector drives the iterations; every equation is
solved exactly, so the method does not lose feasibility at large sizes the
way an iterative or regularised solve can.

The problem is solved in scaled units (kW per prosumer, euros per prosumer
and slot), which keeps costs, bounds and duals near 1 whatever the portfolio
size, and mapped back. Every gamma starts from the same cold point, not from the
previous gamma's answer: where devices are interchangeable the optimum is a face,
not a point, and KPIs such as ``FLEX_Q`` depend on where in it a solve lands; a
cold start lands on the same point whichever gammas a worker solved before, so a
job's numbers do not depend on how it was split across workers (measured cost:
3 000 prosumers x 11 gammas, 531 instead of 401 iterations, 4.8 instead of 3.8 s).
"""

from dataclasses import dataclass

import numpy as np
import scipy.linalg as la
from numpy.typing import NDArray

from BRTP.errors import SolverError
from BRTP.matrices import QpMatrices, VariableBlock, assemble_qp
from BRTP.problem import PricingProblem

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: Fraction of the way to the boundary a step may go.
STEP_TO_BOUNDARY = 0.995
#: Primal regularisation added to the Newton system's diagonal (scaled units).
REGULARIZATION = 1e-9
#: A device whose energy is within this relative distance of its window's room at full power is fixed.
FIXED_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PrimalDual:
    """A point of the method, in the problem's own (unscaled) units.

    ``x``: every column (the layout of :class:`~BRTP.matrices.QpLayout`);
    ``row_duals``: ``lambda`` of the energy rows, then balance rows, then link
    rows, with the convention ``Qx + q - A^T lambda - z_l + z_u = 0``.
    """

    x: FloatArray
    row_duals: FloatArray
    iterations: int


class SlotSchurIpm:
    """The interior-point method for one problem; :meth:`solve` per gamma."""

    def __init__(self, problem: PricingProblem, tolerance: float = 1e-12, max_iter: int = 150) -> None:
        self.qp = qp = assemble_qp(problem)
        self.tolerance = tolerance
        self.max_iter = max_iter
        portfolio = problem.portfolio
        n_time, n_devices, dt = portfolio.n_slots, portfolio.devices.count, portfolio.dt
        layout = qp.layout
        link_slots = layout.link_slots
        n_link = len(link_slots)
        # Scales: kW per prosumer (columns and rows), euros per prosumer and slot (objective).
        users = max(portfolio.n_users, 1)
        self.kw = float(max(np.abs(portfolio.desired_load_kw()).sum() / (users * n_time), 1e-3))
        self.cost = float(max(problem.price_weight * self.kw * self.kw * users * dt, 1e-9))
        # Presolve: a device whose energy fills its window at full power has one schedule (y = Pmax
        # throughout) and no interior; its energy dual would be unbounded. It leaves the system: its
        # power moves to the balance rows' right-hand side.
        devices = portfolio.devices
        fixed_device = devices.energy_kwh(dt) >= devices.room_kwh(dt) * (1.0 - FIXED_TOLERANCE)
        y_full = next(b for b in layout.blocks if b.name == "y")
        y_device = _device_index(y_full)
        fixed_cell = fixed_device[y_device]
        self.y_fixed_value = y_full.upper[fixed_cell]
        self.y_fixed_slot = y_full.slot[fixed_cell]
        self.y_fixed_device = y_device[fixed_cell]
        free_devices = np.flatnonzero(~fixed_device)
        new_index = np.full(devices.count, -1)
        new_index[free_devices] = np.arange(len(free_devices))
        y_free = _subset(y_full, ~fixed_cell, new_index)
        self.y_position = np.arange(layout.columns("y").start, layout.columns("y").stop)  # in the QP's columns
        self.y_free_position, self.y_fixed_position = self.y_position[~fixed_cell], self.y_position[fixed_cell]
        self.free_devices, n_devices = free_devices, len(free_devices)
        blocks = [layout.blocks[0], y_free, *layout.blocks[2:], _slack_block(link_slots, n_time)]
        self.n_cols = sum(b.size for b in blocks)
        self.n_rows = n_devices + n_time + n_link
        self.n_devices, self.n_time, self.n_link, self.dt = n_devices, n_time, n_link, dt
        column = np.arange(self.n_cols)
        start, parts = 0, {}
        for block in blocks:
            parts[block.name] = column[start : start + block.size]
            start += block.size
        cat = np.concatenate
        self.quad = cat([b.quadratic for b in blocks]) * self.kw**2 / self.cost
        self.q_base = cat([b.cost for b in blocks]) * self.kw / self.cost
        self.q_gamma = cat([b.gamma_cost for b in blocks]) * self.kw / self.cost
        self.lower = cat([b.lower for b in blocks]) / self.kw
        self.upper = cat([b.upper for b in blocks]) / self.kw
        self.has_l = np.isfinite(self.lower)
        self.has_u = np.isfinite(self.upper)
        row_of_link = np.full(n_time, -1)
        row_of_link[link_slots] = np.arange(n_link)
        balance_cols, balance_rows, balance_coef = [], [], []
        link_cols, link_rows, link_coef = [], [], []
        for block in blocks:
            cols = parts[block.name]
            if block.balance:
                balance_cols.append(cols)
                balance_rows.append(block.slot)
                balance_coef.append(np.full(block.size, block.balance))
            if block.link:
                linked = row_of_link[block.slot] >= 0
                link_cols.append(cols[linked])
                link_rows.append(row_of_link[block.slot[linked]])
                link_coef.append(np.full(int(linked.sum()), block.link))
        self.b_cols, self.b_rows, self.b_coef = cat(balance_cols), cat(balance_rows), cat(balance_coef)
        self.l_cols, self.l_rows, self.l_coef = cat(link_cols), cat(link_rows), cat(link_coef)
        y_block = next(b for b in blocks if b.name == "y")
        self.y_cols, self.y_dev, self.y_slot = parts["y"], _device_index(y_block), y_block.slot
        self.l_of_slot = parts["L"]  # the aggregate load column of each slot
        self._parts = parts
        self.link_slots = link_slots
        # Right-hand sides, scaled: energy (kWh -> kW per prosumer x h), balance, link.
        fixed_load = np.bincount(self.y_fixed_slot, self.y_fixed_value, minlength=n_time)
        balance_rhs = qp.b_eq[devices.count :] + fixed_load
        self.b = cat([qp.b_eq[: devices.count][free_devices], balance_rhs, qp.h_ineq]) / self.kw

    def n_cols_of(self, name: str) -> IntArray:
        """The columns of one block (``n``, ``s``, ...)."""
        return self._parts[name]

    # ------------------------------------------------------------------ the rows A x and A^T lambda

    def _a(self, x: FloatArray) -> FloatArray:
        """``A x`` over energy, balance and link rows."""
        energy = np.bincount(self.y_dev, x[self.y_cols] * self.dt, minlength=self.n_devices)
        balance = np.bincount(self.b_rows, x[self.b_cols] * self.b_coef, minlength=self.n_time)
        link = np.bincount(self.l_rows, x[self.l_cols] * self.l_coef, minlength=self.n_link)
        return np.concatenate([energy, balance, link])

    def _at(self, lam: FloatArray) -> FloatArray:
        """``A^T lambda`` over the columns."""
        energy, balance, link = np.split(lam, [self.n_devices, self.n_devices + self.n_time])
        out = np.zeros(self.n_cols)
        # A column enters at most one row of each family, so plain fancy-index accumulation is exact here.
        out[self.y_cols] += self.dt * energy[self.y_dev]
        out[self.b_cols] += self.b_coef * balance[self.b_rows]
        out[self.l_cols] += self.l_coef * link[self.l_rows]
        return out

    # ------------------------------------------------------------------ the Newton system

    def _factor(self, d: FloatArray) -> tuple[tuple[FloatArray, bool], FloatArray, FloatArray]:
        """Cholesky factor of the slot system ``S`` for ``H^-1 = d``; also ``M_ee`` and ``V``."""
        dt, n_time, n_link = self.dt, self.n_time, self.n_link
        m_ee = np.bincount(self.y_dev, dt * dt * d[self.y_cols], minlength=self.n_devices)
        v = np.zeros((self.n_devices, n_time))
        v[self.y_dev, self.y_slot] = -dt * d[self.y_cols]
        m_bb = np.bincount(self.b_rows, self.b_coef**2 * d[self.b_cols], minlength=n_time)
        m_ll = np.bincount(self.l_rows, self.l_coef**2 * d[self.l_cols], minlength=n_link)
        s = np.zeros((n_time + n_link, n_time + n_link))
        safe = np.where(m_ee > 0, m_ee, 1.0)
        s[:n_time, :n_time] = np.diag(m_bb) - (v / safe[:, None]).T @ v
        link_l = d[self.l_of_slot[self.link_slots]]  # the L column is in both rows of its slot
        s[self.link_slots, n_time + np.arange(n_link)] = link_l
        s[n_time + np.arange(n_link), self.link_slots] = link_l
        s[n_time:, n_time:] += np.diag(m_ll)
        try:
            factor = la.cho_factor(s, lower=True, check_finite=False)
        except la.LinAlgError:  # nearly singular: a tiny diagonal shift keeps the step well defined
            s += np.eye(len(s)) * 1e-14 * max(1.0, float(np.abs(np.diag(s)).max()))
            factor = la.cho_factor(s, lower=True, check_finite=False)
        return factor, safe, v

    def _solve_rows(
        self, factor: tuple[FloatArray, bool], m_ee: FloatArray, v: FloatArray, r: FloatArray
    ) -> FloatArray:
        """``M dlam = r`` by eliminating the energy rows, then the slot system."""
        r_e, r_s = r[: self.n_devices], r[self.n_devices :].copy()
        r_s[: self.n_time] -= v.T @ (r_e / m_ee)
        slots = la.cho_solve(factor, r_s, check_finite=False)
        energy = (r_e - v @ slots[: self.n_time]) / m_ee
        return np.concatenate([energy, slots])

    # ------------------------------------------------------------------ the method

    def _start(self, q: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """A strictly interior point, the same for every gamma: box midpoints, the aggregate from the balance rows."""
        lower, upper, has_l, has_u = self.lower, self.upper, self.has_l, self.has_u
        boxed = has_l & has_u
        x = np.zeros(self.n_cols)
        x[boxed] = 0.5 * (lower[boxed] + upper[boxed])
        # The aggregate load from the balance rows, then the link rows' increase and slack around it.
        balance = self._a(x)[self.n_devices : self.n_devices + self.n_time]
        x[self.l_of_slot] = self.b[self.n_devices : self.n_devices + self.n_time] - balance
        link = self._a(x)[self.n_devices + self.n_time :]
        gap = self.b[self.n_devices + self.n_time :] - link
        margin = 0.1 * (1.0 + np.abs(self.b[self.n_devices + self.n_time :]))
        x[self.n_cols_of("n")] = np.maximum(-gap, 0.0) + margin
        x[self.n_cols_of("s")] = np.maximum(gap, 0.0) + margin
        # Centred: every bound's slack times its dual starts at the same value.
        mu = max(1.0, float(np.abs(q).max(initial=0.0)))
        zl = np.where(has_l, mu / np.where(has_l, x - lower, 1.0), 0.0)
        zu = np.where(has_u, mu / np.where(has_u, upper - x, 1.0), 0.0)
        return x, np.zeros(self.n_rows), zl, zu

    def solve(self, gamma: float) -> PrimalDual:
        """Solve ``Phi_gamma`` to the tolerance; raises :class:`SolverError` if it does not converge."""
        q = self.q_base + gamma * self.q_gamma
        x, lam, zl, zu = self._start(q)
        lower, upper, has_l, has_u, quad = self.lower, self.upper, self.has_l, self.has_u, self.quad
        m = int(has_l.sum() + has_u.sum())
        x = np.clip(x, np.where(has_l, lower, -np.inf), np.where(has_u, upper, np.inf))
        b_norm = 1.0 + float(np.abs(self.b).max(initial=0.0))
        # The bound slacks are iterates of their own: recomputing u - x near a bound would cancel to 0.
        sl = np.where(has_l, x - lower, 1.0)
        su = np.where(has_u, upper - x, 1.0)
        for iteration in range(1, self.max_iter + 1):
            r_p = self.b - self._a(x)
            at_lam = self._at(lam)
            r_d = quad * x + q - at_lam - zl + zu
            mu = float((sl * zl).sum() + (su * zu).sum()) / max(m, 1)
            d_norm = 1.0 + max(float(np.abs(quad * x).max()), float(np.abs(q).max()), float(np.abs(at_lam).max()))
            objective = float(0.5 * x @ (quad * x) + q @ x)
            if (
                np.abs(r_p).max() <= self.tolerance * b_norm
                and np.abs(r_d).max() <= self.tolerance * d_norm
                and mu * max(m, 1) <= self.tolerance * (1.0 + abs(objective))
            ):
                return self._unscaled(x, lam, iteration - 1)
            # REGULARIZATION keeps H away from 0 for variables inside their bounds at zero reduced cost
            # (interchangeable devices, partly used steps); residuals stay exact, so the limit is the same.
            h = quad + np.where(has_l, zl / sl, 0.0) + np.where(has_u, zu / su, 0.0)
            d = 1.0 / (h + REGULARIZATION)
            factor, m_ee, v = self._factor(d)

            system = _NewtonSystem(self, r_d, r_p, sl, su, zl, zu, d, factor, m_ee, v)
            dx, d_lam, d_zl, d_zu = system.direction(-sl * zl, -su * zu)
            alpha = _step(sl, su, zl, zu, dx, d_zl, d_zu, has_l, has_u, 1.0)
            mu_aff = float(
                ((sl + alpha * dx) * (zl + alpha * d_zl))[has_l].sum()
                + ((su - alpha * dx) * (zu + alpha * d_zu))[has_u].sum()
            ) / max(m, 1)
            sigma = (mu_aff / mu) ** 3 if mu > 0 else 0.0
            rc_l = -sl * zl - dx * d_zl + sigma * mu
            rc_u = -su * zu + dx * d_zu + sigma * mu
            dx, d_lam, d_zl, d_zu = system.direction(rc_l, rc_u)
            alpha = _step(sl, su, zl, zu, dx, d_zl, d_zu, has_l, has_u, STEP_TO_BOUNDARY)
            x, lam = x + alpha * dx, lam + alpha * d_lam
            zl, zu = zl + alpha * d_zl, zu + alpha * d_zu
            sl = np.where(has_l, sl + alpha * dx, 1.0)
            su = np.where(has_u, su - alpha * dx, 1.0)
        raise SolverError(f"the interior-point method did not converge in {self.max_iter} iterations for gamma={gamma}")

    def _unscaled(self, x: FloatArray, lam: FloatArray, iterations: int) -> PrimalDual:
        """The point in the QP's own columns and rows and units, fixed devices put back.

        A fixed device's energy dual is the smallest that prices every one of its
        slots at most at its marginal cost (so its power may sit at the cap).
        """
        qp = self.qp
        n_free_rows = len(self.free_devices)
        full = np.zeros(len(qp.p_diag))
        c_cols = np.arange(qp.layout.columns("c").start, qp.layout.columns("c").stop)
        rest = np.arange(qp.layout.columns("z").start, len(qp.p_diag))
        order = np.concatenate([c_cols, self.y_free_position, rest])
        full[order] = x[: len(order)] * self.kw
        full[self.y_fixed_position] = self.y_fixed_value
        lam = lam * self.cost / self.kw
        energy = np.zeros(self.qp.layout.blocks[1].shape[0])
        energy[self.free_devices] = lam[:n_free_rows]
        balance = lam[n_free_rows : n_free_rows + self.n_time]
        if len(self.y_fixed_device):
            y_cost = qp.q_base[self.y_fixed_position]
            need = (y_cost + balance[self.y_fixed_slot]) / self.dt
            fixed_dual = np.full(len(energy), -np.inf)
            np.maximum.at(fixed_dual, self.y_fixed_device, need)
            energy = np.where(np.isfinite(fixed_dual), fixed_dual, energy)
        return PrimalDual(full, np.concatenate([energy, lam[n_free_rows:]]), iterations)

    @property
    def matrices(self) -> QpMatrices:
        """The assembled QP (for certificates and the cross-check)."""
        return self.qp


@dataclass(frozen=True)
class _NewtonSystem:
    """One iteration's factorised Newton system and the point it was built at."""

    method: SlotSchurIpm
    r_d: FloatArray
    r_p: FloatArray
    sl: FloatArray
    su: FloatArray
    zl: FloatArray
    zu: FloatArray
    d: FloatArray
    factor: tuple[FloatArray, bool]
    m_ee: FloatArray
    v: FloatArray

    def direction(self, rc_l: FloatArray, rc_u: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """The step for complementarity targets ``rc_l``, ``rc_u``: ``(dx, dlambda, dz_l, dz_u)``.

        ``H dx - A'dlambda = -r_d + rc_l/s_l - rc_u/s_u`` and ``A dx = r_p``, solved as
        ``A H^-1 A' dlambda = r_p - A H^-1 g``; then the bound duals from complementarity.
        """
        method, has_l, has_u = self.method, self.method.has_l, self.method.has_u
        g = -self.r_d + np.where(has_l, rc_l / self.sl, 0.0) - np.where(has_u, rc_u / self.su, 0.0)
        d_lam = method._solve_rows(self.factor, self.m_ee, self.v, self.r_p - method._a(self.d * g))
        dx = self.d * (g + method._at(d_lam))
        d_zl = np.where(has_l, (rc_l - self.zl * dx) / self.sl, 0.0)
        d_zu = np.where(has_u, (rc_u + self.zu * dx) / self.su, 0.0)
        return dx, d_lam, d_zl, d_zu


def _step(
    sl: FloatArray,
    su: FloatArray,
    zl: FloatArray,
    zu: FloatArray,
    dx: FloatArray,
    d_zl: FloatArray,
    d_zu: FloatArray,
    has_l: NDArray[np.bool_],
    has_u: NDArray[np.bool_],
    fraction: float,
) -> float:
    """The largest step in (0, 1] that keeps every slack and bound dual positive, times ``fraction``."""
    ratios = [1.0 / fraction]
    for value, change, mask in ((sl, dx, has_l), (su, -dx, has_u), (zl, d_zl, has_l), (zu, d_zu, has_u)):
        falling = mask & (change < 0)
        if falling.any():
            ratios.append(float((-value[falling] / change[falling]).min()))
    return min(1.0, fraction * min(ratios))


def _device_index(block: VariableBlock) -> IntArray:
    """The device of each cell of a per-device block (the device powers ``y``)."""
    if block.device is None:
        raise ValueError(f"variable block {block.name!r} is not indexed by device")
    return block.device


def _subset(block: VariableBlock, keep: NDArray[np.bool_], new_device: IntArray) -> VariableBlock:
    """The cells ``keep`` of the device-power block, devices renumbered by ``new_device``."""
    device = _device_index(block)
    return VariableBlock(
        name=block.name,
        shape=block.shape,
        cells=block.cells[keep],
        quadratic=block.quadratic[keep],
        cost=block.cost[keep],
        gamma_cost=block.gamma_cost[keep],
        lower=block.lower[keep],
        upper=block.upper[keep],
        slot=block.slot[keep],
        balance=block.balance,
        link=block.link,
        device=new_device[device[keep]].astype(np.int64),
    )


def _slack_block(link_slots: IntArray, n_time: int) -> VariableBlock:
    """The link rows' slack ``s[t] >= 0``: ``sum_k z - n + L + s = Ld`` (the inequality as an equality)."""
    size = len(link_slots)
    return VariableBlock(
        name="s",
        shape=(n_time,),
        cells=link_slots.astype(np.int64),
        quadratic=np.zeros(size),
        cost=np.zeros(size),
        gamma_cost=np.zeros(size),
        lower=np.zeros(size),
        upper=np.full(size, np.inf),
        slot=link_slots.astype(np.int64),
        link=1.0,
    )
