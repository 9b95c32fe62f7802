"""The fast transcoder, mapper and projector give exactly what the stock eventsourcing ones give.

Every event recorded by the demo portfolio, the example dossier files, the demo call and the
scheme verbs is encoded by both transcoders (same bytes), read back by both mappers (equal
events) and replayed by both projectors (equal aggregates). The core aggregates' event
classes must all be exercised, so that a new event class cannot skip these checks.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application, project_aggregate
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    StoredEvent,
    TranscodingNotRegisteredError,
)

from aidflow.adapters import chain
from aidflow.adapters.demo import demo_dossiers
from aidflow.adapters.fast import (
    FastJSONTranscoder,
    FastMapper,
    field_restorers,
    project,
    replay_rows,
    restore_fields,
)
from aidflow.adapters.transcodings import register_transcodings
from aidflow.application.dossier import run_dossier
from aidflow.application.service import Aidflow
from aidflow.domain.aid_application import AidApplication
from aidflow.domain.company import Company
from aidflow.domain.convention import Convention
from aidflow.domain.errors import AidflowError
from aidflow.domain.scheme import AidScheme
from aidflow.domain.values import CompanySize

ROOT = Path(__file__).resolve().parents[2]
CORE = (AidApplication, Convention, Company, AidScheme)


def _stock_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    Aidflow.register_transcodings(Aidflow.__new__(Aidflow), transcoder)
    return transcoder


def _fast_transcoder() -> FastJSONTranscoder:
    transcoder = FastJSONTranscoder()
    Aidflow.register_transcodings(Aidflow.__new__(Aidflow), transcoder)
    return transcoder


def _record_everything() -> list[tuple[int, Any]]:
    """Domain events of every kind aidflow records, read back with the stock mapper."""
    events: list[tuple[int, Any]] = []
    stock = Mapper(transcoder=_stock_transcoder())
    apps = [Aidflow(store="memory:", clock=lambda: date(2030, 1, 1))]
    for dossier in demo_dossiers():
        run_dossier(apps[0], dossier)
    for path in sorted((ROOT / "examples" / "dossiers").glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        app = Aidflow(store="memory:", clock=lambda: date(2030, 1, 1))
        apps.append(app)
        # The steps before a refused one are recorded, which is all that is wanted here.
        with contextlib.suppress(AidflowError):
            run_dossier(app, json.loads(path.read_text(encoding="utf-8")))
    amended = Aidflow(store="memory:", clock=lambda: date(2030, 1, 1))
    apps.append(amended)
    run_dossier(amended, with_amendment(next(d for d in demo_dossiers() if _signs(d))))
    scheme_app = apps[0]
    terms = scheme_app.scheme("CEA").terms
    scheme_app.open_scheme("BENCH-X", "Scheme for the fast-path checks", terms, date(2024, 1, 1))
    scheme_app.rename_scheme("BENCH-X", "Renamed scheme", date(2024, 2, 1))
    scheme_app.amend_scheme("BENCH-X", terms, date(2024, 3, 1), "new terms")
    scheme_app.close_scheme("BENCH-X", date(2024, 4, 1))
    for index, app in enumerate(apps):
        notifications = app.recorder.select_notifications(start=1, limit=1_000_000)
        events += [(index, stock.to_domain_event(n)) for n in notifications]
    return events


def _signs(dossier: dict[str, Any]) -> bool:
    return any(step["do"] == "sign" for step in dossier["steps"])


def with_amendment(dossier: dict[str, Any]) -> dict[str, Any]:
    """The dossier with an avenant extending its programme by 90 days, right after signature."""
    steps = list(dossier["steps"])
    index = next(i for i, step in enumerate(steps) if step["do"] == "sign")
    submit = steps[0]
    signed_on = date.fromisoformat(steps[index]["on"])
    end = date.fromisoformat(submit["programme"]["end"])
    amend = {"on": (signed_on + timedelta(days=5)).isoformat(), "do": "amend", "number": 1,
             "reason": "programme extended", "programme_end": (end + timedelta(days=90)).isoformat()}
    later = [s for s in steps[index + 1:] if s["on"] >= amend["on"]]
    return {**dossier, "steps": [*steps[: index + 1], amend, *later]}


@pytest.fixture(scope="module")
def recorded_by_store() -> list[tuple[int, Any]]:
    return _record_everything()


@pytest.fixture(scope="module")
def recorded(recorded_by_store) -> list[Any]:
    return [event for _, event in recorded_by_store]


def _event_classes(aggregate: type[Aggregate]) -> set[type[Any]]:
    found = set()
    for value in vars(aggregate).values():
        if inspect.isclass(value) and issubclass(value, CanMutateAggregate) and value.__name__ not in (
            "Event", "Created"
        ):
            found.add(value)
    return found


def test_every_event_class_of_the_core_aggregates_is_exercised(recorded):
    seen = {type(e) for e in recorded}
    missing = sorted(
        c.__qualname__ for aggregate in CORE for c in _event_classes(aggregate) if c not in seen
    )
    assert not missing, f"add a scenario that records {missing} to this module"


def test_the_fast_transcoder_writes_the_stock_bytes_for_every_event(recorded):
    stock, fast = Mapper(transcoder=_stock_transcoder()), FastMapper(transcoder=_fast_transcoder())
    for event in recorded:
        assert fast.to_stored_event(event) == stock.to_stored_event(event), type(event).__qualname__


def _stock_restored(mapper: Mapper, stored: StoredEvent) -> dict[str, Any]:
    """The stock mapper's event state, with tuples and enums restored as the fast mapper does."""
    event = mapper.to_domain_event(stored)
    state = dict(vars(event))
    restore_fields(state, field_restorers(type(event)))
    return state


def test_the_fast_mapper_reads_events_equal_to_the_stock_ones(recorded):
    stock, fast = Mapper(transcoder=_stock_transcoder()), FastMapper(transcoder=_fast_transcoder())
    for event in recorded:
        stored = stock.to_stored_event(event)
        assert vars(fast.to_domain_event(stored)) == _stock_restored(stock, stored)
        text_id = StoredEvent(
            str(stored.originator_id), stored.originator_version, stored.topic, stored.state
        )
        assert vars(fast.to_domain_event(text_id)) == _stock_restored(stock, text_id)


def test_restorers_cover_exactly_the_tuple_and_enum_fields():
    signed = dict(field_restorers(Convention.Signed))
    assert set(signed) == {"size_at_signature"}
    assert signed["size_at_signature"]("small") is CompanySize.SMALL
    assert signed["size_at_signature"](None) is None
    scheduled = dict(field_restorers(Convention.RepaymentScheduled))
    assert scheduled["schedule"]([1, 2]) == (1, 2)
    assert field_restorers(Convention.PaymentRecorded) == ()


def test_the_fast_projector_gives_the_stock_state_for_every_aggregate(recorded_by_store):
    by_aggregate: dict[tuple[int, UUID], list[Any]] = defaultdict(list)
    for store, event in recorded_by_store:
        by_aggregate[store, event.originator_id].append(event)
    fast = FastMapper(transcoder=_fast_transcoder())
    stock = Mapper(transcoder=_stock_transcoder())
    for events in by_aggregate.values():
        expected = project_aggregate(None, [stock.to_domain_event(stock.to_stored_event(e)) for e in events])
        assert project(None, [fast.to_domain_event(fast.to_stored_event(e)) for e in events]) == expected
        rows = [(s.originator_version, s.topic, s.state) for s in map(fast.to_stored_event, events)]
        assert replay_rows(fast, events[0].originator_id, rows) == expected


class StockApp(Application[UUID]):
    """Stock eventsourcing: default transcoder, mapper and recorder; aidflow's transcodings."""

    name = "Aidflow"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_transcodings(transcoder)


def test_an_aidflow_store_reads_back_with_stock_eventsourcing(tmp_path):
    url = tmp_path / "store.sqlite"
    app = Aidflow(store=f"sqlite:///{url}")
    run_dossier(app, next(iter(demo_dossiers())))
    stock = StockApp(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(url)})
    for notification in app.recorder.select_notifications(start=1, limit=1000):
        ours = app.repository.get(notification.originator_id)
        assert stock.repository.get(notification.originator_id) == ours
    stock.close()
    app.close()


def test_unregistered_types_fail_as_with_the_stock_transcoder():
    fast = _fast_transcoder()
    with pytest.raises(TranscodingNotRegisteredError):
        fast.encode({"x": object()})
    with pytest.raises(TranscodingNotRegisteredError):
        fast.decode(b'{"x":{"_type_":"nope","_data_":1}}')


@pytest.mark.parametrize("data", [b' {"a":1}', b'{"a":1} ', b'{"a":1}x', b"[1,2]", b'"s"', b"{}"])
def test_unusual_json_decodes_as_with_the_stock_transcoder(data):
    stock, fast = _stock_transcoder(), _fast_transcoder()
    try:
        expected: Any = stock.decode(data)
    except ValueError as error:
        with pytest.raises(type(error)):
            fast.decode(data)
    else:
        assert fast.decode(data) == expected


def test_dicts_that_only_look_like_transcoded_values_pass_through():
    fast = _fast_transcoder()
    for value in ({"_type_": "money"}, {"_data_": 1, "other": 2}, {"_type_": "x", "_data_": 1, "more": 3}):
        assert fast.decode(fast.encode({"v": value})) == {"v": value}


def _slow_stored_timestamp(state: bytes) -> str:
    if not state.startswith(b"{"):
        return ""
    try:
        decoded = json.loads(state)
    except (ValueError, UnicodeDecodeError):
        return ""
    value = decoded.get("timestamp") if isinstance(decoded, dict) else None
    if isinstance(value, dict):
        value = value.get("_data_")
    return value if isinstance(value, str) else ""


def test_the_chain_reads_the_timestamp_of_every_stored_state_as_a_full_parse_does(recorded):
    fast = FastMapper(transcoder=_fast_transcoder())
    for event in recorded:
        state = fast.to_stored_event(event).state
        assert state.startswith(chain._TIMESTAMP_FIRST)
        assert chain.stored_timestamp(state) == _slow_stored_timestamp(state)


@pytest.mark.parametrize("state", [
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2024-01-01T00:00:00+00:00"},"timestamp":1}',
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2024\\u002d01"}}',
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2024-01-01","x":1}}',
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"caf\xc3\xa9"}}',
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"a\tb"}}',
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2024-01-01"},"a":"\\"timestamp\\""}',
    b'{"a":1}', b"\x78\x9c", b"",
])
def test_the_chain_timestamp_fast_path_agrees_on_unusual_states(state):
    assert chain.stored_timestamp(state) == _slow_stored_timestamp(state)
