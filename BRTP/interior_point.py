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
its own window. So one iteration is a few passes over the columns (compiled:
:mod:`BRTP.ipm_kernels`), ``sum_d |W_d|^2`` for the devices' outer products and
a Cholesky factorisation of size ``T + R`` (at most ``2T``) -- linear in
prosumers, whatever their number (``docs/model.md`` §5). Mehrotra's
predictor-corrector drives the iterations (Gondzio's centrality correctors
were tried: 23 % fewer iterations at 10 000 prosumers, but 20 % more time, each
costing one more solve). Every equation is solved exactly, so the method does
not lose feasibility at large sizes the way an iterative or regularised solve can.

Most columns end on a bound, and say so long before the end: once the relative
gap is below :data:`SETTLED_GAP`, a curtailment or device column whose slack is
below a tenth of its bound's dual (and whose other slack is not) is fixed on
that bound and leaves the systems, its part of each row moved to the right-hand
side (a device leaves whole only if its fixed powers meet its energy exactly).
At 10 000 prosumers nearly half the columns go by the twelfth iteration, six in
seven by the end, so later iterations pass over a fraction of the data. The
certificate is still that of every column: at the end each settled column's
reduced cost must have its bound's sign (a device that left whole gets the
energy dual in the middle of the interval that allows it); if one does not, or
the settled system breaks down, the gamma is solved again keeping every column.

The problem is solved in scaled units (kW per prosumer, euros per prosumer
and slot), which keeps costs, bounds and duals near 1 whatever the portfolio
size, and mapped back. Every gamma starts from an *anchor*: the point a solve at
the anchor's gamma reaches once its relative gap is below a depth of
:data:`ANCHOR_GAPS` (the anchor's gamma on a ladder 1, 4, 16, ...:
:func:`anchor_gamma`; the depth shallower the more the costs change from the
anchor's: :func:`anchor_depth`; both chosen by the gamma alone), moved a little
inside its bounds. Only the linear costs of
the request columns change with gamma, so the anchor is already close: at
10 000 prosumers 11 gammas take 41 + 495 iterations instead of 923. The start
depends on the problem and the gamma only, never on which gammas were solved
before: where devices are interchangeable the optimum is a face, not a point,
and KPIs such as ``FLEX_Q`` depend on where in it a solve lands, so a job's
numbers must not depend on how it was split across workers (a warm start from
the previous gamma's answer would break that).
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import scipy.linalg as la
from numpy.typing import NDArray

from BRTP import ipm_kernels as kernels
from BRTP.errors import SolverError
from BRTP.matrices import QpMatrices, VariableBlock, assemble_qp
from BRTP.problem import PricingProblem

logger = logging.getLogger(__name__)
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Part = TypeVar("Part")
#: Mehrotra's complementarity targets as the passes take them: ``zl, zu, sl, su, target, dx_aff, dzl_aff, dzu_aff``.
_Targets = tuple[FloatArray, FloatArray, FloatArray, FloatArray, float, FloatArray, FloatArray, FloatArray]
#: Fraction of the way to the boundary a step may go.
STEP_TO_BOUNDARY = 0.995
#: The predictor's "previous step" (none: the kernels skip the second-order term).
NO_STEP = np.zeros(0)
#: Primal regularisation added to the Newton system's diagonal (scaled units).
REGULARIZATION = 1e-9
#: A device whose energy is within this relative distance of its window's room at full power is fixed.
FIXED_TOLERANCE = 1e-9
#: Columns that have settled on a bound leave the Newton systems once the relative gap is below this.
SETTLED_GAP = 3e-2
#: ... and the dual residual, relative to the gradient's largest term, is below this.
SETTLED_DUAL = 1e-2
#: A column settles on a bound when its slack is below this fraction of the bound's dual.
SETTLED_RATIO = 1.0 / 3.0
#: ... looked for every this many iterations, and taken out only if at least this share of the columns goes.
SETTLED_EVERY, SETTLED_SHARE = 2, 0.05
#: A device's columns all settle only if their powers meet its energy to this relative tolerance.
ENERGY_TOLERANCE = 1e-12
#: A settled column's reduced cost may have the wrong sign by this much, relative (else the gamma is solved again).
SETTLED_DUAL_TOLERANCE = 1e-9
#: How ``ipm.settled_wrongly`` says a gamma is solved again: with the wrong columns' devices kept in the systems,
#: or with every column.
AGAIN_KEPT_IN, AGAIN_EVERY_COLUMN = "without settling those columns' devices", "with every column"
#: A solve gives up when its worst relative error has not halved in this many iterations.
STALL_ITERATIONS = 30
#: An anchor is the iterate of a solve at the anchor's gamma once its relative gap is below one of these depths.
ANCHOR_GAPS = (1e-5, 1e-4, 1e-3, 1e-2)
#: A start takes the deepest anchor whose gap is at least this fraction of the relative change of its costs.
ANCHOR_GAP_PER_CHANGE = 1.0 / 600.0
#: A start whose costs changed by more than this (relative) is the cold start: the anchor knows nothing of them.
ANCHOR_CHANGE_LIMIT = 1.0


def anchor_gamma(gamma: float) -> float:
    """The gamma of the anchor a solve at ``gamma`` starts from: 1 up to 2, then the power of 4 within a factor 2.

    ``a = 4^k`` with the least ``k >= 0`` such that ``gamma <= 2 a``; so ``gamma / a`` lies in ``(1/2, 2]`` above 2.
    """
    anchor = 1.0
    while gamma > 2.0 * anchor:
        anchor *= 4.0
    return anchor


def anchor_depth(change: float) -> float | None:
    """The gap of the anchor a start whose costs changed by ``change`` (relative) takes; ``None``: start cold.

    The deepest ``g`` of :data:`ANCHOR_GAPS` with ``g >= change * ANCHOR_GAP_PER_CHANGE``
    (the shallowest if none is): the further the costs moved, the less converged,
    and so the better centred, the start must be for the iterations to move the
    devices across their boxes (from the deepest anchor, a start whose costs
    moved by a few per cent made steps of 1e-3 of the way and no progress).
    ``None`` beyond :data:`ANCHOR_CHANGE_LIMIT` (a portfolio of a few prosumers
    against a large request: a cold start takes about ten iterations there).
    """
    if change > ANCHOR_CHANGE_LIMIT:
        return None
    wanted = change * ANCHOR_GAP_PER_CHANGE
    return min((gap for gap in ANCHOR_GAPS if gap >= wanted), default=max(ANCHOR_GAPS))


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
    settled: int


@dataclass(frozen=True)
class InteriorPoint:
    """A strictly interior iterate over every one of the method's columns (scaled units).

    ``x``, ``lam`` (row duals), bound duals ``zl``, ``zu`` and slacks ``sl``, ``su``
    (``z = 0``, ``s = 1`` for a bound a column does not have).
    """

    x: FloatArray
    lam: FloatArray
    zl: FloatArray
    zu: FloatArray
    sl: FloatArray
    su: FloatArray


@dataclass(frozen=True)
class Anchor:
    """The iterate the gammas of one rung start from (those whose costs change about as much: one depth).

    ``point`` over every column, its complementarity per bound ``mu``, and the
    ``iterations`` it took from the cold start (the log's ``ipm.anchored`` counts
    those spent on it alone, without a shallower anchor's it went on from).
    """

    point: InteriorPoint
    mu: float
    iterations: int


@dataclass(frozen=True)
class SettledWrongly:
    """A solve whose settled columns did not all keep their bound.

    ``by``: the worst reduced cost of the wrong sign (``inf`` if the iterations broke down); ``why``: in words;
    ``columns``: the settled columns (the method's indices) whose reduced cost has the wrong sign at the last
    row duals (at a breakdown, possibly none).
    """

    by: float
    why: str
    columns: IntArray


class SlotSchurIpm:
    """The interior-point method for one problem; :meth:`solve` per gamma."""

    def __init__(
        self, problem: PricingProblem, qp: QpMatrices | None = None, tolerance: float = 1e-12,
        gap_tolerance: float = 1e-14, max_iter: int = 500, anchored: bool = True, threads: int = 1,
    ) -> None:  # fmt: skip
        """Set up for ``problem``; ``qp`` is its assembled QP if the caller has it already (else assembled here).

        ``tolerance`` bounds the relative residuals at the end, ``gap_tolerance`` the relative gap
        ``sum s z / (1 + |objective|)``. The gap is held two orders tighter: the objective's
        curvature in ``L`` is small, so a gap ``g`` leaves ``L`` known only to about ``sqrt(g)``
        (at 1e-12, ``L`` sat up to 1.2e-7 (relative) from PIQP's at a gap of 1e-17 on the
        cross-check's portfolios; at 1e-14, 8.7e-9 at worst). The last iterations carry few columns
        and converge fast, so this costs little: no iteration from the anchors at 3 000 to 100 000
        prosumers (11 gammas each), one in 11 cold starts at 10 000.

        ``anchored=False`` starts every gamma cold (the baseline the anchored starts are measured against).
        With ``threads > 1`` an anchor's passes run on two threads (the other gammas wait for it);
        they are the same passes in the same order whatever ``threads`` is, so are the answers.
        """
        self.qp = qp = qp if qp is not None else assemble_qp(problem)
        self.tolerance = tolerance
        self.gap_tolerance = gap_tolerance
        self.max_iter = max_iter
        self.anchored = anchored
        self.threads = threads
        self._anchors: dict[tuple[float, float], Anchor | None] = {}
        self._anchoring = threading.Lock()
        portfolio = problem.portfolio
        n_time, n_devices, dt = portfolio.n_slots, portfolio.devices.count, portfolio.dt
        layout = qp.layout
        link_slots = layout.link_slots
        n_link = len(link_slots)
        # Scales: kW per prosumer (columns and rows), euros per prosumer and slot (objective).
        users = max(portfolio.n_users, 1)
        self.kw = float(max(np.abs(portfolio.desired_load_kw).sum() / (users * n_time), 1e-3))
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
        self.q_gamma_largest = float(np.abs(self.q_gamma).max(initial=0.0))
        self.lower = cat([b.lower for b in blocks]) / self.kw
        self.upper = cat([b.upper for b in blocks]) / self.kw
        self.has_l = np.isfinite(self.lower)
        self.has_u = np.isfinite(self.upper)
        self.rows = _column_rows(blocks, layout.link_row_of_slot)
        # Device k's columns: device_start[k]:device_start[k+1] (the device block follows the curtailment block).
        per_device = np.bincount(_device_index(y_free), minlength=n_devices)
        self.device_start = (blocks[0].size + np.concatenate([[0], np.cumsum(per_device)])).astype(np.int64)
        # Curtailment and device columns may settle on a bound and leave the system (see ``solve``).
        self.settles = np.zeros(self.n_cols, dtype=bool)
        self.settles[np.concatenate([parts["c"], parts["y"]])] = True
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

    def _primal_residual(self, x: FloatArray) -> FloatArray:
        """``b - A x`` over energy, balance and link rows."""
        zero = np.zeros(self.n_cols)
        rows = self.rows
        return kernels.residuals(x, np.zeros(self.n_rows), zero, zero, zero, zero, zero, self.quad, self.b,
                                 rows.erow, rows.brow, rows.bcoef, rows.lrow, rows.lcoef, self.dt,
                                 self.n_devices, self.n_time, 0, self.n_cols, np.empty(self.n_cols))[0]  # fmt: skip

    def _cold_start(self, q: FloatArray) -> InteriorPoint:
        """A strictly interior point that knows nothing of the optimum: box midpoints, ``L`` from the balance rows.

        Every bound's dual starts at ``max(mu / s, mu)`` with ``mu = max(1, |q|)``: the
        slack times the dual is ``mu`` where the slack is at most 1 (the boxes), more
        where it is larger. The floor is for the link rows' increase and slack, whose
        slacks start at the scale of the aggregate load (thousands in these units):
        with duals of ``mu / s`` they could not take up the link rows' duals, and
        at large gamma the steps stalled at lengths of 1e-3 (the method gave up from
        gamma 300 on 1 000 prosumers).
        """
        lower, upper, has_l, has_u = self.lower, self.upper, self.has_l, self.has_u
        boxed = has_l & has_u
        x = np.zeros(self.n_cols)
        x[boxed] = 0.5 * (lower[boxed] + upper[boxed])
        balance = slice(self.n_devices, self.n_devices + self.n_time)
        # The aggregate load from the balance rows, then the link rows' increase and slack around it.
        x[self.l_of_slot] = self._primal_residual(x)[balance]
        gap = self._primal_residual(x)[self.n_devices + self.n_time :]
        margin = 0.1 * (1.0 + np.abs(self.b[self.n_devices + self.n_time :]))
        x[self.n_cols_of("n")] = np.maximum(-gap, 0.0) + margin
        x[self.n_cols_of("s")] = np.maximum(gap, 0.0) + margin
        # The bound slacks are iterates of their own: recomputing u - x near a bound would cancel to 0.
        sl = np.where(has_l, x - lower, 1.0)
        su = np.where(has_u, upper - x, 1.0)
        mu = max(1.0, float(np.abs(q).max(initial=0.0)))
        zl = np.where(has_l, np.maximum(mu / sl, mu), 0.0)
        zu = np.where(has_u, np.maximum(mu / su, mu), 0.0)
        return InteriorPoint(x, np.zeros(self.n_rows), zl, zu, sl, su)

    def cost_change(self, gamma: float, q: FloatArray) -> float:
        """How far ``gamma``'s costs ``q`` are from those of its rung's anchor ``a``, relative to the largest cost.

        ``|gamma - a| max|q_gamma| / (1 + max|q|)`` (scaled units): the dual residual the
        changed costs leave at the anchor, but for the terms ``Qx`` and ``A'lambda`` of its
        scale (1 to 2.4 times that residual on the portfolios of docs/solver.md's table).
        """
        moved = abs(gamma - anchor_gamma(gamma)) * self.q_gamma_largest
        return moved / (1.0 + float(np.abs(q).max(initial=0.0)))

    def _anchor(self, gamma: float, gap: float) -> Anchor | None:
        """The anchor at ``gamma`` and depth ``gap``: the iterate from the cold start once the relative gap is below it.

        Computed once per problem, anchor gamma and depth (threads wait for the
        first); ``None`` if the iterations break down (solves then start cold).
        The iterations go on from a shallower anchor of the same gamma where one
        was computed: the same iterates as from the cold start, which passed
        through it (only the count towards giving up starts again).
        """
        with self._anchoring:
            if (gamma, gap) not in self._anchors:
                started = time.perf_counter()
                q = self.q_base + gamma * self.q_gamma
                shallower = {depth: a for (at, depth), a in self._anchors.items() if at == gamma and depth > gap and a}
                base = shallower[min(shallower)] if shallower else None  # the deepest of them
                start, before = (base.point, base.iterations) if base else (self._cold_start(q), 0)
                try:
                    with np.errstate(all="ignore"), _Split.halves(self) as split:
                        reached = self._iterate(q, gamma, None, start, until_gap=gap, split=split)
                except SolverError:  # no anchor: solves start cold
                    reached = None
                anchor, spent = None, None
                if isinstance(reached, Anchor):
                    anchor, spent = replace(reached, iterations=before + reached.iterations), reached.iterations
                self._anchors[gamma, gap] = anchor
                logger.info(
                    "ipm.anchored",
                    extra={"gamma": gamma, "gap": gap, "iterations": spent, "seconds": time.perf_counter() - started},
                )
            return self._anchors[gamma, gap]

    def _anchored_start(self, gamma: float, q: FloatArray) -> InteriorPoint | None:
        """The anchor of ``gamma``'s rung, at the depth its cost change calls for: the start, as it is.

        The anchor is at :func:`anchor_gamma` and :func:`anchor_depth` of :meth:`cost_change`
        (so it depends on the problem and ``gamma`` only); ``None`` if it has none or the
        depth is ``None``. Its own slacks and duals are kept: the iterations leave it as it is.
        """
        depth = anchor_depth(self.cost_change(gamma, q))
        anchor = self._anchor(anchor_gamma(gamma), depth) if depth is not None else None
        return anchor.point if anchor is not None else None

    def solve(self, gamma: float, settle: bool = True) -> PrimalDual:
        """Solve ``Phi_gamma`` to the tolerance; raises :class:`SolverError` if it does not converge.

        Starts from the anchor of ``gamma``'s rung
        (:meth:`_anchored_start`); if that solve fails, from the cold start. Stops
        when ``|r_p| <= tol (1 + |b|)``, ``|r_d| <= tol (1 + max(|Qx|, |q|, |A'lambda|))``
        and ``sum s z <= gap_tol (1 + |objective|)`` (scaled units); gives up when the
        worst of the three relative errors has not halved in :data:`STALL_ITERATIONS` (counted
        again after each settling step, whose primal residual's jump the next steps work off).

        With ``settle``, once the relative gap is below :data:`SETTLED_GAP` and the
        dual residual below :data:`SETTLED_DUAL`, a curtailment or device column
        whose slack is below :data:`SETTLED_RATIO` times its bound's dual (it is
        heading for that bound) is fixed there and leaves the Newton systems; most
        columns settle, so later iterations pass over a fraction of the data. A
        settled column's reduced cost is checked at the end; if one has the wrong
        sign, or the settled iterations break down, the gamma is solved again with
        every column, from the same start.
        """
        q = self.q_base + gamma * self.q_gamma
        anchored = self._anchored_start(gamma, q) if self.anchored else None
        if anchored is not None:
            try:
                return self._solve_from(q, gamma, settle, anchored)
            except SolverError as exc:
                logger.warning("ipm.anchored_start_failed", extra={"gamma": gamma, "why": str(exc)})
        return self._solve_from(q, gamma, settle, self._cold_start(q))

    def _solve_from(self, q: FloatArray, gamma: float, settle: bool, start: InteriorPoint) -> PrimalDual:
        """The iterations from ``start``, settling if ``settle``; again, from the same start, if settling went wrong.

        If settled columns ended with a reduced cost of the wrong sign (or the settled iterations
        broke down and some have the wrong sign at the last duals), the gamma is solved again
        with those columns, and every column of their devices, kept in the systems; if that
        goes wrong too, or no column is suspect, with every column.
        Raises :class:`SolverError` when the iterations fail before any column settled
        (the same iterations again could only fail the same way).
        """
        settles = self.settles if settle else None
        with np.errstate(all="ignore"):  # a breakdown is reported as such, not as numpy's warnings
            point = self._iterate(q, gamma, settles, start)
            if isinstance(point, SettledWrongly) and len(point.columns):
                self._log_settled_wrongly(gamma, point, AGAIN_KEPT_IN)
                point = self._iterate(q, gamma, self._settles_without(point.columns), start)
            if isinstance(point, SettledWrongly):
                self._log_settled_wrongly(gamma, point, AGAIN_EVERY_COLUMN)
                point = self._iterate(q, gamma, None, start)
        if not isinstance(point, PrimalDual):  # cannot happen: nothing settles, no gap to stop at
            raise SolverError(f"the interior-point method stopped short of the optimum for gamma={gamma}")
        return point

    @staticmethod
    def _log_settled_wrongly(gamma: float, wrongly: SettledWrongly, again: str) -> None:
        """Log that ``gamma``'s settled columns went wrong and how it is solved ``again``."""
        logger.warning(
            "ipm.settled_wrongly",
            extra={"gamma": gamma, "reduced_cost": wrongly.by, "why": wrongly.why, "columns": len(wrongly.columns),
                   "again": again},
        )  # fmt: skip

    def _settles_without(self, columns: IntArray) -> NDArray[np.bool_]:
        """The columns that may settle, less ``columns`` and every column of their devices."""
        settles = self.settles.copy()
        settles[columns] = False
        devices = self.rows.erow[columns]
        settles[np.isin(self.rows.erow, devices[devices >= 0])] = False
        return settles

    def _iterate(
        self, q: FloatArray, gamma: float, settles: NDArray[np.bool_] | None, start: InteriorPoint,
        until_gap: float | None = None, split: "_Split | None" = None,
    ) -> PrimalDual | SettledWrongly | Anchor:  # fmt: skip
        """The iterations from ``start`` (left as it is), settling those of the columns ``settles`` allows (if given).

        With ``until_gap`` (and no settling), the first iterate whose relative gap is below it, as an :class:`Anchor`.
        With ``split`` (and no settling), every pass runs over its two parts.
        If the iterations fail (no progress, a non-finite point, a singular system) after
        columns settled, :class:`SettledWrongly` (the settled system may have no interior
        left); before, :class:`SolverError`.
        """
        x, lam, zl, zu, sl, su = (a.copy() for a in (start.x, start.lam, start.zl, start.zu, start.sl, start.su))
        columns = _Columns.every(self, q, self.settles if settles is None else settles, split)
        n_bounds = max(int(np.count_nonzero(zl) + np.count_nonzero(zu)), 1)
        b_norm = 1.0 + float(np.abs(self.b).max(initial=0.0))
        gap, dual_error, largest = np.inf, np.inf, 0.0
        best, best_at = np.inf, 0
        failure = f"the interior-point method did not converge in {self.max_iter} iterations for gamma={gamma}"
        for iteration in range(1, self.max_iter + 1):
            settling_now = gap < SETTLED_GAP and dual_error < SETTLED_DUAL and iteration % SETTLED_EVERY == 0
            if settles is not None and settling_now:
                settling = columns.settling(zl, zu, sl, su)
                if settling is not None:
                    columns = columns.without(settling)
                    x, zl, zu, sl, su = (np.take(a, settling.kept) for a in (x, zl, zu, sl, su))
                    # The settled columns' slacks move to the rows' right-hand side: the primal residual jumps, and
                    # the steps after work it off. The count towards giving up starts again.
                    best, best_at = np.inf, iteration
                    n_bounds = max(int(np.count_nonzero(zl) + np.count_nonzero(zu)), 1)
            r_p, r_d, dual_norm, largest, complementarity, objective = columns.residuals(x, lam, zl, zu, sl, su)
            gap = complementarity / (1.0 + abs(objective))
            primal_error = np.abs(r_p).max(initial=0.0) / b_norm
            dual_error = dual_norm / (1.0 + largest)
            worst = max(gap, primal_error, dual_error)
            if not np.isfinite(worst):
                failure = f"the interior-point method broke down (non-finite point) for gamma={gamma}"
                break
            if until_gap is not None and gap <= until_gap:  # a problem without bounds has gap 0 from the start
                return Anchor(InteriorPoint(x, lam, zl, zu, sl, su), complementarity / n_bounds, iteration - 1)
            if gap <= self.gap_tolerance and max(primal_error, dual_error) <= self.tolerance:
                return columns.finish(x, lam, largest, iteration - 1)
            if worst < 0.5 * best:
                best, best_at = worst, iteration
            elif iteration - best_at >= STALL_ITERATIONS:
                failure = (
                    f"the interior-point method made no progress for gamma={gamma}: the worst of its relative gap "
                    f"and residuals has not halved in {STALL_ITERATIONS} iterations (now {worst:.1e})"
                )
                break
            try:
                lam = self._newton_step(
                    columns, x, lam, zl, zu, sl, su, r_d, r_p, complementarity / n_bounds, n_bounds
                )  # fmt: skip
            except SolverError as exc:
                failure = f"{exc} for gamma={gamma}"
                break
        if columns.settled:  # the settled columns whose reduced costs have the wrong sign at these duals are suspect
            return SettledWrongly(np.inf, failure, columns.settled_check(lam, largest)[2])
        raise SolverError(failure)

    def _newton_step(
        self, columns: "_Columns", x: FloatArray, lam: FloatArray, zl: FloatArray, zu: FloatArray, sl: FloatArray,
        su: FloatArray, r_d: FloatArray, r_p: FloatArray, mu: float, n_bounds: int,
    ) -> FloatArray:  # fmt: skip
        """One Mehrotra predictor-corrector step: ``x``, slacks and bound duals updated in place; returns ``lambda``.

        The corrector aims at ``sigma mu`` with ``sigma = (mu_aff / mu)^3``, ``mu_aff``
        the complementarity per bound after the predictor's longest step.
        """
        # REGULARIZATION keeps H away from 0 for variables inside their bounds at zero reduced cost
        # (interchangeable devices, partly used steps); residuals stay exact, so the limit is the same.
        system = _NewtonSystem.build(self, columns, zl, zu, sl, su, r_d, r_p)
        affine = system.direction(0.0, NO_STEP, NO_STEP, NO_STEP)
        alpha = min(1.0, affine.largest_step)
        mu_aff = affine.complementarity_after(alpha) / n_bounds
        target = (mu_aff / mu) ** 3 * mu if mu > 0 else 0.0
        step = system.direction(target, affine.dx, affine.dzl, affine.dzu)
        alpha = min(1.0, STEP_TO_BOUNDARY * step.largest_step)
        columns.take_step(alpha, x, sl, su, zl, zu, step)
        return lam + alpha * step.d_lam

    def _unscaled(self, x: FloatArray, lam: FloatArray, iterations: int, settled: int) -> PrimalDual:
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
        return PrimalDual(full, np.concatenate([energy, lam[n_free_rows:]]), iterations, settled)

    @property
    def matrices(self) -> QpMatrices:
        """The assembled QP (for certificates and the cross-check)."""
        return self.qp


@dataclass(frozen=True)
class _NewtonSystem:
    """One iteration's factorised Newton system and the point it was built at."""

    method: SlotSchurIpm
    columns: "_Columns"
    zl: FloatArray
    zu: FloatArray
    sl: FloatArray
    su: FloatArray
    r_d: FloatArray
    r_p: FloatArray
    d: FloatArray
    m_ee: FloatArray
    factor: tuple[FloatArray, bool]

    @classmethod
    def build(
        cls, method: SlotSchurIpm, columns: "_Columns", zl: FloatArray, zu: FloatArray, sl: FloatArray,
        su: FloatArray, r_d: FloatArray, r_p: FloatArray,
    ) -> "_NewtonSystem":  # fmt: skip
        """``H^-1``, the energy block and the Cholesky factor of the slot system at this point."""
        d, m_ee, s = columns.slot_system(zl, zu, sl, su)
        try:
            factor = la.cho_factor(s, lower=True, check_finite=False)
        except la.LinAlgError:  # nearly singular: a tiny diagonal shift keeps the step well defined
            s += np.eye(len(s)) * 1e-14 * max(1.0, float(np.abs(np.diag(s)).max()))
            try:
                factor = la.cho_factor(s, lower=True, check_finite=False)
            except la.LinAlgError as exc:
                raise SolverError("the interior-point method's slot system is not positive definite") from exc
        return cls(method, columns, zl, zu, sl, su, r_d, r_p, d, m_ee, factor)

    def direction(self, target: float, dx_aff: FloatArray, dzl_aff: FloatArray, dzu_aff: FloatArray) -> "_Step":
        """The step for Mehrotra's complementarity targets (:func:`BRTP.ipm_kernels.direction_rhs`).

        ``H dx - A'dlambda = -r_d + rc_l/s_l - rc_u/s_u`` and ``A dx = r_p``, solved as
        ``A H^-1 A' dlambda = r_p - A H^-1 g``: the energy rows eliminated, then the slot system.
        """
        method, rows, device_start = self.method, self.columns.rows, self.columns.device_start
        n_dev, n_time, dt, d = method.n_devices, method.n_time, method.dt, self.d
        point = (self.zl, self.zu, self.sl, self.su, target, dx_aff, dzl_aff, dzu_aff)
        g, rhs = self.columns.direction_rhs(self.r_d, self.r_p, d, point)
        first, stop = int(device_start[0]), int(device_start[-1])
        energy_rhs, slot_rhs = rhs[:n_dev], rhs[n_dev:].copy()
        slot_rhs[:n_time] -= kernels.eliminate_energy(
            energy_rhs, self.m_ee, self.d, rows.erow, rows.brow, rows.bcoef, dt, first, stop, n_time
        )
        slot_duals = la.cho_solve(self.factor, slot_rhs, check_finite=False)
        energy = kernels.energy_duals(
            energy_rhs, slot_duals, self.m_ee, self.d, rows.erow, rows.brow, rows.bcoef, dt, first, stop
        )
        d_lam = np.concatenate([energy, slot_duals])
        dx, dzl, dzu, rate, complementarity = self.columns.direction_back(g, d_lam, d, point)
        return _Step(dx, d_lam, dzl, dzu, 1.0 / rate if rate > 0.0 else np.inf, complementarity)


@dataclass(frozen=True)
class _Step:
    """A Newton direction and what a step along it does.

    ``largest_step``: the longest that keeps every bound's slack and dual positive; ``complementarity``:
    the coefficients of the complementarity after a step (:func:`BRTP.ipm_kernels.direction_back`).
    """

    dx: FloatArray
    d_lam: FloatArray
    dzl: FloatArray
    dzu: FloatArray
    largest_step: float
    complementarity: FloatArray

    def complementarity_after(self, alpha: float) -> float:
        """``sum (s + alpha ds)(z + alpha dz)`` over the bounds that exist."""
        c0, c1, c2 = (float(c) for c in self.complementarity)
        return c0 + alpha * (c1 + alpha * c2)


@dataclass(frozen=True)
class ColumnRows:
    """Which rows each column enters, for the compiled passes of :mod:`BRTP.ipm_kernels`.

    ``erow``: its device's energy row (coefficient ``dt``); ``brow``, ``bcoef``:
    its slot's balance row; ``lrow``, ``lcoef``: its slot's link row (``-1``
    where a column enters no such row).
    """

    erow: IntArray
    brow: IntArray
    bcoef: FloatArray
    lrow: IntArray
    lcoef: FloatArray


@dataclass(frozen=True)
class _Split:
    """An anchor's columns in two parts, divided at a device's first column; each pass runs over both.

    ``device``: the first device of the second part (its first column is where the part begins).
    ``helper``: the thread that runs the second part while the caller's runs the
    first; ``None``: the caller's thread runs both, one after the other. The
    parts' sums are added in the same order either way, so the anchor is the
    same whatever the number of threads.
    """

    device: int
    helper: ThreadPoolExecutor | None

    @classmethod
    @contextmanager
    def halves(cls, method: SlotSchurIpm) -> Iterator["_Split"]:
        """The split at the device boundary nearest the middle column; a helper thread if ``method.threads > 1``."""
        device = int(np.abs(method.device_start - method.n_cols / 2).argmin())
        if method.threads <= 1:
            yield cls(device, None)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="ipm-anchor") as helper:
            yield cls(device, helper)

    def run(self, first: Callable[[], Part], second: Callable[[], Part]) -> list[Part]:
        """The two parts' results, in order."""
        if self.helper is None:
            return [first(), second()]
        later = self.helper.submit(second)
        return [first(), later.result()]


@dataclass(frozen=True)
class _Settling:
    """One settling step: the columns that stay (``kept``) and go (``gone``, at ``value``).

    Per device, its columns that stay (``staying``) and the energy ``dt sum value`` of those that go (``energy``).
    """

    kept: IntArray
    gone: IntArray
    value: FloatArray
    staying: IntArray
    energy: FloatArray


@dataclass(frozen=True)
class _Columns:
    """The columns still in one solve's Newton systems, and those settled on a bound.

    ``position``: each working column's index among the method's columns;
    ``q``, ``quad``, ``rows``, ``device_start``: the method's arrays for those
    columns; ``b``: the rows' right-hand sides less the settled columns' part
    (``b - A_settled v``); ``q_all``: every column's linear cost; ``settled``,
    ``settled_value``, ``settled_low``: the settled columns (the method's
    indices), their values and whether at the lower bound, one array per
    settling step (joined once, at the end); ``settles``: which of the method's
    columns may settle in this solve.
    """

    method: SlotSchurIpm
    position: IntArray
    q: FloatArray
    quad: FloatArray
    b: FloatArray
    rows: ColumnRows
    device_start: IntArray
    q_all: FloatArray
    settled: tuple[IntArray, ...]
    settled_value: tuple[FloatArray, ...]
    settled_low: tuple[NDArray[np.bool_], ...]
    settles: NDArray[np.bool_]
    split: "_Split | None" = None

    @classmethod
    def every(
        cls, method: SlotSchurIpm, q: FloatArray, settles: NDArray[np.bool_], split: "_Split | None" = None
    ) -> "_Columns":
        """All of the method's columns, none settled; every pass over the two parts of ``split`` if given."""
        return cls(method, np.arange(method.n_cols), q, method.quad, method.b, method.rows, method.device_start, q,
                   (), (), (), settles, split)  # fmt: skip

    def _parts(self, run: Callable[[int, int, int, int, bool], Part]) -> list[Part]:
        """``run(first, stop, first_device, stop_device, leading)`` over every column, or over each part of the split.

        ``leading``: the part that starts from the rows' own terms (a later one starts from zeros and is added).
        """
        n_cols, n_dev = len(self.position), self.method.n_devices
        if self.split is None:
            return [run(0, n_cols, 0, n_dev, True)]
        device = self.split.device
        column = int(self.device_start[device])
        return self.split.run(
            lambda: run(0, column, 0, device, True), lambda: run(column, n_cols, device, n_dev, False)
        )

    def residuals(
        self, x: FloatArray, lam: FloatArray, zl: FloatArray, zu: FloatArray, sl: FloatArray, su: FloatArray
    ) -> tuple[FloatArray, FloatArray, float, float, float, float]:
        """:func:`BRTP.ipm_kernels.residuals` here.

        ``r_p``, ``r_d``, ``max |r_d|``, the largest term, ``sum s z`` and the objective.
        """
        rows, method = self.rows, self.method
        r_d = np.empty(len(x))
        parts = self._parts(
            lambda first, stop, _d0, _d1, leading: kernels.residuals(
                x, lam, zl, zu, sl, su, self.q, self.quad, self.b if leading else np.zeros_like(self.b), rows.erow,
                rows.brow, rows.bcoef, rows.lrow, rows.lcoef, method.dt, method.n_devices, method.n_time, first, stop,
                r_d,
            )
        )  # fmt: skip
        r_p = parts[0][0] if len(parts) == 1 else parts[0][0] + parts[1][0]
        return (r_p, r_d, max(p[1] for p in parts), max(p[2] for p in parts), sum(p[3] for p in parts),
                sum(p[4] for p in parts))  # fmt: skip

    def slot_system(
        self, zl: FloatArray, zu: FloatArray, sl: FloatArray, su: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """:func:`BRTP.ipm_kernels.slot_system` here: ``H^-1 = d``, the energy block ``M_ee`` and the slot system."""
        rows, method = self.rows, self.method
        d, m_ee = np.empty(len(zl)), np.zeros(method.n_devices)
        parts = self._parts(
            lambda first, stop, first_device, stop_device, _leading: kernels.slot_system(
                self.quad, zl, zu, sl, su, REGULARIZATION, rows.erow, rows.brow, rows.bcoef, rows.lrow, rows.lcoef,
                method.dt, self.device_start, method.n_time, method.n_link, first, stop, first_device, stop_device, d,
                m_ee,
            )
        )  # fmt: skip
        return d, m_ee, parts[0] if len(parts) == 1 else parts[0] + parts[1]

    def direction_rhs(
        self, r_d: FloatArray, r_p: FloatArray, d: FloatArray, point: "_Targets"
    ) -> tuple[FloatArray, FloatArray]:
        """:func:`BRTP.ipm_kernels.direction_rhs` here: the column term ``g`` and the rows' right-hand side."""
        rows, method = self.rows, self.method
        g = np.empty(len(d))
        parts = self._parts(
            lambda first, stop, _d0, _d1, leading: kernels.direction_rhs(
                r_d, r_p if leading else np.zeros_like(r_p), d, *point, rows.erow, rows.brow, rows.bcoef, rows.lrow,
                rows.lcoef, method.dt, method.n_devices, method.n_time, first, stop, g,
            )
        )  # fmt: skip
        return g, parts[0] if len(parts) == 1 else parts[0] + parts[1]

    def direction_back(
        self, g: FloatArray, d_lam: FloatArray, d: FloatArray, point: "_Targets"
    ) -> tuple[FloatArray, FloatArray, FloatArray, float, FloatArray]:
        """:func:`BRTP.ipm_kernels.direction_back` here: ``dx``, ``dz_l``, ``dz_u``, the fastest fall, the quadratic."""
        rows, method = self.rows, self.method
        dx, dzl, dzu = np.empty(len(d)), np.empty(len(d)), np.empty(len(d))
        parts = self._parts(
            lambda first, stop, _d0, _d1, _leading: kernels.direction_back(
                g, d_lam, d, *point, rows.erow, rows.brow, rows.bcoef, rows.lrow, rows.lcoef, method.dt,
                method.n_devices, method.n_time, first, stop, dx, dzl, dzu,
            )
        )  # fmt: skip
        complementarity = parts[0][1] if len(parts) == 1 else parts[0][1] + parts[1][1]
        return dx, dzl, dzu, max(p[0] for p in parts), complementarity

    def take_step(
        self, alpha: float, x: FloatArray, sl: FloatArray, su: FloatArray, zl: FloatArray, zu: FloatArray,
        step: "_Step",
    ) -> None:  # fmt: skip
        """:func:`BRTP.ipm_kernels.take_step` here: the point moved ``alpha`` along ``step``, in place."""
        self._parts(
            lambda first, stop, _d0, _d1, _leading: kernels.take_step(
                alpha, x, sl, su, zl, zu, step.dx, step.dzl, step.dzu, first, stop
            )
        )

    def settling(self, zl: FloatArray, zu: FloatArray, sl: FloatArray, su: FloatArray) -> "_Settling | None":
        """Which columns stay, which settle and the bound each goes to; ``None`` if too few would settle.

        A curtailment or device column settles on a bound when its slack is below
        :data:`SETTLED_RATIO` times that bound's dual and its other slack is not. A
        device whose every remaining column would settle does so only if the settled
        powers meet its energy row (to :data:`ENERGY_TOLERANCE`).
        """
        method, n_dev = self.method, self.method.n_devices
        going, value, staying, settled_energy = kernels.settling(
            zl, zu, sl, su, self.position, method.lower, method.upper, self.settles, SETTLED_RATIO, self.rows.erow,
            method.dt, n_dev,
        )  # fmt: skip
        unmet = (staying == 0) & (
            np.abs(self.b[:n_dev] - settled_energy) > ENERGY_TOLERANCE * (1.0 + np.abs(method.b[:n_dev]))
        )
        if unmet.any():  # such a device keeps every column: none of its energy settles
            on_device = self.rows.erow >= 0
            going[on_device] &= ~unmet[self.rows.erow[on_device]]
            staying[unmet] = np.diff(self.device_start)[unmet]
            settled_energy[unmet] = 0.0
        gone = np.flatnonzero(going)
        if len(gone) < SETTLED_SHARE * len(going):
            return None
        return _Settling(np.flatnonzero(~going), gone, value[gone], staying, settled_energy)

    def without(self, settling: "_Settling") -> "_Columns":
        """These columns less those settling, fixed at their values: their part moves to the right-hand side."""
        method, rows = self.method, self.rows
        n_dev, n_time = method.n_devices, method.n_time
        kept, gone, value = settling.kept, settling.gone, settling.value
        b = self.b.copy()
        b[:n_dev] -= settling.energy
        for offset, index, coefficient, size in (
            (n_dev, rows.brow, rows.bcoef, n_time),
            (n_dev + n_time, rows.lrow, rows.lcoef, method.n_link),
        ):
            row = index[gone]
            enters = row >= 0
            b[offset : offset + size] -= np.bincount(row[enters], coefficient[gone][enters] * value[enters], size)
        kept_rows = ColumnRows(rows.erow[kept], rows.brow[kept], rows.bcoef[kept], rows.lrow[kept], rows.lcoef[kept])
        # The device block moves forward by the columns settled before it (the curtailment block's).
        first = int(self.device_start[0]) - int(np.searchsorted(gone, self.device_start[0]))
        device_start = first + np.concatenate([[0], np.cumsum(settling.staying)])
        position = self.position[gone]
        return _Columns(
            method, np.take(self.position, kept), np.take(self.q, kept), np.take(self.quad, kept), b, kept_rows,
            device_start, self.q_all, (*self.settled, position), (*self.settled_value, value),
            (*self.settled_low, value == method.lower[position]), self.settles,
        )  # fmt: skip

    def finish(self, x: FloatArray, lam: FloatArray, largest: float, iterations: int) -> PrimalDual | SettledWrongly:
        """The converged point with the settled columns put back, unless one has a reduced cost of the wrong sign.

        A device all of whose columns settled has no say in its energy dual during
        the iterations; it is set here to the middle of the interval that keeps
        every one of its columns' reduced costs ``g = Qv + q - A'lambda`` of the
        right sign (``>= 0`` at a lower bound, ``<= 0`` at an upper one).
        """
        method = self.method
        full = np.empty(method.n_cols)
        full[self.position] = x
        if not self.settled:
            return method._unscaled(full, lam, iterations, 0)
        lam, worst, wrong = self.settled_check(lam, largest)
        if len(wrong):
            return SettledWrongly(worst, "a settled column's reduced cost has the wrong sign", wrong)
        settled = np.concatenate(self.settled)
        full[settled] = np.concatenate(self.settled_value)
        return method._unscaled(full, lam, iterations, len(settled))

    def settled_check(self, lam: FloatArray, largest: float) -> tuple[FloatArray, float, IntArray]:
        """The settled columns' reduced costs ``g = Qv + q - A'lambda`` at the row duals ``lam``: their signs checked.

        Returns ``lam`` with the energy dual of each device whose columns all settled (which has
        no say in it during the iterations) set to the middle of the interval that keeps its
        columns' signs right; the worst reduced cost of the wrong sign; and the settled columns
        (the method's indices) whose reduced cost has the wrong sign by more than
        :data:`SETTLED_DUAL_TOLERANCE` ``(1 + largest)``.
        """
        method, rows = self.method, self.method.rows
        settled = np.concatenate(self.settled)
        lam = lam.copy()
        emptied = np.diff(self.device_start) == 0
        wrong = kernels.settled_wrong_sign(
            settled, np.concatenate(self.settled_value), np.concatenate(self.settled_low), emptied, lam, self.q_all,
            method.quad, rows.erow, rows.brow, rows.bcoef, rows.lrow, rows.lcoef, method.dt, method.n_devices,
            method.n_time,
        )  # fmt: skip
        wrong_side = wrong > SETTLED_DUAL_TOLERANCE * (1.0 + largest)
        return lam, float(wrong.max(initial=0.0)), settled[wrong_side]


def _column_rows(blocks: list[VariableBlock], row_of_link: IntArray) -> ColumnRows:
    """The rows of every column of ``blocks`` (in order); the device block's columns must be grouped by device.

    ``row_of_link``: per slot, its link row or -1 (:attr:`BRTP.matrices.QpLayout.link_row_of_slot`).
    """
    parts: dict[str, list[NDArray[np.generic]]] = {key: [] for key in ("erow", "brow", "bcoef", "lrow", "lcoef")}
    for block in blocks:
        none = np.full(block.size, -1, dtype=np.int64)
        if block.device is not None and np.any(np.diff(block.device) < 0):
            raise ValueError("device columns must be grouped by device")
        parts["erow"].append(block.device if block.device is not None else none)
        parts["brow"].append(block.slot if block.balance else none)
        parts["bcoef"].append(np.full(block.size, block.balance))
        linked = row_of_link[block.slot] if block.link else none
        parts["lrow"].append(linked)
        parts["lcoef"].append(np.where(linked >= 0, block.link, 0.0))
    erow, brow, bcoef, lrow, lcoef = (np.concatenate(parts[key]) for key in ("erow", "brow", "bcoef", "lrow", "lcoef"))
    return ColumnRows(erow.astype(np.int64), brow.astype(np.int64), bcoef.astype(np.float64), lrow.astype(np.int64),
                      lcoef.astype(np.float64))  # fmt: skip


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
