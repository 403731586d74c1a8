"""KPIs: pure functions of a :class:`~BRTP.solution.Solution` (spec §6)."""

from BRTP.kpis.outcome import GammaOutcome, compute_outcome

__all__ = ["GammaOutcome", "compute_outcome"]
