"""Audit verbs (issue 6): time travel over any aggregate, tamper evidence, bundles, SCDL.

*Time travel* (RULES.md §6: "An aid's history is replayable as of any business date, and as
the Region knew it at any past recording time"). A :class:`Lens` selects, from an
aggregate's stored events,

- ``as_of``: the facts whose business date is on or before that date (an event without a
  business date of its own takes the date of the event before it), and/or
- ``known_at``: the events *recorded* at or before that instant, even if back-dated: a late
  declaration does not change what the Region knew before it arrived.

Inside :func:`viewing` every query of the application (``dossier``, ``preview_clawback``,
``monitoring_due``…) sees aggregates replayed through the lens, and "today" is the lens
date, so views that depend on the date stay consistent. Replays never use snapshots or the
cache, and tolerate the version gaps left by filtered-out events. Nothing can be recorded
while viewing (:class:`ReadOnlyView`). All of this works on events generically: a new
event type needs no change here, as long as its business date is in one of the fields that
:func:`aidflow.application.service.business_date` reads.

The :class:`AuditVerbs` mixin gives ``Aidflow`` these verbs; the module functions take the
application as first argument and hold the logic.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import (
    Aggregate,
    CanMutateAggregate,
    DomainEventProtocol,
    MutableOrImmutableAggregate,
    TDomainEvent,
    TMutableOrImmutableAggregate,
)
from eventsourcing.persistence import Recording

import aidflow
from aidflow.adapters import bundle as bundles
from aidflow.adapters import scdl
from aidflow.adapters.chain import ChainedRecorder, ChainReport, LinkRow, running_digests
from aidflow.adapters.chain import verify as verify_rows
from aidflow.adapters.store import describe_store
from aidflow.application import service
from aidflow.application.errors import NotFound
from aidflow.application.views import DossierView, HistoryEntry, View
from aidflow.domain.errors import AidflowError
from aidflow.domain.identity import application_id, company_id, convention_id, scheme_id

if TYPE_CHECKING:
    from eventsourcing.application import ProjectorFunction

    from aidflow.application.service import Aidflow

_ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic")


class ReadOnlyView(AidflowError):
    """A command was attempted while viewing the store through a lens."""


class ChainUnavailable(AidflowError):
    """The store keeps no hash chain (the in-memory store, or a store opened without it)."""


# ---------------------------------------------------------------- the lens


def as_utc(moment: datetime) -> datetime:
    """An aware datetime; a naive one is taken as UTC (recording times are stored in UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class Lens:
    """Which facts a replay keeps: by business date (``as_of``) and recording time (``known_at``)."""

    as_of: date | None = None
    known_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.known_at is not None:
            object.__setattr__(self, "known_at", as_utc(self.known_at))

    @property
    def today(self) -> date | None:
        """The date the view is taken on: ``as_of``, else the day of ``known_at`` (UTC)."""
        if self.as_of is not None:
            return self.as_of
        return None if self.known_at is None else self.known_at.date()

    def keeps(self, facts: Sequence[tuple[date | None, datetime]]) -> list[bool]:
        """For one aggregate's events in version order (business date, recorded at), which stay."""
        kept = []
        effective: date | None = None
        for on, recorded_at in facts:
            effective = on if on is not None else effective
            by_date = self.as_of is None or effective is None or effective <= self.as_of
            by_time = self.known_at is None or as_utc(recorded_at) <= self.known_at
            kept.append(by_date and by_time)
        return kept


def event_facts(domain_event: object) -> dict[str, Any]:
    """An event's recorded facts: its attributes without the envelope."""
    return {k: v for k, v in vars(domain_event).items() if k not in _ENVELOPE}


def recorded_at(domain_event: object) -> datetime:
    """When an event was recorded (eventsourcing's ``timestamp``, UTC)."""
    moment = getattr(domain_event, "timestamp", None)
    if not isinstance(moment, datetime):  # pragma: no cover - every aggregate event has one
        msg = f"event {type(domain_event).__qualname__} has no recording timestamp"
        raise TypeError(msg)
    return moment


def select_events(events: Iterable[TDomainEvent], lens: Lens) -> list[TDomainEvent]:
    """The events of one aggregate (in version order) that the lens keeps."""
    listed = list(events)
    facts = [(service.business_date(event_facts(e)), recorded_at(e)) for e in listed]
    return [e for e, keep in zip(listed, lens.keeps(facts), strict=True) if keep]


def project_tolerating_gaps(
    aggregate: Aggregate | None, domain_events: Iterable[CanMutateAggregate[UUID]]
) -> Aggregate | None:
    """Like eventsourcing's ``project_aggregate``, but versions may skip filtered-out events.

    ``CanMutateAggregate.mutate`` refuses an event that is not the next version; the
    aggregate's version is set just below each event's before applying it.
    """
    for domain_event in domain_events:
        if aggregate is not None:
            aggregate.version = domain_event.originator_version - 1
        aggregate = domain_event.mutate(aggregate)
    return aggregate


def replay(events: Iterable[CanMutateAggregate[UUID]], lens: Lens) -> Aggregate | None:
    """The aggregate as the lens shows it; None if its creation is not kept."""
    listed = list(events)
    selected = select_events(listed, lens)
    if not selected or selected[0] is not listed[0]:
        return None
    return project_tolerating_gaps(None, selected)


_LENSES: ContextVar[Mapping[int, Lens]] = ContextVar("aidflow_lenses", default=MappingProxyType({}))
"""Active lenses, by ``id()`` of the application's repository (so apps never share one)."""


def active_lens(repository: object) -> Lens | None:
    return _LENSES.get().get(id(repository))


class LensRepository(Repository[UUID]):
    """A repository that replays through the active lens, if any (else behaves as usual)."""

    @classmethod
    def like(cls, repository: Repository[UUID]) -> LensRepository:
        """This class with the state of a freshly constructed repository (same settings)."""
        lens_repository = cls.__new__(cls)
        vars(lens_repository).update(vars(repository))
        return lens_repository

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: ProjectorFunction[TMutableOrImmutableAggregate, TDomainEvent] = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> TMutableOrImmutableAggregate:
        lens = active_lens(self)
        if lens is None:
            return super().get(
                aggregate_id, version=version, projector_func=projector_func,
                fastforward_skipping=fastforward_skipping, deepcopy_from_cache=deepcopy_from_cache,
            )
        events = cast("list[CanMutateAggregate[UUID]]", list(self.event_store.get(aggregate_id, lte=version)))
        aggregate = replay(events, lens)
        if aggregate is None:
            raise AggregateNotFoundError(aggregate_id)
        return cast("TMutableOrImmutableAggregate", aggregate)


@contextlib.contextmanager
def viewing(
    app: Application[UUID], as_of: date | None = None, known_at: datetime | None = None
) -> Iterator[Lens]:
    """Within this block, ``app``'s queries see the store through ``Lens(as_of, known_at)``."""
    if not isinstance(app.repository, LensRepository):
        msg = f"{type(app).__name__} cannot time-travel: add AuditVerbs to its bases"
        raise TypeError(msg)
    lens = Lens(as_of, known_at)
    token = _LENSES.set(MappingProxyType({**_LENSES.get(), id(app.repository): lens}))
    try:
        yield lens
    finally:
        _LENSES.reset(token)


# ------------------------------------------------------------ time travel


def dossier_as_of(
    app: Aidflow, reference: str, as_of: date | None = None, known_at: datetime | None = None
) -> DossierView:
    """The dossier view (same shape as ``Aidflow.dossier``) through the lens."""
    with viewing(app, as_of, known_at) as lens:
        try:
            return app.dossier(reference)
        except NotFound as error:
            if lens.as_of is None and lens.known_at is None:
                raise
            msg = f"{error.message} {_lens_words(lens)}"
            raise NotFound(msg, field=error.field, value=error.value) from None


def _lens_words(lens: Lens) -> str:
    words = []
    if lens.as_of is not None:
        words.append(f"as of {lens.as_of.isoformat()}")
    if lens.known_at is not None:
        words.append(f"known at {lens.known_at.isoformat()}")
    return " and ".join(words)


def select_history(entries: Iterable[HistoryEntry], lens: Lens) -> list[HistoryEntry]:
    """The history entries the lens keeps (each aggregate's entries taken in version order)."""
    listed = list(entries)
    by_aggregate: dict[tuple[str, str], list[HistoryEntry]] = {}
    for entry in listed:
        by_aggregate.setdefault((entry.aggregate, entry.reference), []).append(entry)
    kept: set[tuple[str, str, int]] = set()
    for (kind, reference), group in by_aggregate.items():
        ordered = sorted(group, key=lambda e: e.version)
        flags = lens.keeps([(e.on, e.recorded_at) for e in ordered])
        kept |= {(kind, reference, e.version) for e, keep in zip(ordered, flags, strict=True) if keep}
    return [e for e in listed if (e.aggregate, e.reference, e.version) in kept]


def history_as_of(
    app: Aidflow, reference: str, as_of: date | None = None, known_at: datetime | None = None
) -> list[HistoryEntry]:
    """A dossier's history (or a stored scheme's, by code) restricted by the lens."""
    try:
        entries = app.history(reference)
    except NotFound:
        entries = app.scheme_history(reference)
        if not entries:
            raise
    return select_history(entries, Lens(as_of, known_at))


def aggregate_as_of(
    app: Aidflow, aggregate_id: UUID, as_of: date | None = None, known_at: datetime | None = None
) -> Aggregate:
    """Any aggregate through the lens (never from a snapshot)."""
    events = cast("list[CanMutateAggregate[UUID]]", list(app.events.get(aggregate_id)))
    lens = Lens(as_of, known_at)
    aggregate = replay(events, lens)
    if aggregate is None:
        msg = f"no aggregate {aggregate_id} {_lens_words(lens)}".rstrip()
        raise NotFound(msg, field="id", value=str(aggregate_id))
    return aggregate


# --------------------------------------------------------- tamper evidence


class FindingView(View):
    kind: str
    aggregate: str
    originator_id: str
    version: int
    detail: str


class VerifyView(View):
    """What ``aidflow verify`` reports."""

    ok: bool
    scope: str
    events_checked: int
    aggregates_checked: int
    findings: list[FindingView]
    store_digest: str
    links: int
    heads: dict[str, dict[str, Any]]
    expected_digest: str | None = None
    expected_digest_found_at: int | None = None


def chained_recorder(app: Application[UUID]) -> ChainedRecorder:
    recorder = app.recorder
    if not isinstance(recorder, ChainedRecorder):
        msg = (
            f"this store ({type(recorder).__name__}) keeps no hash chain: use a SQLite or "
            "PostgreSQL store opened by aidflow"
        )
        raise ChainUnavailable(msg, field="store", value=type(recorder).__name__)
    return recorder


def _stored(app: Aidflow, aggregate_id: UUID) -> bool:
    return bool(app.recorder.select_events(aggregate_id, limit=1))


def dossier_aggregates(app: Aidflow, reference: str) -> dict[UUID, str]:
    """The aggregates whose events make a dossier (application, convention, company, scheme).

    Found without replaying when the dossier no longer loads (a tampered store may not):
    then from the natural ids and the facts decoded event by event.
    """
    try:
        application, convention = app.resolve(reference)
    except NotFound:
        raise
    except Exception:  # noqa: BLE001 - a tampered dossier may fail to replay in any way
        return _dossier_aggregates_from_rows(app, reference)
    found = {application.id: f"application {application.reference}"}
    if convention is not None:
        found[convention.id] = f"convention {convention.number}"
    siren = application.beneficiary.siren
    if siren is not None and _stored(app, company_id(str(siren))):
        found[company_id(str(siren))] = f"company {siren}"
    if _stored(app, scheme_id(application.scheme_code)):
        found[scheme_id(application.scheme_code)] = f"scheme {application.scheme_code}"
    return found


def _dossier_aggregates_from_rows(app: Aidflow, reference: str) -> dict[UUID, str]:
    found: dict[UUID, str] = {}
    application_ref = reference
    if _stored(app, convention_id(reference)):
        found[convention_id(reference)] = f"convention {reference}"
        for stored in app.recorder.select_events(convention_id(reference), limit=1):
            with contextlib.suppress(Exception):
                signed = event_facts(app.mapper.to_domain_event(stored))
                application_ref = str(signed["application_reference"])
    if not _stored(app, application_id(application_ref)):
        msg = f"no application or convention with reference {reference!r}"
        raise NotFound(msg, field="reference", value=reference)
    found[application_id(application_ref)] = f"application {application_ref}"
    for stored in app.recorder.select_events(application_id(application_ref)):
        try:
            facts = event_facts(app.mapper.to_domain_event(stored))
        except Exception:  # noqa: BLE001, S112 - skip what no longer decodes; verify reports it
            continue
        number, code = facts.get("number"), facts.get("scheme_code")
        siren = getattr(facts.get("beneficiary"), "siren", None)
        candidates = [
            (convention_id(number) if isinstance(number, str) else None, f"convention {number}"),
            (company_id(str(siren)) if siren is not None else None, f"company {siren}"),
            (scheme_id(code) if isinstance(code, str) else None, f"scheme {code}"),
        ]
        for aggregate_id, label in candidates:
            if aggregate_id is not None and _stored(app, aggregate_id):
                found.setdefault(aggregate_id, label)
    return found


_REFERENCE_ATTRIBUTES = ("reference", "number", "code", "siren")


def label_of(app: Aidflow, originator_id: str, topic: str | None) -> str:
    """A readable name for an aggregate: its class and natural reference when loadable."""
    kind = (topic or "").partition(":")[2].split(".")[0] or "aggregate"
    try:
        aggregate: Aggregate = app.repository.get(UUID(originator_id))
    except Exception:  # noqa: BLE001 - a tampered or unknown aggregate may not load at all
        return f"{kind} {originator_id}"
    for name in _REFERENCE_ATTRIBUTES:
        value = getattr(aggregate, name, None)
        if value is not None:
            return f"{type(aggregate).__name__} {value}"
    return f"{type(aggregate).__name__} {originator_id}"  # pragma: no cover - all have a reference


def _find_digest(links: Sequence[LinkRow], expected: str) -> int | None:
    wanted = expected.strip().lower()
    for count, digest in enumerate(running_digests(r.link for r in links), start=1):
        if digest.hex() == wanted:
            return count
    return None


def verify_view(
    report: ChainReport,
    labels: Mapping[str, str],
    scope: str,
    all_links: Sequence[LinkRow],
    expect_digest: str | None = None,
) -> VerifyView:
    found_at = None if expect_digest is None else _find_digest(all_links, expect_digest)
    return VerifyView(
        ok=report.ok and (expect_digest is None or found_at is not None),
        scope=scope,
        events_checked=report.events_checked,
        aggregates_checked=report.aggregates_checked,
        findings=[
            FindingView(kind=f.kind.value, aggregate=labels.get(f.originator_id, f.originator_id),
                        originator_id=f.originator_id, version=f.version, detail=f.detail)
            for f in report.findings
        ],
        store_digest=report.digest.hex(),
        links=report.links_in_digest,
        heads={
            labels.get(k, k): {"originator_id": k, "version": v, "link": link.hex()}
            for k, (v, link) in report.heads.items()
        },
        expected_digest=expect_digest,
        expected_digest_found_at=found_at,
    )


def verify_store(app: Aidflow, reference: str | None = None, expect_digest: str | None = None) -> VerifyView:
    """Recompute the chain from the stored rows (all, or one dossier's) and compare.

    Args:
        reference: a dossier (application reference or convention number); all when None.
        expect_digest: a previously published store digest; the store must contain it as
            the digest of one of its prefixes (an append-only store always does).
    """
    recorder = chained_recorder(app)
    ids = None if reference is None else dossier_aggregates(app, reference)
    events, links = recorder.read_chain(None if ids is None else list(ids))
    all_links = recorder.read_links() if ids is not None else links
    report = verify_rows(events, links, all_links=all_links, check_order=True)
    topics = {e.originator_id: e.topic for e in events}
    if ids is not None:
        labels = {str(k): v for k, v in ids.items()}
    else:
        labels = {
            f.originator_id: label_of(app, f.originator_id, topics.get(f.originator_id))
            for f in report.findings
        }
    return verify_view(report, labels, reference or "store", all_links, expect_digest)


def export_bundle(app: Aidflow, reference: str, directory: Path) -> Path:
    """Write a dossier's audit bundle (events, chain, manifest) to ``directory``."""
    recorder = chained_recorder(app)
    ids = dossier_aggregates(app, reference)
    events, links = recorder.read_chain(list(ids))
    all_links = recorder.read_links()
    report = verify_rows(events, links, all_links=all_links)
    return bundles.write_bundle(
        directory,
        reference=reference,
        aggregates={str(k): v for k, v in ids.items()},
        events=events,
        links=links,
        all_links=all_links,
        digest=report.digest,
        heads=report.heads,
        aidflow_version=aidflow.__version__,
        store=describe_store(app.store_url),
    )


# -------------------------------------------------------------------- SCDL


def scdl_rows(
    app: Aidflow, attribuant: scdl.Attribuant = scdl.OCCITANIE, minimum: Decimal = scdl.ZERO
) -> tuple[list[dict[str, str]], list[str]]:
    """SCDL « subventions » rows for every signed convention with a grant part.

    Returns (rows, skipped): ``skipped`` says which conventions were left out and why.
    """
    rows: list[dict[str, str]] = []
    skipped: list[str] = []
    for convention in app.conventions():
        application = app.application(convention.application_reference)
        terms = app.scheme(convention.scheme_code).terms_on(convention.signed_on)
        title = app.scheme(convention.scheme_code).title
        row, reason = scdl.row_for(
            convention=convention, application=application, scheme_title=title,
            regime=terms.regime.value, attribuant=attribuant, minimum=minimum,
        )
        if row is not None:
            rows.append(row)
        elif reason:
            skipped.append(f"{convention.number}: {reason}")
    rows.sort(key=lambda r: (r["dateConvention"], r["referenceDecision"], r["nomBeneficiaire"]))
    return rows, skipped


# ------------------------------------------------------------------- mixin


def collect_pending(
    objs: Sequence[MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None],
    kwargs: Mapping[str, Any],
) -> ProcessingEvent[UUID]:
    """``ProcessingEvent.collect_events`` with a plain class check for ``Aggregate`` objects.

    Aggregates (aidflow's are all eventsourcing ``Aggregate`` subclasses) give their pending
    events and are recorded by id exactly as the stock method does; anything else takes the
    stock method. ``tests/application/test_save_path.py`` compares the two.
    """
    processing_event: ProcessingEvent[UUID] = ProcessingEvent()
    for obj in objs:
        if isinstance(obj, Aggregate):
            processing_event.events.extend(obj.collect_events())
            processing_event.aggregates[obj.id] = obj
        elif obj is not None:
            processing_event.collect_events(obj)
    processing_event.saved_kwargs.update(kwargs)
    return processing_event


class AuditVerbs(Application[UUID]):
    """Audit verbs for ``Aidflow``: time travel, tamper evidence, bundles, SCDL export.

    Add it to ``Aidflow``'s bases (``class Aidflow(AuditVerbs)``). It installs a
    :class:`LensRepository` (through ``construct_repository``, a public eventsourcing hook),
    makes ``clock`` return the lens date inside :meth:`viewing`, and refuses ``save`` there.
    """

    _audit_clock: Callable[[], date]

    def construct_repository(self) -> Repository[UUID]:
        return LensRepository.like(super().construct_repository())

    @property
    def clock(self) -> Callable[[], date]:
        """"Today" for commands and views; inside :meth:`viewing`, the lens date."""
        lens = active_lens(vars(self).get("_repository"))
        if lens is not None and lens.today is not None:
            day = lens.today
            return lambda: day
        return self._audit_clock

    @clock.setter
    def clock(self, value: Callable[[], date]) -> None:
        self._audit_clock = value

    def save(
        self,
        *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
        **kwargs: Any,  # noqa: ANN401 - eventsourcing's signature
    ) -> list[Recording[UUID]]:
        lens = active_lens(self.repository)
        if lens is not None:
            msg = f"nothing can be recorded while viewing the store {_lens_words(lens)}"
            raise ReadOnlyView(msg, field="do", value=None)
        # Application.save's steps (eventsourcing 9.5), with the events collected by
        # collect_pending: ProcessingEvent.collect_events makes two runtime-Protocol
        # isinstance checks per aggregate, which CPython 3.11 makes slow (issue 7).
        processing_event = collect_pending(objs, kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # deprecated eventsourcing hook, kept for subclasses
        return recordings

    def viewing(
        self, as_of: date | None = None, known_at: datetime | None = None
    ) -> contextlib.AbstractContextManager[Lens]:
        """Context manager: queries inside see the store as of ``as_of`` / known at ``known_at``."""
        return viewing(self, as_of, known_at)

    def dossier_as_of(
        self, reference: str, as_of: date | None = None, known_at: datetime | None = None
    ) -> DossierView:
        """The dossier as of a business date and/or as known at a recording time."""
        return dossier_as_of(self._aidflow, reference, as_of, known_at)

    def history_as_of(
        self, reference: str, as_of: date | None = None, known_at: datetime | None = None
    ) -> list[HistoryEntry]:
        """The dossier's (or stored scheme's) history restricted by business date / recording time."""
        return history_as_of(self._aidflow, reference, as_of, known_at)

    def aggregate_as_of(
        self, aggregate_id: UUID, as_of: date | None = None, known_at: datetime | None = None
    ) -> Aggregate:
        return aggregate_as_of(self._aidflow, aggregate_id, as_of, known_at)

    def verify_chain(self, reference: str | None = None, expect_digest: str | None = None) -> VerifyView:
        """Recompute the hash chain (all, or one dossier) and report every discrepancy."""
        return verify_store(self._aidflow, reference, expect_digest)

    def export_bundle(self, reference: str, directory: Path) -> Path:
        """Write a dossier's offline-verifiable audit bundle; returns the manifest's path."""
        return export_bundle(self._aidflow, reference, directory)

    def scdl_rows(
        self, attribuant: scdl.Attribuant = scdl.OCCITANIE, minimum: Decimal = scdl.ZERO
    ) -> tuple[list[dict[str, str]], list[str]]:
        return scdl_rows(self._aidflow, attribuant, minimum)

    @property
    def _aidflow(self) -> Aidflow:
        return cast("Aidflow", self)


__all__ = [
    "AuditVerbs",
    "ChainUnavailable",
    "Lens",
    "LensRepository",
    "ReadOnlyView",
    "VerifyView",
    "aggregate_as_of",
    "dossier_as_of",
    "export_bundle",
    "history_as_of",
    "replay",
    "scdl_rows",
    "select_history",
    "verify_store",
    "viewing",
]
