"""The result of a B-RTP run: every gamma's outcome, gamma 0 first, and where the time went."""

from dataclasses import dataclass, field

from BRTP.kpis import GammaKpis, GammaOutcome


@dataclass(frozen=True)
class Timings:
    """Seconds spent per phase of a run."""

    build: float = 0.0
    solve: float = 0.0
    solver_own: float = 0.0
    kpis: float = 0.0

    @property
    def total(self) -> float:
        """Build + solve + KPIs."""
        return self.build + self.solve + self.kpis


@dataclass(frozen=True)
class BrtpResult:
    """Outcomes for every gamma of a job, gamma 0 first."""

    user_names: tuple[str, ...]
    slot_starts: tuple[str, ...]
    outcomes: tuple[GammaOutcome, ...]
    warnings: tuple[str, ...] = field(default=())
    timings: Timings = field(default_factory=Timings)

    @property
    def gammas(self) -> list[float]:
        """The gamma values, in run order."""
        return [o.gamma for o in self.outcomes]

    def kpis(self) -> list[GammaKpis]:
        """The KPIs of every gamma."""
        return [o.kpis for o in self.outcomes]
