"""KPIs: pure functions of a :class:`~BRTP.solution.Solution` (spec §6)."""

from BRTP.kpis.outcome import GammaOutcome, compute_outcome
from BRTP.kpis.summary import GammaKpis

__all__ = ["GammaKpis", "GammaOutcome", "compute_outcome"]
