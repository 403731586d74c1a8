"""The result of a B-RTP run: every gamma's outcome, gamma 0 first, and where the time went.

In a notebook a result shows itself as its KPI table; the ``*_frame``
methods give the same numbers as pandas DataFrames.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from BRTP.kpis import GammaKpis, GammaOutcome
from BRTP.report.series import ratio_to_reference


@dataclass(frozen=True)
class Timings:
    """Seconds spent per phase of a run (solve and KPIs summed over gammas, also when threads overlap them)."""

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

    def _slots(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(pd.to_datetime(list(self.slot_starts), utc=True), name="slot")

    def kpis_frame(self) -> pd.DataFrame:
        """One row per gamma: the spec §6 KPIs, the AUW ratio to gamma 0 and the solver's iterations."""
        reference = self.outcomes[0].kpis.auw
        rows = [
            {
                "AUW": k.auw,
                "TC": k.tc,
                "TC_desired": k.tc_desired,
                "BB": k.bb,
                "FLEX_Q": k.flex_q,
                "FLEX_R": k.flex_r,
                "FLEX_DELIVERED": k.flex_delivered,
                "DSO_REVENUE": k.dso_revenue,
                "AUW_ratio": ratio_to_reference(reference, k.auw),
                "iterations": k.iterations,
            }
            for k in self.kpis()
        ]
        return pd.DataFrame(rows, index=pd.Index(self.gammas, name="gamma"))

    def loads_frame(self) -> pd.DataFrame:
        """Per slot: the desired aggregate load (initial ECC) and the final load of every gamma (kW)."""
        columns = {"desired_kw": np.asarray(self.outcomes[0].kpis.desired_load_kw)}
        columns |= {f"gamma={o.gamma:g}": np.asarray(o.kpis.final_load_kw) for o in self.outcomes}
        return pd.DataFrame(columns, index=self._slots())

    def welfare_frame(self) -> pd.DataFrame:
        """Per prosumer: the welfare ``UW`` (EUR) for every gamma."""
        columns = {f"gamma={o.gamma:g}": np.asarray(o.kpis.uw) for o in self.outcomes}
        return pd.DataFrame(columns, index=pd.Index(self.user_names, name="prosumer"))

    def prices_frame(self) -> pd.DataFrame:
        """Per gamma and slot: the RTP price ``p`` (EUR/kWh) and the marginal behavioural value ``lambda``."""
        slots = self._slots()
        frames = [
            pd.DataFrame(
                {"gamma": o.gamma, "price": np.asarray(o.kpis.price), "lambda": np.asarray(o.kpis.marginal_value)},
                index=slots,
            )
            for o in self.outcomes
        ]
        return pd.concat(frames).set_index("gamma", append=True).reorder_levels(["gamma", "slot"])

    def __repr__(self) -> str:
        gammas = ", ".join(f"{g:g}" for g in self.gammas)
        return (
            f"<BrtpResult: {len(self.user_names)} prosumers, {len(self.slot_starts)} slots, "
            f"gamma {gammas}; {len(self.warnings)} warning(s)>"
        )

    def _repr_html_(self) -> str:
        """The KPI table, with the warnings, for Jupyter."""
        head = f"<p><b>B-RTP result</b>: {len(self.user_names)} prosumers, {len(self.slot_starts)} slots</p>"
        warnings = "".join(f"<p>⚠ {w}</p>" for w in self.warnings[:5])
        return head + str(self.kpis_frame().to_html(float_format=lambda v: f"{v:.4g}")) + warnings
