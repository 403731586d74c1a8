"""The solver a worker process keeps between the tasks of one job.

A job's gammas are solved one (``GAMMAS_PER_TASK``) per task, on any worker. A
one-gamma task that set the QP up and computed an interior-point anchor for its
one gamma would take longer than a cold start (docs/solver.md), so a worker
keeps the problem and solver of the job it solved last for that job's next
task here. It keeps one job at a time, and lets it go:

- when a task of another job comes (that job's solver replaces it);
- when the job's last gamma is stored by this worker (:meth:`KeptSolver.drop`);
- after ``idle_seconds`` (the setting ``KEPT_SOLVER_IDLE_SECONDS``, 60 s) without
  a task of the job (its last gamma was solved by another worker, or the job
  failed or was cancelled), so that an idle
  worker does not hold a finished job's QP and anchors (dropping them gave back
  56 MB at 10 000 prosumers and 0.5 GB at 100 000). ``cachetools.TTLCache``
  only forgets when it is next used, so a timer thread asks it to.
"""

import threading
import time

from cachetools import TTLCache

from BRTP import PricingProblem
from BRTP.solve import GammaSolver

JobSolver = tuple[PricingProblem, GammaSolver]


class KeptSolver:
    """One job's problem and solver, kept by a worker process until one of the events above; thread-safe."""

    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._cache: TTLCache[str, JobSolver] = TTLCache(maxsize=1, ttl=idle_seconds, timer=time.monotonic)
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def get(self, job_id: str) -> JobSolver | None:
        """The job's kept problem and solver, or ``None``."""
        with self._lock:
            return self._cache.get(job_id)

    def keep(self, job_id: str, kept: JobSolver) -> None:
        """Keep ``kept`` for the job's next task, for ``idle_seconds`` from now (another job's goes)."""
        with self._lock:
            self._cache[job_id] = kept
            if self._timer is not None:
                self._timer.cancel()
            # A little after the entry's expiry, so that the cache sees it expired.
            self._timer = threading.Timer(self.idle_seconds * 1.01 + 0.01, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def drop(self, job_id: str) -> None:
        """Forget the job's solver now (its last gamma is stored)."""
        with self._lock:
            self._cache.pop(job_id, None)

    def clear(self) -> None:
        """Forget whatever is kept (a task of another job is about to make its own)."""
        with self._lock:
            self._cache.clear()

    def _expire(self) -> None:
        with self._lock:
            self._cache.expire()
