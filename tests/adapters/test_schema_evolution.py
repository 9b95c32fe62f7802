"""Schema evolution on a real stored file: version 2 code reads a store written by version 1.

``tests/fixtures/evolution/grants-v1.sqlite`` was written by ``v1/evolution_demo.py``
(``make_fixture.py``) and is committed. Version 2 changed ``PaymentRecorded``
(``class_version = 2`` plus ``upcast_v1_v2``). The test works on a copy of the file.
See ``docs/how-to/evolve-an-event.md`` for the same procedure on aidflow's own events.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from aidflow.adapters.chain import verify
from aidflow.adapters.chained_sqlite import ChainedSQLiteApplicationRecorder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "evolution"
STORE = FIXTURES / "grants-v1.sqlite"


@pytest.fixture
def v2(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """Version 2 of the demo module, under the module name version 1 stored in topics."""
    monkeypatch.syspath_prepend(str(FIXTURES / "v2"))
    monkeypatch.delitem(sys.modules, "evolution_demo", raising=False)
    yield importlib.import_module("evolution_demo")
    sys.modules.pop("evolution_demo", None)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    copy = tmp_path / STORE.name
    shutil.copyfile(STORE, copy)
    return copy


def test_version_2_replays_events_written_by_version_1(v2: ModuleType, store: Path) -> None:
    app = v2.Grants(env={"SQLITE_DBNAME": str(store)})
    try:
        grant = app.repository.get(v2.Grant.create_id("G-2023-001"))
        other = app.repository.get(v2.Grant.create_id("G-2023-002"))
    finally:
        app.close()

    assert grant.payments == [(Decimal("36000.00"), v2.UNSPECIFIED), (Decimal("48000.00"), v2.UNSPECIFIED)]
    assert other.payments == [(Decimal("8000.00"), v2.UNSPECIFIED)]
    assert grant.version == 3


def test_old_and_new_events_verify_on_one_chain(v2: ModuleType, store: Path) -> None:
    app = v2.Grants(env={"SQLITE_DBNAME": str(store)})
    try:
        recorder = app.recorder
        assert isinstance(recorder, ChainedSQLiteApplicationRecorder)
        before = verify(*recorder.read_chain())
        app.pay("G-2023-001", "36000.00", "balance")
        events, links = recorder.read_chain()
        after = verify(events, links)
        grant = app.repository.get(v2.Grant.create_id("G-2023-001"))
    finally:
        app.close()

    assert before.ok, before.findings
    assert after.ok, after.findings
    assert after.links_in_digest == before.links_in_digest + 1
    states = [json.loads(e.state) for e in events if e.topic.endswith(".PaymentRecorded")]
    assert [s.get("class_version") for s in states] == [None, None, None, 2]
    assert grant.payments[-1] == (Decimal("36000.00"), "balance")


def test_upcasting_never_rewrites_the_stored_rows(v2: ModuleType, store: Path) -> None:
    original = STORE.read_bytes()
    app = v2.Grants(env={"SQLITE_DBNAME": str(store)})
    try:
        recorder = app.recorder
        assert isinstance(recorder, ChainedSQLiteApplicationRecorder)
        app.repository.get(v2.Grant.create_id("G-2023-001"))
        events, _ = recorder.read_chain()
    finally:
        app.close()

    assert all(e.state in original for e in events)
