"""The task boundary and the job's three steps, run in-process on a real Redis."""

import gc
import os
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from BRTP import BrtpOptions, PricingProblem, SolverError, solve_gammas
from BRTP import run as brtp_run
from BRTP.data.serialize import job_from_bytes
from swagger_server.core.callbacks import Allowlist
from swagger_server.core.data_sources import JobDocuments, SampleFiles, UnknownNames
from swagger_server.core.job_store import JobStore
from swagger_server.core.jobs import JobRecord, JobRequest, JobState, utc_now
from swagger_server.core.settings import get_settings
from swagger_server.dataset_service import DatasetService
from swagger_server.pricing_service import PricingService
from tests.jobs import README_JOB
from workers import job_steps, resources
from workers.job_steps import assemble_job, count_start, guarded, plan_chunks, prepare_job, solve_chunk
from workers.solver_cache import KeptSolver

pytestmark = pytest.mark.integration


class BrokenSource:
    """A data source whose storage fails in a way no user can fix."""

    def unknown_names(self, prosumers: Sequence[str], flex_request: str) -> UnknownNames:
        return UnknownNames([], None)

    def fetch(self, prosumers: Sequence[str], flex_request: str, start: str, end: str) -> JobDocuments:
        raise OSError("disk on fire")


class NoQueue:
    """A queue that drops everything (these tests run the steps by hand)."""

    def enqueue(self, job_id: str) -> None:
        pass

    def revoke(self, job_id: str) -> None:
        pass


def new_job(store: JobStore, **changes: object) -> str:
    request = JobRequest.from_json({**README_JOB, "profit_margin": 34.4, **changes})
    record = JobRecord(job_id=str(uuid.uuid4()), state=JobState.QUEUED, request=request, submitted_at=utc_now())
    store.create(record)
    return record.job_id


def service(store: JobStore, debug: bool) -> PricingService:
    return PricingService(
        store,
        BrokenSource(),
        NoQueue(),
        DatasetService(store.datasets, max_upload_bytes=10**6, max_unpacked_bytes=10**7, shared=True),
        max_horizon_days=7,
        show_tracebacks=debug,
        callback_allowlist=Allowlist.parse([]),
    )


def test_internal_failure_is_stored_and_traceback_shown_only_in_debug(redis_url: str) -> None:
    store = JobStore.from_url(redis_url, retention_days=1)
    job_id = new_job(store)
    outcome = guarded(job_id, store, "", 60, lambda: prepare_job(job_id, store, store.workspace(60), BrokenSource()))
    assert outcome is None
    record = store.get(job_id)
    assert record.state is JobState.FAILED
    assert record.error == "internal error (OSError); it has been logged"
    assert service(store, debug=False).get(job_id)["traceback"] is None
    shown = service(store, debug=True).get(job_id)["traceback"]
    assert shown and "OSError: disk on fire" in shown


def test_steps_are_idempotent_when_redelivered(redis_url: str, service_sample_dir) -> None:  # type: ignore[no-untyped-def]
    store = JobStore.from_url(redis_url, retention_days=1)
    workspace = store.workspace(60)
    job_id = new_job(store, gamma_values=[1.0, 2.0, 3.0])
    gammas = prepare_job(job_id, store, workspace, SampleFiles(service_sample_dir))
    assert gammas == [0.0, 1.0, 2.0, 3.0]
    chunks = plan_chunks(list(range(len(gammas))), 3)
    assert chunks == [[0, 1, 2], [3]]
    assert plan_chunks([1, 3], 3) == [[1, 3]]  # what the sweeper re-sends: the unsolved ones only
    assert solve_chunk(job_id, chunks[0], store, workspace, "test") is False  # gamma 3 is not solved yet
    assert assemble_job(job_id, store, workspace) is False  # an early assembly waits, the job goes on
    assert store.get(job_id).state is JobState.RUNNING
    for chunk in [chunks[1], *chunks]:  # every chunk delivered twice
        assert solve_chunk(job_id, chunk, store, workspace, "test") is True  # every gamma stored: assemble
    assert store.get(job_id).progress == 1.0
    assert assemble_job(job_id, store, workspace) is True
    first = store.get(job_id)
    assert first.state is JobState.SUCCEEDED and first.result is not None
    assert first.result["raw_data"]["GAMMA"] == gammas
    # A redelivered prepare, chunk or assemble leaves the finished job alone.
    assert prepare_job(job_id, store, workspace, SampleFiles(service_sample_dir)) is None
    assert solve_chunk(job_id, [0], store, workspace, "late") is False
    assert assemble_job(job_id, store, workspace) is False
    assert store.get(job_id) == first


def test_a_workers_next_task_of_a_job_reuses_its_solver_and_gives_the_numbers_of_a_fresh_one(
    redis_url: str, service_sample_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One-gamma tasks of one job in one worker process: the parsed data is read, the QP set up and the anchor
    computed once (each depth), the stored KPIs are those of each gamma solved by a fresh process, and the
    solver goes with the job's last gamma."""
    store = JobStore.from_url(redis_url, retention_days=1)
    workspace = store.workspace(60)
    job_id = new_job(store, gamma_values=[0.5, 1.0, 2.0])
    gammas = prepare_job(job_id, store, workspace, SampleFiles(service_sample_dir))
    assert gammas is not None
    reads: list[str] = []
    load_input = workspace.load_input

    def counted(job: str) -> bytes | None:
        reads.append(job)
        return load_input(job)

    monkeypatch.setattr(workspace, "load_input", counted)
    with caplog.at_level("INFO", logger="BRTP.interior_point"):
        for index in range(len(gammas)):
            solve_chunk(job_id, [index], store, workspace, "test")
            assert (job_steps.kept_solver.get(job_id) is not None) is (index < len(gammas) - 1)
    anchors = [(r.gamma, r.gap) for r in caplog.records if r.msg == "ipm.anchored"]  # type: ignore[attr-defined]
    assert {gamma for gamma, _ in anchors} == {1.0} and len(set(anchors)) == len(anchors), anchors
    assert reads == [job_id]
    data = workspace.load_input(job_id)
    assert data is not None
    portfolio, flex_request = job_from_bytes(data)
    problem = PricingProblem(portfolio, flex_request, store.get(job_id).request.profit_margin)
    stored = workspace.results(job_id)
    for index, gamma in enumerate(gammas):
        [fresh], _ = solve_gammas(problem, [gamma], BrtpOptions())
        assert (stored[index]["flex_q"], stored[index]["auw"]) == (fresh.kpis.flex_q, fresh.kpis.auw), gamma


def test_a_kept_solver_goes_once_no_task_of_its_job_came_for_its_idle_time(
    redis_url: str, service_sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that solved some of a job's gammas (the others went to other workers, or the job was cancelled)
    lets the job's QP and anchors go after the idle time, without any further task; until then it keeps them."""
    kept = KeptSolver(idle_seconds=1.0)
    monkeypatch.setattr(job_steps, "kept_solver", kept)
    store = JobStore.from_url(redis_url, retention_days=1)
    workspace = store.workspace(60)
    job_id = new_job(store, gamma_values=[0.5, 1.0])
    assert prepare_job(job_id, store, workspace, SampleFiles(service_sample_dir)) is not None
    assert solve_chunk(job_id, [0], store, workspace, "test") is False
    kept_since = time.monotonic()  # the task kept its solver as it ended
    held = kept.get(job_id)
    assert held is not None
    solver = weakref.ref(held[1])
    del held
    # Watched through a weak reference only: asking the cache would make it forget by itself.
    while solver() is not None and time.monotonic() - kept_since < 30:
        gc.collect()
        time.sleep(0.05)
    assert solver() is None
    assert time.monotonic() - kept_since >= 1.0  # not before its idle time
    assert kept.get(job_id) is None


def test_a_worker_process_keeps_a_solver_for_kept_solver_idle_seconds() -> None:
    """The setting reaches the kept solver of a worker process started with it."""
    code = "from workers.job_steps import kept_solver; print(kept_solver.idle_seconds)"
    env = os.environ | {"KEPT_SOLVER_IDLE_SECONDS": "7.5"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split()[-1] == "7.5", out


def test_a_task_of_another_job_takes_the_kept_solvers_place(redis_url: str, service_sample_dir: Path) -> None:
    """A worker keeps one job's QP and anchors at a time: the first task of another job lets the first job's go."""
    store = JobStore.from_url(redis_url, retention_days=1)
    workspace = store.workspace(60)
    first, second = new_job(store, gamma_values=[0.5, 1.0]), new_job(store, gamma_values=[0.5, 1.0])
    for job_id in (first, second):
        assert prepare_job(job_id, store, workspace, SampleFiles(service_sample_dir)) is not None
    solve_chunk(first, [0], store, workspace, "test")
    assert job_steps.kept_solver.get(first) is not None
    solve_chunk(second, [0], store, workspace, "test")
    assert job_steps.kept_solver.get(second) is not None and job_steps.kept_solver.get(first) is None
    job_steps.kept_solver.clear()


@pytest.fixture
def worker_resources(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``workers.resources`` made anew for this test's Redis (and forgotten after it)."""

    cached = (get_settings, resources.job_store, resources.workspace, resources.data_source)
    monkeypatch.setenv("REDIS_URL", redis_url)
    for each in cached:
        each.cache_clear()
    yield
    for each in cached:
        each.cache_clear()


def test_a_failing_gamma_fails_the_job_naming_it(
    redis_url: str, service_sample_dir, worker_resources, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The solve task's own wording: which gamma failed, then the solver's message."""
    from workers.tasks import solve_chunk_task  # the Celery app is made from the settings when first imported

    store = JobStore.from_url(redis_url, retention_days=1)
    job_id = new_job(store, gamma_values=[0.5, 4.0])
    prepare_job(job_id, store, store.workspace(60), SampleFiles(service_sample_dir))

    def no_solver(*args: object, **kwargs: object) -> None:
        raise SolverError("PIQP ended with PIQP_MAX_ITER_REACHED for gamma=4.0")

    monkeypatch.setattr("workers.job_steps.solve_gammas", no_solver)
    solve_chunk_task.run(job_id, [1, 2])  # the task body, as a worker runs it (gammas 0, 0.5, 4)
    record = store.get(job_id)
    assert record.state is JobState.FAILED
    assert record.error == "solving gamma 0.5, 4: PIQP ended with PIQP_MAX_ITER_REACHED for gamma=4.0"


def test_a_task_whose_process_died_every_time_fails_its_job_at_its_next_start(
    redis_url: str, service_sample_dir: Path
) -> None:
    """Two starts of the delivery of the task for gammas 1 and 2 counted (their processes died), none finished:
    with TASK_MAX_STARTS 2 its third start fails the job, naming the gammas and what to do, before solving
    anything; another delivery of the job (another task, or the same task's retry) counts on its own."""
    store = JobStore.from_url(redis_url, retention_days=1)
    workspace = store.workspace(60)
    job_id = new_job(store, gamma_values=[0.5, 1.0, 2.0])
    prepare_job(job_id, store, workspace, SampleFiles(service_sample_dir))
    count_start(workspace, job_id, "other-task:0", max_starts=2)
    assert solve_chunk(job_id, [0], store, workspace, "t") is False
    for _ in range(2):
        count_start(workspace, job_id, "task-1-2:0", max_starts=2)
    count_start(workspace, job_id, "task-1-2:1", max_starts=2)  # a retry of it: a count of its own

    def third_start() -> bool:
        count_start(workspace, job_id, "task-1-2:0", max_starts=2)
        return solve_chunk(job_id, [1, 2], store, workspace, "t")

    assert guarded(job_id, store, "solving gamma 0.5, 1", 60, third_start) is None
    record = store.get(job_id, with_result=False)
    assert record.state is JobState.FAILED
    assert record.error is not None and record.error.startswith(
        "solving gamma 0.5, 1: the worker process running this step stopped 2 times before it finished"
    ), record.error
    assert workspace.done(job_id) == {0}


def test_every_job_step_counts_its_starts_and_the_fetch_fails_its_job_at_the_limit(
    redis_url: str, service_sample_dir: Path, worker_resources: None
) -> None:
    """The fetch (parsing a large portfolio is where a worker runs out of memory) counts its starts as the solve
    and the assembly do: its delivery (task id, retry 0) started TASK_MAX_STARTS (5) times, the next start fails
    the job before fetching; the task body as a worker runs it."""
    from workers.tasks import run_job  # the Celery app is made from the settings when first imported

    store = JobStore.from_url(redis_url, retention_days=1)
    workspace = store.workspace(60)
    job_id = new_job(store)
    for _ in range(5):
        assert workspace.count_start(job_id, "fetch-task:0") <= 5
    run_job.apply(args=[job_id], task_id="fetch-task")
    record = store.get(job_id, with_result=False)
    assert record.state is JobState.FAILED
    assert record.error == (
        "the worker process running this step stopped 5 times before it finished (killed, most likely for lack of "
        "memory or past TASK_TIME_LIMIT, or crashed); submit fewer prosumers or gamma values, or give each worker "
        "process more memory"
    )
    assert not workspace.has_input(job_id)  # it stopped before the fetch


def test_a_cancel_stops_a_chunk_after_the_gamma_being_solved(redis_url: str, service_sample_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """DELETE while a task solves the first of five gammas: it stores that one and solves no other."""
    store = JobStore.from_url(redis_url, retention_days=1)
    workspace = store.workspace(60)
    job_id = new_job(store, gamma_values=[0.5, 1.0, 1.5, 2.0])
    prepare_job(job_id, store, workspace, SampleFiles(service_sample_dir))
    solved: list[float] = []

    def cancelled_during_the_first(problem, gammas, options, on_outcome, solver):  # type: ignore[no-untyped-def]
        def outcome(result):  # type: ignore[no-untyped-def]
            solved.append(result.kpis.gamma)
            if len(solved) == 1:
                store.revoke(job_id)  # the DELETE, arriving while this gamma was being solved
            on_outcome(result)

        return brtp_run.solve_gammas(problem, gammas, options, on_outcome=outcome, solver=solver)

    monkeypatch.setattr("workers.job_steps.solve_gammas", cancelled_during_the_first)
    outcome = guarded(job_id, store, "solving", 60, lambda: solve_chunk(job_id, [0, 1, 2, 3, 4], store, workspace, "t"))
    assert outcome is None  # the task ended on the cancel, not after its chunk
    assert solved == [0.0]
    assert workspace.done(job_id) == {0}
    assert store.state(job_id) is JobState.CANCELLED


def test_concurrent_submits_with_one_idempotency_key_make_one_job_and_every_answer_reads(redis_url: str) -> None:
    """The key and the record are written in one step: no caller ever gets a key whose job is not there yet."""
    store = JobStore.from_url(redis_url, retention_days=1)
    key = f"retry-{uuid.uuid4()}"
    request = JobRequest.from_json({**README_JOB, "profit_margin": 34.4})

    def submit_once(_: int) -> tuple[str, bool]:
        record = JobRecord(job_id=str(uuid.uuid4()), state=JobState.QUEUED, request=request, submitted_at=utc_now())
        stored, created = store.create(record, key)
        return store.get(stored.job_id).job_id, created

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(submit_once, range(60)))
    assert len({job_id for job_id, _ in answers}) == 1
    assert sum(created for _, created in answers) == 1


def test_each_worker_process_limits_blas_to_worker_blas_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool processes' start hook applies WORKER_BLAS_THREADS to every BLAS/OpenMP library numpy loaded."""
    from workers.celery_app import configure_worker_process  # the Celery app is made from the settings on import

    before = max(lib["num_threads"] for lib in threadpool_info())
    try:
        for threads in (1, 2):
            monkeypatch.setenv("WORKER_BLAS_THREADS", str(threads))
            get_settings.cache_clear()
            configure_worker_process()
            libraries = threadpool_info()
            assert libraries and {lib["num_threads"] for lib in libraries} == {threads}, libraries
    finally:
        get_settings.cache_clear()
        threadpool_limits(limits=before)
