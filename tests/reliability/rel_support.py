"""Shared helpers of the reliability suite: shared stores, child processes, figures.

Child processes are started with the ``spawn`` method (never ``fork``: the parent may hold
database connections and threads), so the functions they run live here, in an importable
module, and take only picklable arguments.

Figures: :func:`record_figure` appends one JSON line per figure to the folder named by
``$AIDFLOW_RELIABILITY_FIGURES`` (set by :mod:`reliability.figures` at session start, and
inherited by xdist workers and child processes); the session-end summary adds them up and
prints the table that ``docs/reliability.md`` quotes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIGURES_ENV_VAR = "AIDFLOW_RELIABILITY_FIGURES"
CHILD_TIMEOUT = 120.0
"""Seconds a child process may take before the test kills it and fails."""
BARRIER_TIMEOUT = 20.0


def record_figure(name: str, value: float, how: str = "sum", unit: str = "") -> None:
    """Record one figure for the session summary (``how``: ``sum`` or ``max`` across tests)."""
    folder = os.environ.get(FIGURES_ENV_VAR)
    if not folder:
        return
    path = Path(folder) / f"{os.getpid()}.jsonl"
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps({"name": name, "value": value, "how": how, "unit": unit}) + "\n")


# ------------------------------------------------------------ child processes


def spawn_context() -> multiprocessing.context.SpawnContext:
    return multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class Task:
    """One command a racing worker sends: ``verb(reference, payload)`` on ``Aidflow``."""

    verb: str
    reference: str
    payload: dict[str, Any] | None = None
    retry: bool = True
    """On a conflict, retry without the barrier (at most ``MAX_RETRIES`` times)."""


@dataclass
class Outcome:
    worker: str
    index: int
    verb: str
    result: str
    """``ok``, ``conflict`` (ConcurrentUpdate, not retried or retries exhausted), ``refused``, ``crash``."""
    value: Any = None
    error: str | None = None
    message: str = ""
    conflicts: int = 0
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


MAX_RETRIES = 50


def _call(app: Any, task: Task) -> Any:
    verb = getattr(app, task.verb)
    if task.payload is None:
        return verb(task.reference)
    return verb(task.reference, task.payload)


def race_worker(  # noqa: C901 - the retry loop and its outcomes read best in one place
    name: str,
    store_url: str,
    tasks: list[Task],
    barrier: Any,
    results: Any,
    env: dict[str, str] | None = None,
) -> None:
    """Run ``tasks`` in order; before each first save, wait at ``barrier`` for the other racers.

    Every racer has loaded its aggregates and checked the rules before anyone saves, so the
    saves really race on the same aggregate versions. ``barrier=None`` runs free (no lockstep).
    """
    os.environ.update(env or {})
    from aidflow.application.errors import ConcurrentUpdate  # noqa: PLC0415 - in the child
    from aidflow.application.service import Aidflow  # noqa: PLC0415
    from aidflow.domain.errors import AidflowError  # noqa: PLC0415

    try:
        app = Aidflow(store=store_url)
    except Exception:  # noqa: BLE001 - reported to the parent, which fails the test
        crash = Outcome(worker=name, index=-1, verb="start", result="crash", message=traceback.format_exc())
        results.put(crash)
        if barrier is not None:
            barrier.abort()
        return
    original_commit = app._commit
    lockstep = {"on": barrier is not None}

    def commit(*aggregates: Any) -> None:
        if lockstep["on"]:
            barrier.wait(BARRIER_TIMEOUT)
        original_commit(*aggregates)

    app._commit = commit  # type: ignore[method-assign]
    try:
        for index, task in enumerate(tasks):
            lockstep["on"] = barrier is not None
            outcome = Outcome(worker=name, index=index, verb=task.verb, result="ok")
            while True:
                try:
                    outcome.value = _json_safe(_call(app, task))
                    outcome.result = "ok"
                except ConcurrentUpdate as error:
                    outcome.conflicts += 1
                    outcome.result, outcome.error = "conflict", "ConcurrentUpdate"
                    outcome.message = str(error)
                    if task.retry and outcome.conflicts <= MAX_RETRIES:
                        lockstep["on"] = False
                        outcome.attempts += 1
                        continue
                except AidflowError as error:
                    outcome.result, outcome.error = "refused", type(error).__name__
                    outcome.message = str(error)
                break
            results.put(outcome)
    except Exception:  # noqa: BLE001 - reported to the parent, which fails the test
        results.put(Outcome(worker=name, index=-1, verb="?", result="crash", message=traceback.format_exc()))
    finally:
        app.close()


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str | float):
        return value
    return str(value)


def run_racers(
    store_url: str,
    plans: dict[str, list[Task]],
    *,
    lockstep: bool = True,
    env: dict[str, str] | None = None,
) -> list[Outcome]:
    """Run one worker process per plan at once; return every outcome (fails on a hang or crash)."""
    ctx = spawn_context()
    barrier = ctx.Barrier(len(plans)) if lockstep else None
    queue = ctx.Queue()
    processes = [
        ctx.Process(target=race_worker, args=(name, store_url, tasks, barrier, queue, env), daemon=True)
        for name, tasks in plans.items()
    ]
    expected = sum(len(tasks) for tasks in plans.values())
    outcomes: list[Outcome] = []
    with _reaped(processes):
        for process in processes:
            process.start()
        import queue as queue_module  # noqa: PLC0415

        while len(outcomes) < expected:
            try:
                outcome = queue.get(timeout=CHILD_TIMEOUT)
            except queue_module.Empty:
                msg = f"racers hung: {len(outcomes)} of {expected} outcomes after {CHILD_TIMEOUT} s"
                raise AssertionError(msg) from None
            if outcome.result == "crash":
                msg = f"racer {outcome.worker} crashed:\n{outcome.message}"
                raise AssertionError(msg)
            outcomes.append(outcome)
        for process in processes:
            process.join(CHILD_TIMEOUT)
            assert process.exitcode == 0, f"{process.name} exited {process.exitcode}"
    return outcomes


@contextmanager
def _reaped(processes: list[Any]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(5)


def in_child(function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function(*args)`` in a fresh spawned process and return its result (a restart)."""
    ctx = spawn_context()
    queue = ctx.Queue()
    process = ctx.Process(target=_child_main, args=(function, args, queue), daemon=True)
    with _reaped([process]):
        process.start()
        ok, value = queue.get(timeout=CHILD_TIMEOUT)
        process.join(CHILD_TIMEOUT)
    if not ok:
        msg = f"child failed:\n{value}"
        raise AssertionError(msg)
    return value


def _child_main(function: Callable[..., Any], args: tuple[Any, ...], queue: Any) -> None:
    try:
        queue.put((True, function(*args)))
    except Exception:  # noqa: BLE001 - reported to the parent
        queue.put((False, traceback.format_exc()))


# ------------------------------------------------------- the session summary

FIGURE_LABELS = {
    "concurrent writers": "processes writing to one store at once (largest run)",
    "racing commands": "commands sent by racing processes",
    "conflicts detected": "saves refused with ConcurrentUpdate (then retried or reported)",
    "lost or duplicated events": "events lost or duplicated (counted, must be 0)",
    "idempotent replays": "money movements re-sent after a win or a restart, recorded 0 times",
    "kills survived": "import processes killed with SIGKILL at random points",
    "partial dossiers after kills": "dossiers found half-recorded after a kill (must be 0)",
    "bad inputs tried": "hostile inputs refused (application, dossier files, CLI, fuzz)",
    "events recorded by bad inputs": "events recorded by refused input (must be 0)",
    "tracebacks shown": "CLI runs that showed a traceback or exited 3 (must be 0)",
    "personal values scanned": "personal values searched for in raw SQLite/PostgreSQL rows",
    "bytes of personal data in clear": "bytes of personal values found in clear (must be 0)",
    "erasures verified": "subjects crypto-shredded, then replayed and chain-verified",
}


def pytest_configure(config: Any) -> None:
    """Give the session (and its xdist workers, which inherit it) a figures folder."""
    if hasattr(config, "workerinput") or os.environ.get(FIGURES_ENV_VAR):
        return
    import tempfile  # noqa: PLC0415

    os.environ[FIGURES_ENV_VAR] = tempfile.mkdtemp(prefix="aidflow-figures-")


def collect_figures(folder: Path) -> dict[str, float]:
    totals: dict[str, float] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            name, value = item["name"], item["value"]
            if item["how"] == "max":
                totals[name] = max(totals.get(name, value), value)
            else:
                totals[name] = totals.get(name, 0) + value
    return totals


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the reliability figures the tests established (quoted in docs/reliability.md)."""
    if hasattr(terminalreporter.config, "workerinput"):
        return
    folder = os.environ.get(FIGURES_ENV_VAR)
    if not folder or not Path(folder).is_dir():
        return
    totals = collect_figures(Path(folder))
    if not totals:
        return
    terminalreporter.section("aidflow reliability figures")
    for name in [*FIGURE_LABELS, *sorted(set(totals) - set(FIGURE_LABELS))]:
        if name in totals:
            value = totals[name]
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            terminalreporter.write_line(f"{name:>32}: {shown:>8}   {FIGURE_LABELS.get(name, '')}")


def start_worker(store_url: str, barrier: Any, results: Any) -> None:
    """Open the store at the same moment as the other workers, then read it."""
    barrier.wait(BARRIER_TIMEOUT)
    try:
        from aidflow.application.service import Aidflow  # noqa: PLC0415

        app = Aidflow(store=store_url)
        results.put(("ok", app.event_count()))
        app.close()
    except Exception:  # noqa: BLE001 - reported to the parent
        results.put(("crash", traceback.format_exc()))


def start_at_once(store_url: str, processes: int) -> list[tuple[str, Any]]:
    ctx = spawn_context()
    barrier = ctx.Barrier(processes)
    queue = ctx.Queue()
    workers = [ctx.Process(target=start_worker, args=(store_url, barrier, queue), daemon=True)
               for _ in range(processes)]
    with _reaped(workers):
        for worker in workers:
            worker.start()
        results = [queue.get(timeout=CHILD_TIMEOUT) for _ in workers]
        for worker in workers:
            worker.join(CHILD_TIMEOUT)
    return results
