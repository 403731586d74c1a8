"""Readiness: can this instance take jobs? Broker, job store and solver are checked."""

from collections.abc import Callable

import structlog

logger = structlog.get_logger(__name__)

Check = Callable[[], object]


class ReadinessProbe:
    """Runs named checks; each raises when its dependency is not usable."""

    def __init__(self, checks: dict[str, Check]) -> None:
        self.checks = checks

    def run(self) -> dict[str, str]:
        """``{name: "ok" | "error: ..."}`` for every check."""
        outcome: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                check()
                outcome[name] = "ok"
            except Exception as exc:  # a probe reports every failure, whatever its type
                logger.warning("ready.check_failed", check=name, error=exc)
                outcome[name] = f"error: {exc}"
        return outcome


def solver_check() -> None:
    """PIQP imports and solves a one-variable QP."""
    import numpy as np
    import piqp
    import scipy.sparse as sp

    solver = piqp.SparseSolver()
    solver.setup(sp.csc_matrix(np.eye(1)), np.array([-1.0]))
    if solver.solve() != piqp.PIQP_SOLVED:
        raise RuntimeError("PIQP could not solve a trivial QP")
