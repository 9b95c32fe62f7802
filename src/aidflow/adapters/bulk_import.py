"""Bulk import of dossier files: many dossiers per transaction, each dossier all or nothing.

``import_jsonl(app, path)`` reads a JSON Lines file (one dossier, as in DOSSIER.md, per
line) and records its dossiers in batches: every dossier of a batch is run through the same
verbs as ``aidflow dossier run``, against a :class:`DossierBatch` that keeps the changed
aggregates in memory (``Aidflow.unit_of_work``), and the whole batch is then written by one
``app.save(*aggregates)``, i.e. one database transaction.

Guarantees:

* **Per-dossier atomicity.** A refused dossier (bad line, bad header, any refused step)
  records nothing at all, unlike ``aidflow dossier run`` which keeps the steps before the
  refused one. The dossiers around it in the batch are recorded as usual.
* **Crash safety.** A batch is one transaction: a killed import leaves only whole batches,
  hence only whole dossiers.
* **Resumable, no duplicates.** A dossier whose application reference is already in the
  store (or earlier in the same file) is skipped and reported as such, so re-running a file
  after a crash records exactly the dossiers that were missing.
* **Concurrent writers.** If another writer changes an aggregate of the batch in the
  meantime, the batch's save fails as a whole and the batch is run again from the store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from aidflow.adapters.fast import project
from aidflow.application import commands as c
from aidflow.application.dossier import StepRefused, parse_header, parse_step
from aidflow.application.dossier import _apply as apply_step  # the dossier runner's own step dispatch
from aidflow.application.errors import InputError
from aidflow.application.service import Aidflow
from aidflow.domain.errors import AidflowError
from aidflow.domain.identity import application_id

DEFAULT_BATCH_SIZE = 200
"""Dossiers per transaction: about 2 000 events of realistic dossiers (docs/scaling.md)."""

MAX_LINE_BYTES = 5 * 1024 * 1024
"""The same limit as one dossier file (``aidflow dossier run``)."""

MAX_BATCH_ATTEMPTS = 5


@dataclass(frozen=True)
class RefusedDossier:
    """A dossier that was not recorded, and why."""

    line: int
    reference: str | None
    field: str | None
    message: str


@dataclass
class ImportReport:
    """What an import did. ``recorded + skipped + refused`` is the number of non-blank lines."""

    path: str
    recorded: int = 0
    events: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    refused: list[RefusedDossier] = field(default_factory=list)
    batches: int = 0
    retried_batches: int = 0
    seconds: float = 0.0

    @property
    def lines(self) -> int:
        return self.recorded + len(self.skipped) + len(self.refused)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "recorded": self.recorded,
            "events": self.events,
            "skipped": [{"line": line, "reference": ref} for line, ref in self.skipped],
            "refused": [
                {"line": r.line, "reference": r.reference, "field": r.field, "message": r.message}
                for r in self.refused
            ],
            "batches": self.batches,
            "retried_batches": self.retried_batches,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class ImportProgress:
    """Passed to the ``progress`` callback after each batch."""

    lines_done: int
    bytes_done: int
    bytes_total: int
    recorded: int
    skipped: int
    refused: int


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    size: int


class _BatchPoisonedError(Exception):
    """A refused dossier had changed an aggregate shared with earlier dossiers of the batch."""


class DossierBatch:
    """The unit of work of one batch (``Aidflow.unit_of_work``).

    Aggregates staged by the dossiers already accepted in the batch are kept here with their
    pending events; the current dossier's aggregates are kept apart until it is accepted. A
    refused dossier's aggregates are dropped. If it had changed an aggregate that earlier
    dossiers of the batch share (the same company, say), the batch cannot be undone in memory
    and :meth:`refuse` raises, so that the importer runs the batch again without it.
    """

    def __init__(self, app: Aidflow) -> None:
        self._app = app
        self._batch: dict[UUID, Aggregate] = {}
        self._missing: set[UUID] = set()
        self._dossier: dict[UUID, Aggregate] = {}
        self._borrowed: dict[UUID, int] = {}

    # -- UnitOfWork --------------------------------------------------------------

    def get(self, aggregate_id: UUID) -> Aggregate:
        found = self._dossier.get(aggregate_id)
        if found is not None:
            return found
        found = self._batch.get(aggregate_id)
        if found is not None:
            self._borrowed.setdefault(aggregate_id, found.version)
            return found
        if aggregate_id in self._missing:
            raise AggregateNotFoundError(aggregate_id)
        try:
            stored: Aggregate = self._app.repository.get(aggregate_id, projector_func=project)
        except AggregateNotFoundError:
            self._missing.add(aggregate_id)
            raise
        # Read from the store by this dossier: it joins the batch only if the dossier does.
        self._dossier[aggregate_id] = stored
        return stored

    def stage(self, *aggregates: Aggregate | None) -> None:
        for aggregate in aggregates:
            if aggregate is not None and aggregate.id not in self._batch:
                self._dossier[aggregate.id] = aggregate
            elif aggregate is not None and self._batch[aggregate.id] is not aggregate:  # pragma: no cover
                msg = f"two copies of aggregate {aggregate.id} in one batch"
                raise RuntimeError(msg)

    # -- dossier boundaries --------------------------------------------------------

    def accept(self) -> None:
        """The current dossier is recorded with the batch."""
        self._batch.update(self._dossier)
        self._dossier = {}
        self._borrowed = {}

    def refuse(self) -> None:
        """Drop the current dossier; raise if it changed an aggregate earlier dossiers share."""
        self._dossier = {}
        changed = [i for i, version in self._borrowed.items() if self._batch[i].version != version]
        self._borrowed = {}
        if changed:
            raise _BatchPoisonedError

    def aggregates(self) -> list[Aggregate]:
        """Every aggregate with pending events (what the batch's one ``save`` writes)."""
        return [a for a in self._batch.values() if a.pending_events]

    def __contains__(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self._dossier or aggregate_id in self._batch


def _read_lines(path: Path) -> Iterator[_Line]:
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if raw.strip():
                yield _Line(number, raw.decode("utf-8", errors="surrogateescape"), len(raw))


def _parse(line: _Line) -> tuple[dict[str, Any], str]:
    """The dossier of a line and its reference; raises InputError with a clear message."""
    if line.size > MAX_LINE_BYTES:
        msg = f"the line is {line.size} bytes; a dossier is limited to {MAX_LINE_BYTES} bytes"
        raise InputError(msg, field="line", value=line.size)
    try:
        data = json.loads(line.text)
    except json.JSONDecodeError as error:
        msg = f"not valid JSON: {error.msg} at column {error.colno}"
        raise InputError(msg, field="line", value=None) from None
    except (RecursionError, UnicodeEncodeError):
        msg = "not a readable JSON dossier (nested too deeply, or not UTF-8)"
        raise InputError(msg, field="line", value=None) from None
    if not isinstance(data, Mapping):
        msg = f"each line must hold one JSON object (a dossier), not {type(data).__name__}"
        raise InputError(msg, field="line", value=type(data).__name__)
    reference = data.get("reference")
    return dict(data), reference if isinstance(reference, str) else ""


def record_steps(app: Aidflow, data: Mapping[str, Any]) -> None:
    """Every step of a dossier, as ``run_dossier`` records them (without building its view)."""
    header, steps = parse_header(data)
    for index, raw_step in enumerate(steps):
        step: c.Step = parse_step(index, raw_step)
        try:
            apply_step(app, header, step)
        except StepRefused:
            raise
        except AidflowError as error:
            raise StepRefused(index, getattr(step, "do", None), error) from None


class _BatchRun:
    """One attempt at one batch: which lines it recorded, skipped and refused."""

    def __init__(self, app: Aidflow, lines: list[_Line], excluded: dict[int, RefusedDossier]) -> None:
        self.app = app
        self.lines = lines
        self.refused = dict(excluded)
        self.skipped: list[tuple[int, str]] = []
        self.recorded = 0
        self.events = 0

    def run(self) -> None:
        batch = DossierBatch(self.app)
        self.app.unit_of_work = batch
        try:
            for line in self.lines:
                if line.number not in self.refused:
                    self._one(batch, line)
        finally:
            self.app.unit_of_work = None
        aggregates = batch.aggregates()
        if aggregates:
            events = sum(len(a.pending_events) for a in aggregates)
            self.app.save(*aggregates)
            self.events = events

    def _one(self, batch: DossierBatch, line: _Line) -> None:
        reference: str | None = None
        try:
            data, reference = _parse(line)
            if reference and self._exists(batch, reference):
                self.skipped.append((line.number, reference))
                return
            record_steps(self.app, data)
        except AidflowError as error:
            self.refused[line.number] = RefusedDossier(
                line.number, reference or None, error.field, error.message
            )
            batch.refuse()
        else:
            batch.accept()
            self.recorded += 1

    def _exists(self, batch: DossierBatch, reference: str) -> bool:
        identifier = application_id(reference)
        if identifier in batch:
            return True
        return bool(self.app.recorder.select_events(identifier, limit=1))


def _batches(lines: Iterator[_Line], size: int) -> Iterator[list[_Line]]:
    batch: list[_Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_jsonl(
    app: Aidflow,
    path: Path | str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[ImportProgress], None] | None = None,
) -> ImportReport:
    """Record every dossier of a JSON Lines file, ``batch_size`` dossiers per transaction.

    Returns the report: recorded, skipped (already in the store or earlier in the file) and
    refused dossiers, with the line number, the field and the reason of each refusal.

    Raises:
        InputError: the file cannot be read, or ``batch_size`` is not positive.
    """
    source = Path(path)
    if batch_size < 1:
        msg = f"the batch size must be at least 1, got {batch_size}"
        raise InputError(msg, field="batch_size", value=batch_size)
    try:
        total = source.stat().st_size
    except OSError as error:
        msg = f"cannot read {str(source)!r}: {error.strerror}"
        raise InputError(msg, field="file", value=str(source)) from None
    report = ImportReport(path=str(source))
    started = time.perf_counter()
    done = 0
    for lines in _batches(_read_lines(source), batch_size):
        run = _run_batch(app, lines, report)
        report.recorded += run.recorded
        report.events += run.events
        report.skipped += run.skipped
        report.refused += sorted(run.refused.values(), key=lambda r: r.line)
        report.batches += 1
        done += sum(line.size for line in lines)
        if progress is not None:
            progress(ImportProgress(
                lines_done=lines[-1].number, bytes_done=done, bytes_total=total,
                recorded=report.recorded, skipped=len(report.skipped), refused=len(report.refused),
            ))
    report.seconds = time.perf_counter() - started
    return report


def _run_batch(app: Aidflow, lines: list[_Line], report: ImportReport) -> _BatchRun:
    """Run a batch until it saves: again without a dossier that poisoned it, or after a conflict."""
    excluded: dict[int, RefusedDossier] = {}
    for _ in range(MAX_BATCH_ATTEMPTS):
        run = _BatchRun(app, lines, excluded)
        try:
            run.run()
        except _BatchPoisonedError:
            excluded = run.refused
        except IntegrityError:
            pass  # another writer recorded some of these aggregates meanwhile: run again
        else:
            return run
        report.retried_batches += 1
    return _run_one_by_one(app, lines, excluded, report)


def _run_one_by_one(
    app: Aidflow, lines: list[_Line], excluded: dict[int, RefusedDossier], report: ImportReport
) -> _BatchRun:
    """The last resort for a batch that keeps conflicting: one dossier per transaction."""
    merged = _BatchRun(app, [], excluded)
    for line in lines:
        if line.number in merged.refused:
            continue
        single = _BatchRun(app, [line], {})
        try:
            single.run()
        except _BatchPoisonedError:  # pragma: no cover - one dossier shares nothing in its batch
            merged.refused.update(single.refused)
            continue
        except IntegrityError:
            merged.refused[line.number] = RefusedDossier(
                line.number, None, None, "another writer changed this dossier at the same time; retry"
            )
            continue
        merged.recorded += single.recorded
        merged.events += single.events
        merged.skipped += single.skipped
        merged.refused.update(single.refused)
    report.retried_batches += 1
    return merged
