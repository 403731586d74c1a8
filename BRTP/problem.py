"""The inputs of one family of B-RTP QPs: everything but gamma (spec §2, §5)."""

import math
from dataclasses import dataclass

from BRTP.data.portfolio import FlexRequest, Portfolio
from BRTP.errors import InvalidInputError

#: The aggregator's default energy-cost coefficient ``a`` in EUR/kW^2h ([compat], spec §2).
DEFAULT_ENERGY_COST = 0.03


@dataclass(frozen=True)
class PricingProblem:
    """A portfolio, the flex request on its grid, the profit margin and the energy cost.

    Gamma is not part of it: it changes only the linear costs of ``z`` and
    ``n`` (spec §5), so one problem is set up once and re-solved per gamma.

    Attributes
    ----------
    portfolio, flex_request
        Validated inputs on the same slot grid.
    profit_margin
        ``pr >= 0`` as a fraction (0.2 = 20 %).
    energy_cost
        ``a`` in EUR/kW^2h.
    """

    portfolio: Portfolio
    flex_request: FlexRequest
    profit_margin: float
    energy_cost: float = DEFAULT_ENERGY_COST

    def __post_init__(self) -> None:
        if not math.isfinite(self.profit_margin) or self.profit_margin < 0:
            raise InvalidInputError(f"profit_margin: {self.profit_margin!r} is not a finite non-negative number")
        if not math.isfinite(self.energy_cost) or self.energy_cost <= 0:
            raise InvalidInputError(f"energy_cost: {self.energy_cost!r} is not a finite positive number")
        if self.flex_request.widths_kw.shape[0] != self.portfolio.n_slots:
            raise InvalidInputError(
                f"flex request {self.flex_request.name} has {self.flex_request.widths_kw.shape[0]} slots, "
                f"the portfolio {self.portfolio.n_slots}"
            )

    @property
    def price_weight(self) -> float:
        """``(1 + pr) * a``: the RTP price per kW of aggregate load, ``p[t] = (1+pr) * a * L[t]`` (spec §6)."""
        return (1.0 + self.profit_margin) * self.energy_cost
