"""Every event of every aggregate survives the trip through a real SQLite store.

Aggregates (every ``Aggregate`` subclass defined in ``aidflow.domain``) and their event
classes (nested classes that subclass ``Aggregate.Event``) are discovered generically.
Each is round-tripped through ``to_stored_event`` / ``to_domain_event`` and the SQLite
recorder: with the events a realistic scenario
records where it records that class, else with an instance built from the class's
annotations (values of the scenario's own types where there are some). A field type
that cannot be built fails with its name: add a sample below. Then every attrs class
reachable from event fields must be registered in ``ATTRS_VALUE_TYPES`` (or have its
own transcoding).
"""

from __future__ import annotations

import collections.abc
import contextlib
import dataclasses
import importlib
import itertools
import pkgutil
import types
import typing
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

import attrs
import pytest
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.utils import get_topic

import aidflow.domain
from aidflow.adapters.transcodings import ATTRS_VALUE_TYPES
from aidflow.application.service import Aidflow
from aidflow.domain import values
from aidflow.domain.aid_application import AidApplication
from aidflow.domain.convention import Convention
from aidflow.domain.scheme import AidScheme
from helpers import (
    CONVENTION,
    REFERENCE,
    SIREN,
    SIRET,
    award_step,
    complete_step,
    make_eligible,
    pay_step,
    reject_step,
    sign_step,
    submit_command,
    withdraw_step,
)


def domain_aggregates() -> tuple[type[Aggregate], ...]:
    """Every aggregate class defined in a module of ``aidflow.domain``."""
    found: list[type[Aggregate]] = []
    for info in pkgutil.walk_packages(aidflow.domain.__path__, "aidflow.domain."):
        module = importlib.import_module(info.name)
        found.extend(
            value for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Aggregate)
            and value.__module__ == module.__name__
        )
    return tuple(sorted(found, key=lambda cls: cls.__qualname__))


AGGREGATES = domain_aggregates()
OWN_TRANSCODINGS = {values.Money, values.Siren, values.Siret}
"""Attrs classes stored by a dedicated transcoding rather than as a dict of fields."""


def event_classes(aggregate: type[Aggregate]) -> set[type[Any]]:
    """The aggregate's concrete event classes (its nested ``Aggregate.Event`` subclasses).

    Left out: the aggregate's ``Event`` base, and eventsourcing's default ``Created``
    when the aggregate names its creation event otherwise (e.g. ``Opened``).
    """
    nested = {
        value for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, Aggregate.Event)
    }
    nested.discard(aggregate.Event)
    named_creation = [c for c in nested if issubclass(c, Aggregate.Created) and c is not aggregate.Created]
    if named_creation:
        nested.discard(aggregate.Created)
    return nested


class RecordingAidflow(Aidflow):
    """Aidflow that keeps every domain event it saves, as they were before storage."""

    def __init__(self, store: str) -> None:
        super().__init__(store=store)
        self.saved: list[DomainEventProtocol[Any]] = []

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        self.saved.extend(r.domain_event for r in recordings)
        return recordings


def run_scenario(app: Aidflow) -> None:
    """One event of each kind: the example dossier, a withdrawal, a rejection, scheme changes."""
    app.submit(submit_command())
    make_eligible(app)
    app.award(REFERENCE, award_step())
    app.sign(REFERENCE, sign_step())
    app.pay(REFERENCE, pay_step())
    app.complete_programme(REFERENCE, complete_step(investment_realised="880000.50", jobs_created=11))
    app.submit(submit_command(reference="2024-CEA-0043"))
    app.withdraw("2024-CEA-0043", withdraw_step())
    app.submit(submit_command(reference="2024-CEA-0044"))
    app.reject("2024-CEA-0044", reject_step())
    app.rename_scheme("CEA", "Contrat Entreprise d'avenir 2025", date(2025, 1, 1))
    terms = attrs.evolve(app.scheme("CEA").terms, notes="amended", ambitions=("souveraineté",))
    app.amend_scheme("CEA", terms, date(2025, 2, 1), "notes updated")
    app.close_scheme("CEA", date(2026, 1, 1))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingAidflow]:
    path: Path = tmp_path_factory.mktemp("transcodings") / "aidflow.sqlite"
    app = RecordingAidflow(store=f"sqlite:///{path}")
    run_scenario(app)
    yield app
    app.close()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aidflow]:
    """A second SQLite store for built events (they belong to no aggregate)."""
    app = Aidflow(store=f"sqlite:///{tmp_path_factory.mktemp('built') / 'aidflow.sqlite'}")
    yield app
    app.close()


ALL_EVENT_CLASSES = sorted(
    ((a, c) for a in AGGREGATES for c in event_classes(a)), key=lambda pair: pair[1].__qualname__
)


def _sequences_as_tuples(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_sequences_as_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _sequences_as_tuples(v) for k, v in value.items()}
    return value


def round_trip(
    app: Aidflow, event: DomainEventProtocol[Any], *, insert: bool
) -> DomainEventProtocol[Any]:
    """Store (if asked), select and decode ``event``; assert the decoded state equals it.

    A tuple that comes back as a list counts as equal here; see
    ``test_event_fields_keep_their_types`` for that.
    """
    stored = app.mapper.to_stored_event(event)
    if insert:
        app.recorder.insert_events([stored])
    (selected,) = app.recorder.select_events(
        event.originator_id, gt=event.originator_version - 1, lte=event.originator_version
    )
    # Encoding is deterministic: what the mapper makes now is what the store holds.
    assert selected.state == stored.state
    decoded = app.mapper.to_domain_event(selected)
    assert type(decoded) is type(event)
    assert _sequences_as_tuples(vars(decoded)) == _sequences_as_tuples(vars(event)), (
        type(event).__qualname__
    )
    return decoded


def events_of(
    recorded: RecordingAidflow, aggregate: type[Aggregate], event_class: type[Any]
) -> tuple[list[DomainEventProtocol[Any]], bool]:
    """The scenario's events of this class (already stored), else one built event (to store)."""
    from_scenario = [e for e in recorded.saved if type(e) is event_class]
    if from_scenario:
        return from_scenario, False
    return [Samples(recorded.saved).event(aggregate, event_class)], True


def test_aggregates_are_discovered() -> None:
    assert {AidScheme, AidApplication, Convention} <= set(AGGREGATES)


def test_events_are_discovered() -> None:
    names = {c.__qualname__ for _, c in ALL_EVENT_CLASSES}
    assert {"AidScheme.Opened", "AidScheme.Renamed", "AidScheme.Amended", "AidScheme.Closed",
            "AidApplication.Submitted", "AidApplication.Awarded", "AidApplication.Rejected",
            "AidApplication.Withdrawn", "AidApplication.ConventionSigned", "Convention.Signed",
            "Convention.PaymentRecorded", "Convention.ProgrammeCompleted"} <= names
    assert "AidScheme.Event" not in names
    assert "AidScheme.Created" not in names


@pytest.mark.parametrize(
    ("aggregate", "event_class"), ALL_EVENT_CLASSES, ids=[c.__qualname__ for _, c in ALL_EVENT_CLASSES]
)
def test_every_event_class_round_trips_through_sqlite(
    recorded: RecordingAidflow, scratch: Aidflow, aggregate: type[Aggregate], event_class: type[Any]
) -> None:
    assert recorded.store_url.startswith("sqlite:///")
    events, built = events_of(recorded, aggregate, event_class)
    for event in events:
        round_trip(scratch if built else recorded, event, insert=built)


def test_event_fields_keep_their_types(recorded: RecordingAidflow, scratch: Aidflow) -> None:
    """JSON has no tuple and no enum; the mapper restores both from the event class's hints.

    eventsourcing 9.5's JSONTranscoder decodes a tuple field as a list and an enum one as a
    plain str (``aidflow.adapters.fast.field_restorers`` turns them back).
    """
    changed: list[str] = []
    for aggregate, event_class in ALL_EVENT_CLASSES:
        events, built = events_of(recorded, aggregate, event_class)
        for event in events:
            decoded = round_trip(scratch if built else recorded, event, insert=built)
            changed.extend(
                f"{event_class.__qualname__}.{name}: {type(value).__name__} → "
                f"{type(vars(decoded)[name]).__name__}"
                for name, value in vars(event).items()
                if type(vars(decoded)[name]) is not type(value)
            )
    assert not changed, "decoded with another type:\n" + "\n".join(sorted(set(changed)))


def test_the_scenario_records_the_core_events(recorded: RecordingAidflow) -> None:
    exercised = {type(e).__qualname__ for e in recorded.saved}
    assert {"AidScheme.Opened", "AidScheme.Renamed", "AidScheme.Amended", "AidScheme.Closed",
            "AidApplication.Submitted", "AidApplication.Awarded", "AidApplication.Rejected",
            "AidApplication.Withdrawn", "AidApplication.ConventionSigned", "Convention.Signed",
            "Convention.PaymentRecorded", "Convention.ProgrammeCompleted"} <= exercised


def test_aggregates_rebuilt_from_sqlite_equal_the_recorded_state(recorded: RecordingAidflow) -> None:
    convention = recorded.convention(CONVENTION)
    assert convention.payments["P1"].amount == values.Money("75000.00")
    assert convention.completion is not None
    assert convention.completion.investment_realised == values.Money("880000.50")
    assert recorded.application("2024-CEA-0044").rejection is not None
    assert recorded.scheme("CEA").closed_on == date(2026, 1, 1)


# ------------------------------------------------------------ built events


class SampleError(Exception):
    """No sample value can be built for a type."""


class Samples:
    """Values for annotated fields: the scenario's own values first, else built ones."""

    SIMPLE: ClassVar[dict[type[Any], tuple[Any, ...]]] = {
        int: (7, 0),
        str: ("sample text",),
        Decimal: (Decimal("12.50"), Decimal("0.25")),
        date: (date(2024, 5, 6),),
        datetime: (datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),),
        UUID: (UUID("12345678-1234-5678-1234-567812345678"),),
        values.Money: (values.Money("1234.56"),),
        values.Siren: (values.Siren(SIREN),),
        values.Siret: (values.Siret(SIRET),),
    }
    """Candidates per type, tried in order until the validators of the enclosing class agree."""

    def __init__(self, scenario_events: Sequence[DomainEventProtocol[Any]]) -> None:
        self.known: dict[type[Any], Any] = {}
        for event in scenario_events:
            for value in _values_in(vars(event)):
                if attrs.has(type(value)):
                    self.known.setdefault(type(value), value)

    def event(self, aggregate: type[Aggregate], event_class: type[Any]) -> DomainEventProtocol[Any]:
        hints = typing.get_type_hints(event_class)
        kwargs: dict[str, Any] = {}
        for field in dataclasses.fields(event_class):
            if not field.init:
                continue
            if field.name == "originator_id":
                kwargs[field.name] = uuid4()
            elif field.name == "originator_version":
                kwargs[field.name] = 1
            elif field.name == "timestamp":
                kwargs[field.name] = datetime.now(tz=UTC)
            elif field.name == "originator_topic":
                kwargs[field.name] = get_topic(aggregate)
            else:
                kwargs[field.name] = self.of(hints[field.name], f"{event_class.__qualname__}.{field.name}")
        event: DomainEventProtocol[Any] = event_class(**kwargs)
        return event

    def of(self, annotation: Any, where: str) -> Any:  # noqa: C901, PLR0911, PLR0912 - any annotation
        if annotation is type(None):
            return None
        if annotation is Any:
            return "any value"
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin in (types.UnionType, typing.Union):
            for member in (a for a in args if a is not type(None)):
                with contextlib.suppress(SampleError):
                    return self.of(member, where)
            if type(None) in args:
                return None
            raise SampleError(f"{where}: no member of {annotation} can be built")
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return (self.of(args[0], where),)
            return tuple(self.of(a, where) for a in args)
        if origin in (list, collections.abc.Sequence):
            return [self.of(args[0], where)]
        if origin in (dict, collections.abc.Mapping):
            return {self.of(args[0], where): self.of(args[1], where)}
        if annotation in self.known:
            return self.known[annotation]
        if annotation in self.SIMPLE:
            return self.SIMPLE[annotation][0]
        if annotation is bool:
            return True
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            return next(iter(annotation))
        if isinstance(annotation, type) and attrs.has(annotation):
            built = self._attrs(annotation, where)
            self.known[annotation] = built
            return built
        raise SampleError(f"{where}: add a sample for {annotation!r} to Samples.SIMPLE")

    def _candidates(self, annotation: Any, where: str) -> list[Any]:
        """Values to try for one field: every member of an enum, a sample or None if optional."""
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin in (types.UnionType, typing.Union):
            found: list[Any] = []
            for member in (a for a in args if a is not type(None)):
                with contextlib.suppress(SampleError):
                    found.extend(self._candidates(member, where))
            if type(None) in args:
                found.append(None)
            if not found:
                raise SampleError(f"{where}: no member of {annotation} can be built")
            return found
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            return list(annotation)
        if annotation is bool:
            return [True, False]
        if annotation in self.SIMPLE and annotation not in self.known:
            return list(self.SIMPLE[annotation])
        return [self.of(annotation, where)]

    MAX_TRIES: ClassVar[int] = 2000

    def _attrs(self, cls: type[Any], where: str) -> Any:
        """The first combination of field candidates that the class's validators accept."""
        fields = [f for f in attrs.fields(attrs.resolve_types(cls)) if f.init]
        names = [f.alias or f.name for f in fields]
        choices = [self._candidates(f.type, f"{where}.{f.name}") for f in fields]
        last: Exception | None = None
        for attempt, combination in enumerate(itertools.product(*choices)):
            if attempt >= self.MAX_TRIES:
                break
            try:
                return cls(**dict(zip(names, combination, strict=True)))
            except Exception as error:  # noqa: BLE001 - the validators say which combination is valid
                last = error
        msg = f"{where}: cannot build {cls.__qualname__} from samples ({last}); add one to Samples.SIMPLE"
        raise SampleError(msg) from last


# ------------------------------------------------------------ attrs registry


def _types_in(annotation: Any) -> Iterator[type[Any]]:
    """The classes named by a resolved annotation (through unions, tuples, lists, dicts)."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is typing.ClassVar:
        return
    if isinstance(origin, type) and origin is not types.UnionType:
        yield origin
    for argument in typing.get_args(annotation):
        yield from _types_in(argument)


def _field_types(cls: type[Any]) -> Sequence[Any]:
    if attrs.has(cls):
        return [f.type for f in attrs.fields(attrs.resolve_types(cls))]
    return list(typing.get_type_hints(cls).values())


def reachable_attrs_classes() -> set[type[Any]]:
    """Attrs classes reachable from the annotated fields of every event class."""
    found: set[type[Any]] = set()
    todo: list[type[Any]] = [c for a in AGGREGATES for c in event_classes(a)]
    seen: set[type[Any]] = set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for annotation in _field_types(cls):
            for named in _types_in(annotation):
                if attrs.has(named) and named not in found:
                    found.add(named)
                    todo.append(named)
    return found


def _values_in(value: Any) -> Iterator[Any]:
    yield value
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _values_in(getattr(value, field.name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _values_in(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _values_in(item)


def test_every_attrs_class_in_events_is_registered(recorded: RecordingAidflow) -> None:
    registered = set(ATTRS_VALUE_TYPES.values()) | OWN_TRANSCODINGS
    declared = reachable_attrs_classes()
    in_values = {type(v) for e in recorded.saved for v in _values_in(vars(e)) if attrs.has(type(v))}
    assert {values.Beneficiary, values.Programme, values.AwardSplit}.issubset(declared)
    assert in_values <= declared | OWN_TRANSCODINGS
    missing = sorted(c.__qualname__ for c in (declared | in_values) - registered)
    assert not missing, f"register in ATTRS_VALUE_TYPES: {', '.join(missing)}"


def test_stored_names_are_unique() -> None:
    assert len(set(ATTRS_VALUE_TYPES.values())) == len(ATTRS_VALUE_TYPES)
