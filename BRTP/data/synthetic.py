"""Synthetic portfolios of any size, built directly as a :class:`~BRTP.data.dataset.Dataset` (vectorised).

For benchmarks, scale tests and trying the tools without data: per prosumer a
baseload and an evening-peaking curtailable bundle with a 4-step offer, 1-4
shiftable devices running 1-3 h and 0-2 EVs, over 24 hourly slots; one
all-day 4-step flex request, ``flex_request_all_day``, sized to the
portfolio. Deterministic for a seed. Every device fits before its deadline
by construction.
"""

from datetime import UTC, datetime

import numpy as np

from BRTP.data.dataset import Curves, Dataset, DeviceTable
from BRTP.data.portfolio import SlotGrid

SLOTS = 24
STEPS = 4
REQUEST = "flex_request_all_day"


def synthetic_dataset(n_prosumers: int, seed: int = 0, start: datetime | None = None) -> Dataset:
    """A feasible portfolio of ``n_prosumers`` (see the module docstring for its shape)."""
    rng = np.random.default_rng(seed)
    n, t = n_prosumers, np.arange(SLOTS)
    grid = SlotGrid(start=start or datetime(2021, 11, 11, tzinfo=UTC), dt_hours=1.0, n_slots=SLOTS)
    baseload = rng.uniform(0.15, 0.45, (n, 1)) * np.ones(SLOTS)
    evening = rng.uniform(0.8, 1.4, (n, 1)) * ((t >= 18) & (t < 22))
    afternoon = rng.uniform(0.3, 0.7, (n, 1)) * ((t >= 15) & (t < 18))
    morning = rng.uniform(0.1, 0.4, (n, 1)) * ((t >= 7) & (t < 9))
    desired = np.round(baseload + evening + afternoon + morning, 4)
    baseload = np.round(baseload, 4)
    share = rng.uniform(0.4, 0.9, (n, 1, 1))
    top = (desired - baseload)[:, :, None] * share
    k = np.arange(1, STEPS + 1)
    price_at_max = rng.uniform(0.3, 3.2, (n, 1, 1))
    offers = Curves(
        price=np.round(price_at_max * k / STEPS * np.ones((n, SLOTS, 1)), 6),
        quantity=np.round(top * k / STEPS, 6),
        steps=np.full((n, SLOTS), STEPS, dtype=np.int64),
    )
    devices = _devices(rng, n)
    load = desired.sum(axis=0) + devices.profile_kw.sum(axis=0)
    request_top = 0.25 * load
    request = Curves(
        price=np.round((0.3 + 1.5 * load / load.max())[:, None] * (1.2 - 0.1 * k), 6),
        quantity=np.round(request_top[:, None] * k / STEPS, 6),
        steps=np.full(SLOTS, STEPS, dtype=np.int64),
    )
    return Dataset(
        source=f"synthetic-{n_prosumers}",
        grid=grid,
        user_names=tuple(f"prosumer_{i + 1}" for i in range(n)),
        flexibility_levels=(None,) * n,
        baseload_kw=baseload,
        desired_kw=desired,
        offers=offers,
        devices=devices,
        flex_requests={REQUEST: request},
    )


def _devices(rng: np.random.Generator, n: int) -> DeviceTable:
    """1-4 shiftable devices of 1-3 h and 0-2 EVs per prosumer, shiftable first."""
    shiftable = rng.integers(1, 5, n)
    evs = rng.integers(0, 3, n)
    user = np.concatenate([np.repeat(np.arange(n), shiftable), np.repeat(np.arange(n), evs)])
    is_ev = np.concatenate([np.zeros(shiftable.sum(), dtype=bool), np.ones(evs.sum(), dtype=bool)])
    order = np.lexsort((np.arange(len(user)), is_ev, user))
    user, is_ev = user[order], is_ev[order]
    count = len(user)
    hours = np.where(is_ev, rng.integers(2, 5, count), rng.integers(1, 4, count))
    ev_start = rng.choice([0, 1, 2, 18, 19, 20], count)
    start = np.where(is_ev, ev_start, rng.integers(6, SLOTS - 3, count))
    start = np.minimum(start, SLOTS - hours)
    finish = start + hours - 1
    deadline = np.minimum(finish + rng.integers(0, 5, count), SLOTS - 1)
    limit = rng.choice([3.7, 7.4], n)[user]  # one charge limit per prosumer, as the FlexGrid workbook has it
    power = np.where(
        is_ev, np.round(limit * rng.uniform(0.85, 0.97, count), 4), np.round(rng.uniform(0.5, 3.0, count), 4)
    )
    slots = np.arange(SLOTS)
    running = (slots >= start[:, None]) & (slots <= finish[:, None])
    seen: dict[int, int] = {}
    names = []
    for u, ev in zip(user.tolist(), is_ev.tolist(), strict=True):
        key = u * 2 + int(ev)
        seen[key] = seen.get(key, 0) + 1
        names.append(f"{'ev' if ev else 'device'}_{seen[key]}")
    return DeviceTable(
        user=user.astype(np.int64),
        name=tuple(names),
        is_ev=is_ev,
        profile_kw=np.where(running, power[:, None], 0.0),
        has_row=running,
        deadline=deadline.astype(np.int64),
        delay_price=np.round(rng.uniform(0.05, 1.5, count), 4),
        charge_limit_kw=np.where(is_ev, limit, np.nan),
    )


#: Per flexibility level: offer price and size factors, deadline slack (hours), delay-price factor, request share.
LEVEL_PROFILES = {
    "Low": (2.0, 0.5, (0, 1), 1.3, 0.15),
    "Medium": (1.0, 0.75, (1, 3), 1.0, 0.25),
    "High": (0.4, 1.0, (2, 5), 0.8, 0.35),
}


def flexgrid_dataset(users: int, seed: int = 0, start: datetime | None = None) -> Dataset:
    """A portfolio in the FlexGrid workbook's shape: ``user_{i}_{Low,Medium,High}`` sharing loads and devices.

    Offers, deadlines and delay prices differ by level (Low: dear and tight,
    High: cheap and lenient), and there is one flex request
    ``flex_request_1_{Level}`` per level, as in the FlexGrid "BRTP Input" workbook.
    """
    base = synthetic_dataset(users, seed, start)
    rng = np.random.default_rng(seed + 1)
    levels = list(LEVEL_PROFILES)
    names = tuple(f"user_{i + 1}_{level}" for level in levels for i in range(users))
    devices = base.devices
    finish = SLOTS - 1 - np.argmax(devices.has_row[:, ::-1], axis=1)
    deadlines, prices = [], []
    for level in levels:
        _, _, (low, high), delay, _ = LEVEL_PROFILES[level]
        deadlines.append(np.minimum(finish + rng.integers(low, high + 1, len(finish)), SLOTS - 1))
        prices.append(np.round(devices.delay_price * delay, 4))
    load = base.desired_kw.sum(axis=0) + devices.profile_kw.sum(axis=0)
    k = np.arange(1, STEPS + 1)
    requests = {}
    for level in levels:
        price_factor, _, _, _, share = LEVEL_PROFILES[level]
        requests[f"flex_request_1_{level}"] = Curves(
            price=np.round((0.3 + 1.5 * load / load.max())[:, None] * (1.2 - 0.1 * k) * (2.4 - price_factor) / 2, 6),
            quantity=np.round((share * load)[:, None] * k / STEPS, 6),
            steps=np.full(SLOTS, STEPS, dtype=np.int64),
        )
    n_devices = len(devices.user)
    return Dataset(
        source=f"flexgrid-sample-{users}",
        grid=base.grid,
        user_names=names,
        flexibility_levels=tuple(level for level in levels for _ in range(users)),
        baseload_kw=np.tile(base.baseload_kw, (3, 1)),
        desired_kw=np.tile(base.desired_kw, (3, 1)),
        offers=Curves(
            price=np.concatenate([np.round(base.offers.price * LEVEL_PROFILES[lv][0], 6) for lv in levels]),
            quantity=np.concatenate([np.round(base.offers.quantity * LEVEL_PROFILES[lv][1], 6) for lv in levels]),
            steps=np.tile(base.offers.steps, (3, 1)),
        ),
        devices=DeviceTable(
            user=np.concatenate([devices.user + users * j for j in range(3)]),
            name=devices.name * 3,
            is_ev=np.tile(devices.is_ev, 3),
            profile_kw=np.tile(devices.profile_kw, (3, 1)),
            has_row=np.tile(devices.has_row, (3, 1)),
            deadline=np.concatenate(deadlines).astype(np.int64),
            delay_price=np.concatenate(prices),
            charge_limit_kw=np.tile(devices.charge_limit_kw, 3),
        )
        if n_devices
        else devices,
        flex_requests=requests,
    )
