"""The interior-point method's passes over the columns, compiled with Numba.

Each function is one loop over the QP's columns (or one device's columns),
doing in one pass what would take a dozen numpy passes and temporaries: at
100 000 prosumers there are over two million columns and ~30 iterations per
gamma, so memory traffic is the cost. Numba rather than hand-written C: the
loops stay readable Python, and its ``cache=True`` keeps compiled code across
processes (written next to this file, or to ``NUMBA_CACHE_DIR``).

How a column enters the rows (:class:`ColumnRows` in
:mod:`BRTP.interior_point`): at most one energy row (``erow``, coefficient
``dt``), one balance row (``brow``, coefficient ``bcoef``) and one link row
(``lrow``, coefficient ``lcoef``); ``-1`` where it enters none. The row vector
is ordered energy (``D``), balance (``T``), link (``R``). Bound duals and
slacks are stored as ``z = 0``, ``s = 1`` for a bound a column does not have,
so no pass needs a mask.

The passes over every column take a range ``first:stop`` and write their
per-column results into arrays the caller gives, so that the method can run
one range on each of two threads (its anchors, :class:`BRTP.interior_point.SlotSchurIpm`);
what they sum over the rows is returned for that range alone. Each pass first
takes views of the range (``part``) and loops over ``range(len(...))``: the
compiler then knows every index is >= 0 and drops its negative-index checks,
which made a loop over ``range(first, stop)`` a fifth to a third slower.
"""

import numba
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_compiled = numba.njit(cache=True, nogil=True)


@_compiled
def residuals(
    x: FloatArray, lam: FloatArray, zl: FloatArray, zu: FloatArray, sl: FloatArray, su: FloatArray, q: FloatArray,
    quad: FloatArray, b: FloatArray,
    erow: IntArray, brow: IntArray, bcoef: FloatArray, lrow: IntArray, lcoef: FloatArray, dt: float, n_dev: int,
    n_time: int, first: int, stop: int, r_d: FloatArray,
) -> tuple[FloatArray, float, float, float, float]:  # fmt: skip
    """The primal and dual residuals ``r_p = b - Ax`` and ``r_d = Qx + q - A'lambda - z_l + z_u`` (into ``r_d``).

    Also ``max |r_d|``, ``max(|Qx|, |q|, |A'lambda|)``, the complementarity
    ``sum s_l z_l + s_u z_u`` and the objective ``1/2 x'Qx + q'x``.
    """
    r_p = b.copy()
    dual_norm, largest, complementarity, objective = 0.0, 0.0, 0.0, 0.0
    link0 = n_dev + n_time
    part = slice(first, stop)
    x, zl, zu, sl, su, q, quad, r_d = x[part], zl[part], zu[part], sl[part], su[part], q[part], quad[part], r_d[part]
    erow, brow, bcoef, lrow, lcoef = erow[part], brow[part], bcoef[part], lrow[part], lcoef[part]
    for j in range(len(x)):
        xj = x[j]
        row_term = 0.0
        e, t, r = erow[j], brow[j], lrow[j]
        if e >= 0:
            r_p[e] -= dt * xj
            row_term += dt * lam[e]
        if t >= 0:
            r_p[n_dev + t] -= bcoef[j] * xj
            row_term += bcoef[j] * lam[n_dev + t]
        if r >= 0:
            r_p[link0 + r] -= lcoef[j] * xj
            row_term += lcoef[j] * lam[link0 + r]
        qx = quad[j] * xj
        r_d[j] = qx + q[j] - row_term - zl[j] + zu[j]
        dual_norm = max(dual_norm, abs(r_d[j]))
        largest = max(largest, abs(qx), abs(q[j]), abs(row_term))
        complementarity += sl[j] * zl[j] + su[j] * zu[j]
        objective += (0.5 * qx + q[j]) * xj
    return r_p, dual_norm, largest, complementarity, objective


@_compiled
def slot_system(
    quad: FloatArray, zl: FloatArray, zu: FloatArray, sl: FloatArray, su: FloatArray, regularization: float,
    erow: IntArray, brow: IntArray, bcoef: FloatArray, lrow: IntArray, lcoef: FloatArray, dt: float,
    device_start: IntArray, n_time: int, n_link: int, first: int, stop: int, first_device: int, stop_device: int,
    d: FloatArray, m_ee: FloatArray,
) -> FloatArray:  # fmt: skip
    """``H^-1 = d``, the energy block ``M_ee`` (into ``d`` and ``m_ee``, which starts at 0) and the slot system ``S``.

    ``S`` has size ``T + R``; the range holds the columns of the devices ``first_device:stop_device``.

    ``d_j = 1 / (Q_j + z_l/s_l + z_u/s_u + regularization)``; ``M = A diag(d) A'``
    on the slot rows, minus, per device, the outer product of its energy-balance
    coupling ``v_t = dt * bcoef_j * d_j`` over its window divided by ``M_ee[dev]``
    (the energy rows eliminated): ``S = M_ss - V' diag(1/M_ee) V``.
    """
    s = np.zeros((n_time + n_link, n_time + n_link))
    part = slice(first, stop)
    quad, zl, zu, sl, su, d = quad[part], zl[part], zu[part], sl[part], su[part], d[part]
    erow, brow, bcoef, lrow, lcoef = erow[part], brow[part], bcoef[part], lrow[part], lcoef[part]
    for j in range(len(d)):
        # 1 / (Q + z_l/s_l + z_u/s_u + reg) with one division: every term is >= 0, so nothing cancels.
        both = sl[j] * su[j]
        dj = both / ((quad[j] + regularization) * both + zl[j] * su[j] + zu[j] * sl[j])
        d[j] = dj
        e, t, r = erow[j], brow[j], lrow[j]
        if e >= 0:
            m_ee[e] += dt * dt * dj
        if t >= 0:
            s[t, t] += bcoef[j] * bcoef[j] * dj
        if r >= 0:
            s[n_time + r, n_time + r] += lcoef[j] * lcoef[j] * dj
            if t >= 0:
                s[t, n_time + r] += bcoef[j] * lcoef[j] * dj
                s[n_time + r, t] += bcoef[j] * lcoef[j] * dj
    # A device's outer product is symmetric: each pair a <= c is summed once, into the upper triangle (flattened),
    # and mirrored. A device's columns are in slot order (``brow`` increases), so ``brow[a] <= brow[c]``.
    devices_first, devices_stop = device_start[first_device] - first, device_start[stop_device] - first
    coupling = np.empty(devices_stop - devices_first)
    for a in range(len(coupling)):
        coupling[a] = dt * bcoef[devices_first + a] * d[devices_first + a]
    slots = brow[devices_first:devices_stop]
    flat = np.zeros(n_time * n_time)
    for dev in range(first_device, stop_device):
        if m_ee[dev] <= 0.0:
            continue
        inverse = 1.0 / m_ee[dev]
        start, end = device_start[dev] - first - devices_first, device_start[dev + 1] - first - devices_first
        for a in range(start, end):
            va = coupling[a] * inverse
            row = slots[a] * n_time
            for c in range(a, end):
                flat[row + slots[c]] += va * coupling[c]
    upper = flat.reshape((n_time, n_time))
    for t in range(n_time):
        s[t, t] -= upper[t, t]
        for u in range(t + 1, n_time):
            s[t, u] -= upper[t, u]
            s[u, t] -= upper[t, u]
    return s


@_compiled
def direction_rhs(
    r_d: FloatArray, r_p: FloatArray, d: FloatArray, zl: FloatArray, zu: FloatArray, sl: FloatArray, su: FloatArray,
    target: float, dx_aff: FloatArray, dzl_aff: FloatArray, dzu_aff: FloatArray,
    erow: IntArray, brow: IntArray, bcoef: FloatArray, lrow: IntArray, lcoef: FloatArray, dt: float, n_dev: int,
    n_time: int, first: int, stop: int, g: FloatArray,
) -> FloatArray:  # fmt: skip
    """The Newton step's column term ``g = -r_d + rc_l/s_l - rc_u/s_u`` (into ``g``); the rows' ``r_p - A diag(d) g``.

    ``r_p`` is the rows' part to start from (zeros for a range after the first).

    Complementarity targets (Mehrotra's corrector): ``rc_l = target - s_l z_l - dx_aff dz_l_aff`` and
    ``rc_u = target - s_u z_u + dx_aff dz_u_aff``, only where the bound exists; the predictor is
    ``target = 0`` with empty affine steps (no second-order term).
    """
    rhs = r_p.copy()
    link0 = n_dev + n_time
    corrector = len(dx_aff) > 0
    part = slice(first, stop)
    r_d, d, zl, zu, sl, su, g = r_d[part], d[part], zl[part], zu[part], sl[part], su[part], g[part]
    dx_aff, dzl_aff, dzu_aff = dx_aff[part], dzl_aff[part], dzu_aff[part]
    erow, brow, bcoef, lrow, lcoef = erow[part], brow[part], bcoef[part], lrow[part], lcoef[part]
    for j in range(len(d)):
        gj = -r_d[j]
        if zl[j] > 0.0:
            low = target - sl[j] * zl[j]
            if corrector:
                low -= dx_aff[j] * dzl_aff[j]
            gj += low / sl[j]
        if zu[j] > 0.0:
            high = target - su[j] * zu[j]
            if corrector:
                high += dx_aff[j] * dzu_aff[j]
            gj -= high / su[j]
        g[j] = gj
        w = d[j] * gj
        if erow[j] >= 0:
            rhs[erow[j]] -= dt * w
        if brow[j] >= 0:
            rhs[n_dev + brow[j]] -= bcoef[j] * w
        if lrow[j] >= 0:
            rhs[link0 + lrow[j]] -= lcoef[j] * w
    return rhs


@_compiled
def eliminate_energy(
    energy_rhs: FloatArray, m_ee: FloatArray, d: FloatArray, erow: IntArray, brow: IntArray, bcoef: FloatArray,
    dt: float, first: int, stop: int, n_time: int,
) -> FloatArray:  # fmt: skip
    """``V' diag(1/M_ee) r_e`` over the slot rows, from the device columns ``first:stop``."""
    out = np.zeros(n_time)
    part = slice(first, stop)
    d, erow, brow, bcoef = d[part], erow[part], brow[part], bcoef[part]
    for j in range(len(d)):
        e = erow[j]
        if m_ee[e] > 0.0:
            out[brow[j]] += dt * bcoef[j] * d[j] * energy_rhs[e] / m_ee[e]
    return out


@_compiled
def energy_duals(
    energy_rhs: FloatArray, slot_duals: FloatArray, m_ee: FloatArray, d: FloatArray, erow: IntArray,
    brow: IntArray, bcoef: FloatArray, dt: float, first: int, stop: int,
) -> FloatArray:  # fmt: skip
    """The energy rows' step once the slot rows' is known: ``(r_e - V dlam_s) / M_ee``."""
    out = energy_rhs.copy()
    part = slice(first, stop)
    d, erow, brow, bcoef = d[part], erow[part], brow[part], bcoef[part]
    for j in range(len(d)):
        out[erow[j]] -= dt * bcoef[j] * d[j] * slot_duals[brow[j]]
    for e in range(len(out)):
        out[e] = out[e] / m_ee[e] if m_ee[e] > 0.0 else 0.0
    return out


@_compiled
def direction_back(
    g: FloatArray, d_lam: FloatArray, d: FloatArray, zl: FloatArray, zu: FloatArray, sl: FloatArray, su: FloatArray,
    target: float, dx_aff: FloatArray, dzl_aff: FloatArray, dzu_aff: FloatArray,
    erow: IntArray, brow: IntArray, bcoef: FloatArray, lrow: IntArray, lcoef: FloatArray, dt: float, n_dev: int,
    n_time: int, first: int, stop: int, dx: FloatArray, dzl: FloatArray, dzu: FloatArray,
) -> tuple[float, FloatArray]:  # fmt: skip
    """``dx = d (g + A' dlambda)`` and the bound duals' steps (into ``dx``, ``dzl``, ``dzu``); the fastest fall.

    The fastest fall is the largest rate ``-ds/s`` or ``-dz/z`` (0 if none falls): the
    longest step keeping every slack and dual positive is its inverse.

    Also the complementarity after a step ``a`` as a polynomial: ``sum (s + a ds)(z + a dz)``
    over the bounds that exist is ``c0 + a c1 + a^2 c2``, returned as ``[c0, c1, c2]``
    (``ds = dx`` for a lower bound, ``-dx`` for an upper one).

    ``dz_l = (rc_l - z_l dx) / s_l``, ``dz_u = (rc_u + z_u dx) / s_u`` (the targets of
    :func:`direction_rhs`).
    """
    rate = 0.0
    c0 = c1 = c2 = 0.0
    link0 = n_dev + n_time
    corrector = len(dx_aff) > 0
    part = slice(first, stop)
    g, d, zl, zu, sl, su = g[part], d[part], zl[part], zu[part], sl[part], su[part]
    dx_aff, dzl_aff, dzu_aff, dx, dzl, dzu = dx_aff[part], dzl_aff[part], dzu_aff[part], dx[part], dzl[part], dzu[part]
    erow, brow, bcoef, lrow, lcoef = erow[part], brow[part], bcoef[part], lrow[part], lcoef[part]
    for j in range(len(d)):
        row_term = 0.0
        if erow[j] >= 0:
            row_term += dt * d_lam[erow[j]]
        if brow[j] >= 0:
            row_term += bcoef[j] * d_lam[n_dev + brow[j]]
        if lrow[j] >= 0:
            row_term += lcoef[j] * d_lam[link0 + lrow[j]]
        step = d[j] * (g[j] + row_term)
        dx[j] = step
        # The step bound as its inverse, the largest rate -ds/s at which a slack or dual falls: max() has no
        # branch to mispredict, and the signs of the steps are as good as random.
        zlj, zuj = zl[j], zu[j]
        if zlj > 0.0:
            inverse = 1.0 / sl[j]
            change = target - sl[j] * zlj - zlj * step
            if corrector:
                change -= dx_aff[j] * dzl_aff[j]
            change *= inverse
            dzl[j] = change
            rate = max(rate, -step * inverse, -change / zlj)
            c0 += sl[j] * zlj
            c1 += sl[j] * change + zlj * step
            c2 += step * change
        else:
            dzl[j] = 0.0
        if zuj > 0.0:
            inverse = 1.0 / su[j]
            change = target - su[j] * zuj + zuj * step
            if corrector:
                change += dx_aff[j] * dzu_aff[j]
            change *= inverse
            dzu[j] = change
            rate = max(rate, step * inverse, -change / zuj)
            c0 += su[j] * zuj
            c1 += su[j] * change - zuj * step
            c2 -= step * change
        else:
            dzu[j] = 0.0
    return rate, np.array([c0, c1, c2])


@_compiled
def settling(
    zl: FloatArray, zu: FloatArray, sl: FloatArray, su: FloatArray, position: IntArray, lower: FloatArray,
    upper: FloatArray, settles: NDArray[np.bool_], ratio: float, erow: IntArray, dt: float, n_dev: int,
) -> tuple[NDArray[np.bool_], FloatArray, IntArray, FloatArray]:  # fmt: skip
    """Which columns settle on a bound, and at what value; per device, its staying columns and settled energy.

    Column ``j`` (the method's column ``position[j]``) settles at its lower bound when
    ``s_l < ratio z_l`` and not ``s_u < ratio z_u``, at its upper bound in the mirror case,
    and only where ``settles`` allows it.
    """
    n_cols = len(zl)
    going = np.zeros(n_cols, dtype=np.bool_)
    value = np.empty(n_cols)
    staying = np.zeros(n_dev, dtype=np.int64)
    settled_energy = np.zeros(n_dev)
    for j in range(n_cols):
        p = position[j]
        low = zl[j] > 0.0 and sl[j] < ratio * zl[j]
        high = zu[j] > 0.0 and su[j] < ratio * zu[j]
        go = settles[p] and low != high
        going[j] = go
        value[j] = lower[p] if low else upper[p]
        e = erow[j]
        if e >= 0:
            if go:
                settled_energy[e] += dt * value[j]
            else:
                staying[e] += 1
    return going, value, staying, settled_energy


@_compiled
def settled_wrong_sign(
    settled: IntArray, value: FloatArray, low: NDArray[np.bool_], emptied: NDArray[np.bool_], lam: FloatArray,
    q: FloatArray, quad: FloatArray,
    erow: IntArray, brow: IntArray, bcoef: FloatArray, lrow: IntArray, lcoef: FloatArray, dt: float, n_dev: int,
    n_time: int,
) -> FloatArray:  # fmt: skip
    """Each settled column's reduced cost of the wrong sign, or 0 (at ``value``; a lower bound where ``low``).

    The reduced cost is ``g = Qv + q - A'lambda``, which must be ``>= 0`` at a lower
    bound and ``<= 0`` at an upper one. First, each ``emptied`` device (all its
    columns settled) gets, in ``lam``, the energy dual in the middle of the interval
    that its columns' signs allow: ``lambda_e <= (Qv + q - rest)/dt`` at a lower
    bound, ``>=`` at an upper one.
    """
    link0 = n_dev + n_time
    # Each settled column's reduced cost less its energy row's part, once (no call per column: that would cost
    # more than the work).
    partial = np.empty(len(settled))
    for k in range(len(settled)):
        j = settled[k]
        g = quad[j] * value[k] + q[j]
        if brow[j] >= 0:
            g -= bcoef[j] * lam[n_dev + brow[j]]
        if lrow[j] >= 0:
            g -= lcoef[j] * lam[link0 + lrow[j]]
        partial[k] = g
    ceiling = np.full(n_dev, np.inf)
    floor = np.full(n_dev, -np.inf)
    for k in range(len(settled)):
        e = erow[settled[k]]
        if e < 0 or not emptied[e]:
            continue
        if low[k]:
            ceiling[e] = min(ceiling[e], partial[k] / dt)
        else:
            floor[e] = max(floor[e], partial[k] / dt)
    for e in range(n_dev):
        if not emptied[e]:
            continue
        if np.isfinite(ceiling[e]) and np.isfinite(floor[e]):
            lam[e] = 0.5 * (ceiling[e] + floor[e])
        elif np.isfinite(ceiling[e]):
            lam[e] = ceiling[e]
        elif np.isfinite(floor[e]):
            lam[e] = floor[e]
    wrong = np.empty(len(settled))
    for k in range(len(settled)):
        g = partial[k]
        e = erow[settled[k]]
        if e >= 0:
            g -= dt * lam[e]
        wrong[k] = max(0.0, -g if low[k] else g)
    return wrong


@_compiled
def take_step(
    alpha: float, x: FloatArray, sl: FloatArray, su: FloatArray, zl: FloatArray, zu: FloatArray, dx: FloatArray,
    dzl: FloatArray, dzu: FloatArray, first: int, stop: int,
) -> None:  # fmt: skip
    """Move the point in place over ``first:stop``: ``x += a dx``, and each existing bound's slack and dual with it."""
    part = slice(first, stop)
    x, sl, su, zl, zu, dx, dzl, dzu = x[part], sl[part], su[part], zl[part], zu[part], dx[part], dzl[part], dzu[part]
    for j in range(len(x)):
        x[j] += alpha * dx[j]
        if zl[j] > 0.0:
            sl[j] += alpha * dx[j]
            zl[j] += alpha * dzl[j]
        if zu[j] > 0.0:
            su[j] -= alpha * dx[j]
            zu[j] += alpha * dzu[j]
