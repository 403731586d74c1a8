"""Small random portfolios built directly as arrays, for property tests."""

from datetime import UTC, datetime

import numpy as np

from BRTP import Devices, FlexRequest, Portfolio, SlotGrid


def random_job(seed: int, *, dt_hours: float = 1.0) -> tuple[Portfolio, FlexRequest, float]:
    """A random feasible portfolio (1-4 users, 4-8 slots), a request and a profit margin."""
    rng = np.random.default_rng(seed)
    n_users, n_slots = int(rng.integers(1, 5)), int(rng.integers(4, 9))
    baseload = rng.uniform(0.1, 0.5, (n_users, n_slots))
    extra = rng.uniform(0.0, 2.0, (n_users, n_slots)) * (rng.random((n_users, n_slots)) < 0.7)
    cmax = extra * rng.uniform(0.3, 1.0, (n_users, n_slots))
    kappa = rng.uniform(0.05, 3.0, (n_users, n_slots)) * (cmax > 0)
    rows = []
    for user in range(n_users):
        for _ in range(int(rng.integers(0, 3))):
            length = int(rng.integers(1, 3))
            start = int(rng.integers(0, n_slots - length + 1))
            finish = start + length - 1
            deadline = int(rng.integers(finish, n_slots))
            power = rng.uniform(0.5, 3.0)
            profile = np.zeros(n_slots)
            profile[start : finish + 1] = power * rng.uniform(0.7, 1.0, length)
            rows.append((user, profile, start, finish, deadline, rng.uniform(0.01, 0.5), power))
    devices = Devices(
        user=np.array([r[0] for r in rows], dtype=np.int64),
        names=tuple(f"user_{r[0]}/device_{k}" for k, r in enumerate(rows)),
        is_ev=np.zeros(len(rows), dtype=bool),
        profile_kw=np.array([r[1] for r in rows]).reshape(len(rows), n_slots),
        start=np.array([r[2] for r in rows], dtype=np.int64),
        finish=np.array([r[3] for r in rows], dtype=np.int64),
        deadline=np.array([r[4] for r in rows], dtype=np.int64),
        delay_price=np.array([r[5] for r in rows]),
        power_cap_kw=np.array([r[6] for r in rows]),
    )
    portfolio = Portfolio(
        user_names=tuple(f"user_{i}" for i in range(n_users)),
        grid=SlotGrid(start=datetime(2021, 11, 11, tzinfo=UTC), dt_hours=dt_hours, n_slots=n_slots),
        baseload_kw=baseload,
        curtailable_kw=baseload + extra,
        max_curtailment_kw=cmax,
        curtailment_slope=kappa,
        devices=devices,
    )
    n_steps = 4
    has_request = rng.random(n_slots) < 0.8
    widths = rng.uniform(0.0, 1.5, (n_slots, n_steps)) * has_request[:, None]
    widths[:, 0] = 0.0  # the FlexGrid (0, 0) origin step
    prices = np.sort(rng.uniform(0.05, 2.0, (n_slots, n_steps)), axis=1)[:, ::-1].copy()
    request = FlexRequest(name="random_request", widths_kw=widths, prices=prices)
    return portfolio, request, float(rng.uniform(0.0, 0.5))
