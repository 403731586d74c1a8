"""Input checks that run before a model exists (spec §2).

Each check raises :class:`~BRTP.errors.InvalidInputError` or
:class:`~BRTP.errors.InfeasibleJobError` with a message naming the culprit.
"""

import math
from collections.abc import Sequence

import numpy as np

from BRTP.data.portfolio import Devices
from BRTP.errors import InfeasibleJobError, InvalidInputError

#: Tolerance (kW) for comparing quantities read from documents.
QUANTITY_TOL_KW = 1e-9


def finite_number(value: object, where: str) -> float:
    """Return ``value`` as a finite float or raise naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{where}: expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInputError(f"{where}: value {value!r} is not finite (NaN or infinity)")
    return number


def non_negative(value: object, where: str) -> float:
    """Return ``value`` as a finite float >= 0 or raise naming ``where``."""
    number = finite_number(value, where)
    if number < 0:
        raise InvalidInputError(f"{where}: negative value {number}")
    return number


_NUMBER = (int, float)


def _plain_valid_curve(steps: object) -> list[tuple[float, float]] | None:
    """The pairs of a curve that passes every check, or None (then the checked path names the fault)."""
    if not isinstance(steps, list):
        return None
    try:
        pairs = [(step["price_euro_per_kw"], step["quantity_kw"]) for step in steps]
    except (TypeError, KeyError):
        return None
    previous = 0.0
    for price, quantity in pairs:
        if type(price) not in _NUMBER or type(quantity) not in _NUMBER:
            return None
        if not (0 <= price < math.inf and previous - QUANTITY_TOL_KW <= quantity < math.inf):
            return None
        previous = max(previous, quantity)
    return [(float(p), float(q)) for p, q in pairs]


def offer_summary(steps: object, where: str) -> tuple[float, float]:
    """Largest offered quantity and ``kappa`` of a curtailment offer, after checking it.

    ``kappa`` is the least-squares slope through the origin of the points
    (quantity, price) [compat]. One pass for valid offers; an invalid one is
    checked step by step so that the error names the step and the field.
    """
    plain = _plain_valid_curve(steps)
    if plain is None:
        plain = curve_steps(steps, where)
    check_offer_prices_rise(plain, where)
    largest = squares = moment = 0.0
    for price, quantity in plain:
        largest = max(largest, quantity)
        squares += quantity * quantity
        moment += price * quantity
    return largest, moment / squares if squares > 0 else 0.0


def curve_steps(steps: object, where: str) -> list[tuple[float, float]]:
    """Parse ``[{price_euro_per_kw, quantity_kw}, ...]`` into (price, quantity) pairs.

    Quantities are cumulative and must be non-decreasing; prices and
    quantities must be finite and non-negative. Valid curves (nearly all)
    take a fast path; any other is checked step by step so that the error
    names the step and the field.
    """
    plain = _plain_valid_curve(steps)
    if plain is not None:
        return plain
    if not isinstance(steps, Sequence) or isinstance(steps, (str, bytes)):
        raise InvalidInputError(f"{where}: 'flexibility' must be a list of steps, got {steps!r}")
    parsed: list[tuple[float, float]] = []
    previous_quantity = 0.0
    for k, step in enumerate(steps):
        if not isinstance(step, dict):
            raise InvalidInputError(f"{where}, step {k}: expected an object, got {step!r}")
        price = non_negative(step.get("price_euro_per_kw"), f"{where}, step {k} price_euro_per_kw")
        quantity = non_negative(step.get("quantity_kw"), f"{where}, step {k} quantity_kw")
        if quantity < previous_quantity - QUANTITY_TOL_KW:
            raise InvalidInputError(
                f"{where}: curve is not monotone: cumulative quantity_kw falls from "
                f"{previous_quantity} to {quantity} at step {k}"
            )
        previous_quantity = max(previous_quantity, quantity)
        parsed.append((price, quantity))
    return parsed


def check_offer_prices_rise(steps: list[tuple[float, float]], where: str) -> None:
    """An offer is a supply curve: prices must not fall as the quantity grows."""
    previous_price = 0.0
    previous_quantity = 0.0
    for k, (price, quantity) in enumerate(steps):
        if quantity <= previous_quantity + QUANTITY_TOL_KW:
            continue
        if price < previous_price:
            raise InvalidInputError(
                f"{where}: offer curve is not monotone: price_euro_per_kw falls from "
                f"{previous_price} to {price} at step {k}"
            )
        previous_price, previous_quantity = price, quantity


def check_request_prices_fall(steps: list[tuple[float, float]], where: str) -> None:
    """A request is a demand curve: over positive-width steps, prices must not rise."""
    previous_price = math.inf
    previous_quantity = 0.0
    for k, (price, quantity) in enumerate(steps):
        if quantity <= previous_quantity + QUANTITY_TOL_KW:
            continue
        if price > previous_price:
            raise InvalidInputError(
                f"{where}: request curve is not monotone: price_euro_per_kw rises from "
                f"{previous_price} to {price} at step {k}"
            )
        previous_price, previous_quantity = price, quantity


def check_energy_fits(devices: Devices, dt: float) -> None:
    """Every device's energy fits before its deadline at its power cap (``E_d <= room_d``); else no schedule exists."""
    energy, room = devices.energy_kwh(dt), devices.room_kwh(dt)
    for d in np.flatnonzero(energy > room + 1e-9):
        raise InfeasibleJobError(
            f"device {devices.names[d]}: needs {energy[d]:.4g} kWh but can take at most "
            f"{room[d]:.4g} kWh before its deadline at {devices.power_cap_kw[d]} kW"
        )
