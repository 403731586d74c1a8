"""lambda at request breakpoints is read from the link duals: exact at any size, no kW tolerance."""

import numpy as np

from BRTP import FlexRequest, run_brtp
from BRTP.data.synthetic import REQUEST, synthetic_dataset
from BRTP.kpis.welfare import marginal_value, marginal_value_from_duals

# One slot, the FlexGrid origin step then three steps: 0-4000 kW at 3, 4000-10000 kW at 2, 10000-12000 kW at 1.
REQUEST_CURVE = FlexRequest(
    name="big", widths_kw=np.array([[0.0, 4000.0, 6000.0, 2000.0]]), prices=np.array([[0.0, 3.0, 2.0, 1.0]])
)


def lam(u: float, nu: float, gamma: float = 2.0) -> float:
    return float(marginal_value_from_duals(REQUEST_CURVE, np.array([u]), np.array([nu]), gamma, 1e-6)[0])


def test_a_breakpoint_is_recognised_from_the_dual_where_a_kw_snap_is_not() -> None:
    # u = 4000 kW exactly, solved to 1e-4 kW at this scale: the snap (1e-6 kW) cannot tell which side it is on.
    for u in (4000.0 - 1e-4, 4000.0 + 1e-4):
        assert lam(u, nu=2.0 * 2.5) == 3.0  # nu/gamma strictly between 3 and 2: on the breakpoint, left price 3
    assert float(marginal_value(REQUEST_CURVE, np.array([4000.0 + 1e-4]), 1e-6)[0]) == 2.0  # the snap misreads it


def test_inside_a_step_beyond_qmax_and_below_zero() -> None:
    assert lam(7000.0, nu=2.0 * 2.0) == 2.0  # nu/gamma equals the step's price: inside it
    assert lam(12000.0 + 1e-3, nu=0.0) == 0.0  # nothing valued at the margin and past Qmax
    assert lam(12000.0, nu=2.0 * 0.5) == 1.0  # at Qmax exactly: the last step's price
    assert lam(-50.0, nu=2.0 * 3.0) == 3.0  # an increase costs the first price
    assert lam(4000.0, nu=2.0 * 2.0) == 3.0  # degenerate twice (a price and a breakpoint): the left derivative


def test_results_at_ten_thousand_kw_read_lambda_from_their_duals() -> None:
    portfolio, request = synthetic_dataset(1000, seed=4).job(REQUEST)
    outcome = run_brtp(portfolio, request, 0.2, [1.5]).outcomes[1]
    nu, u = outcome.solution.link_dual, outcome.net_reduction_kw
    assert nu is not None and request.max_kw.max() > 1000  # aggregate kW: the scale where a kW snap fails
    expected = marginal_value_from_duals(request, u, nu, 1.5, 1e-6)
    np.testing.assert_array_equal(np.asarray(outcome.kpis.marginal_value), expected)
