"""eventsourcing's own recorder contract suite, run against aidflow's chained recorders.

The chained recorders override a private hook of eventsourcing 9.5 (``_insert_events``),
so they must still behave exactly like the recorders they extend: this module subclasses
``ApplicationRecorderTestCase`` (and, on PostgreSQL, ``NonInterleavingNotificationIDsBaseCase``)
from ``eventsourcing.tests.persistence``. The abstract bases stay inside the imported
module, so pytest never collects them (no ``del``).

After every contract test, the chain written alongside the contract's events must verify:
every insert the contract expects to fail (duplicates, conflicts) left no link behind, and
every insert it expects to succeed has exactly its links.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests import persistence as contract

from aidflow.adapters.chain import verify
from aidflow.adapters.chained_postgres import ChainedPostgresApplicationRecorder
from aidflow.adapters.chained_sqlite import ChainedSQLiteApplicationRecorder
from helpers import create_schema, drop_schema, join_test_threads, postgres_server_url


class _ChainChecked:
    """Mixin: after each contract test, the chain of everything recorded must verify."""

    recorders: list[ChainedSQLiteApplicationRecorder | ChainedPostgresApplicationRecorder]

    def check_chains(self) -> None:
        for recorder in self.recorders:
            events, links = recorder.read_chain()
            report = verify(events, links)
            assert report.ok, report.findings[:5]
            assert len(links) == len(events)


# ------------------------------------------------------------------ SQLite


class TestChainedSQLiteApplicationRecorder(
    _ChainChecked, contract.ApplicationRecorderTestCase[ChainedSQLiteApplicationRecorder]
):
    def setUp(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        # A file database in WAL mode: a shared in-memory one is flaky under the concurrent
        # tests ("database table is locked", see the perf baselines' pitfalls).
        self.db_name = str(Path(self.folder.name) / "contract.sqlite")
        self.datastores: list[SQLiteDatastore] = []
        self.recorders = []
        self.threads_before = set(threading.enumerate())

    def tearDown(self) -> None:
        join_test_threads(self.threads_before)
        try:
            self.check_chains()
        finally:
            for datastore in self.datastores:
                datastore.close()
            self.folder.cleanup()

    def create_recorder(self) -> ChainedSQLiteApplicationRecorder:
        datastore = SQLiteDatastore(db_name=self.db_name, lock_timeout=10)
        self.datastores.append(datastore)
        recorder = ChainedSQLiteApplicationRecorder(datastore)
        recorder.create_table()
        self.recorders.append(recorder)
        return recorder


# --------------------------------------------------------------- PostgreSQL


def _datastore(schema: str) -> PostgresDatastore:
    parts = urlsplit(postgres_server_url())
    return PostgresDatastore(
        dbname=unquote(parts.path.lstrip("/")),
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        schema=schema,
        pool_size=4,
        max_overflow=10,
        lock_timeout=10,
    )


class _PostgresRecorders(_ChainChecked):
    """A fresh schema per test, dropped afterwards (``create_recorder`` for the contract)."""

    def setUp(self) -> None:
        self.server = postgres_server_url()
        self.schema = create_schema(self.server)
        self.datastores: list[PostgresDatastore] = []
        self.recorders = []
        self.threads_before = set(threading.enumerate())

    def tearDown(self) -> None:
        join_test_threads(self.threads_before)
        try:
            self.check_chains()
        finally:
            for datastore in self.datastores:
                datastore.close()
            drop_schema(self.server, self.schema)

    def create_recorder(self) -> ChainedPostgresApplicationRecorder:
        datastore = _datastore(self.schema)
        self.datastores.append(datastore)
        recorder = ChainedPostgresApplicationRecorder(datastore, events_table_name="aidflow_events")
        recorder.create_table()
        self.recorders.append(recorder)
        return recorder


@pytest.mark.postgres
class TestChainedPostgresApplicationRecorder(
    _PostgresRecorders, contract.ApplicationRecorderTestCase[ChainedPostgresApplicationRecorder]
):
    pass


@pytest.mark.postgres
class TestChainedPostgresNonInterleaving(_PostgresRecorders, contract.NonInterleavingNotificationIDsBaseCase):
    pass


@pytest.mark.skipif(not os.environ.get("AIDFLOW_TEST_POSTGRES"), reason="needs $AIDFLOW_TEST_POSTGRES")
@pytest.mark.postgres
def test_db_functions_mode_is_refused() -> None:
    """That mode inserts through a PL/pgSQL function that would bypass the chain."""
    datastore = _datastore("public")
    datastore.enable_db_functions = True
    try:
        with pytest.raises(ValueError, match="POSTGRES_ENABLE_DB_FUNCTIONS"):
            ChainedPostgresApplicationRecorder(datastore)
    finally:
        datastore.close()


def _colliding_once(upstream: Callable[[Any], None], message: str, calls: list[str]) -> Callable[[Any], None]:
    """``create_table`` that runs, then fails once with ``message`` as a racing process would."""

    def create_table(recorder: Any) -> None:
        calls.append(message)
        upstream(recorder)
        if len(calls) == 1:
            raise IntegrityError(message)

    return create_table


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("message", "retried"),
    [
        ('duplicate key value violates unique constraint "pg_type_typname_nsp_index"', True),
        ('duplicate key value violates unique constraint "stored_events_pkey"', False),
    ],
)
def test_a_type_created_by_another_process_at_once_is_retried(
    message: str, retried: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes opening a fresh store together can collide on PostgreSQL's type catalogue.

    That collision (seen in CI under load) is injected once into eventsourcing's
    ``create_table``: the chained recorder runs it again and the store opens. Any other
    integrity error is not retried.
    """
    schema = create_schema(postgres_server_url())
    datastore = _datastore(schema)
    calls: list[str] = []
    upstream = PostgresApplicationRecorder.create_table
    colliding = _colliding_once(upstream, message, calls)
    monkeypatch.setattr(PostgresApplicationRecorder, "create_table", colliding)
    try:
        recorder = ChainedPostgresApplicationRecorder(datastore, events_table_name="aidflow_events")
        if retried:
            recorder.create_table()
            assert len(calls) == 2
            assert recorder.max_notification_id() is None
        else:
            with pytest.raises(IntegrityError, match="stored_events_pkey"):
                recorder.create_table()
            assert len(calls) == 1
    finally:
        datastore.close()
        drop_schema(postgres_server_url(), schema)
