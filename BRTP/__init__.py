"""B-RTP pricing for a portfolio of demand-response prosumers.

A plain Python package (no web, queue or settings imports). Typical use::

    from BRTP import portfolio_from_documents, flex_request_from_documents, run_brtp

    portfolio = portfolio_from_documents(prosumers, curtailable_loads, load_entries,
                                         start, end, user_names=names)
    request = flex_request_from_documents(flex_request_doc, data_points, portfolio.grid)
    result = run_brtp(portfolio, request, profit_margin=0.2, gammas=[1.0, 2.0])

The model is written out in ``docs/model.md``; the design choices it leaves
open are listed in :data:`BRTP.options.MODEL_CHOICES`.
"""

from BRTP.data import (
    Devices,
    FlexRequest,
    Portfolio,
    SlotGrid,
    flex_request_from_documents,
    portfolio_from_documents,
)
from BRTP.errors import BrtpError, InfeasibleJobError, InvalidInputError, SolverError
from BRTP.kpis import GammaKpis, GammaOutcome
from BRTP.options import MODEL_CHOICES, BrtpOptions
from BRTP.problem import PricingProblem
from BRTP.report.series import plots, pricing_data, raw_data
from BRTP.result import BrtpResult, Timings
from BRTP.run import ProgressCallback, normalise_gammas, run_brtp, solve_gammas

#: The project's version (the one place it is written; ``pyproject.toml`` reads it).
__version__ = "2.1.0"

__all__ = [
    "MODEL_CHOICES",
    "BrtpError",
    "BrtpOptions",
    "BrtpResult",
    "Devices",
    "FlexRequest",
    "GammaKpis",
    "GammaOutcome",
    "InfeasibleJobError",
    "InvalidInputError",
    "Portfolio",
    "PricingProblem",
    "ProgressCallback",
    "SlotGrid",
    "SolverError",
    "Timings",
    "__version__",
    "flex_request_from_documents",
    "normalise_gammas",
    "plots",
    "portfolio_from_documents",
    "pricing_data",
    "raw_data",
    "run_brtp",
    "solve_gammas",
]
