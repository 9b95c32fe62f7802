"""eventsourcing's own recorder contract, run on the recorders aidflow configures.

The recorders come from aidflow's store URLs (``env_for_store``), so the settings
aidflow adds (lock timeouts, schema, pool size) are under test too:

- SQLite: a temporary database file (WAL), one per recorder;
- PostgreSQL: a fresh schema ``test_<uuid>`` on ``$AIDFLOW_TEST_POSTGRES`` per recorder,
  dropped afterwards (``eventsourcing.tests.postgres_utils`` cannot be imported from
  the 9.5.6 wheel, perf-baselines.md §4).

The base classes are reached through their module, so pytest does not collect the
abstract bases themselves.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import AggregateRecorder, ApplicationRecorder, InfrastructureFactory
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.tests import persistence as contract
from eventsourcing.utils import Environment

from aidflow.adapters.chained_sqlite import ChainedSQLiteApplicationRecorder
from aidflow.adapters.store import env_for_store
from aidflow.application.service import Aidflow
from helpers import create_schema, drop_schema, join_test_threads, postgres_server_url, schema_url


class SQLiteStores:
    """A new SQLite file store per recorder, all closed and removed in tearDown."""

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self._threads_before = set(threading.enumerate())
        self._tmp = tempfile.TemporaryDirectory(prefix="aidflow-recorders-")
        self._factories: list[InfrastructureFactory[Any]] = []

    def tearDown(self) -> None:
        join_test_threads(self._threads_before)
        for factory in self._factories:
            with contextlib.suppress(Exception):
                factory.close()
        self._tmp.cleanup()
        super().tearDown()  # type: ignore[misc]

    def factory(self) -> InfrastructureFactory[Any]:
        path = Path(self._tmp.name) / f"store-{len(self._factories)}.sqlite"
        env = env_for_store(f"sqlite:///{path}")
        factory = InfrastructureFactory.construct(Environment(Aidflow.name, env))
        self._factories.append(factory)
        return factory


class PostgresStores:
    """A new PostgreSQL schema per recorder, dropped in tearDown."""

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self._server = postgres_server_url()  # skips, or fails in CI, without a server
        self._threads_before = set(threading.enumerate())
        self._factories: list[InfrastructureFactory[Any]] = []
        self._schemas: list[str] = []

    def tearDown(self) -> None:
        join_test_threads(self._threads_before)
        for factory in self._factories:
            with contextlib.suppress(Exception):
                factory.close()
        for schema in self._schemas:
            drop_schema(self._server, schema)
        super().tearDown()  # type: ignore[misc]

    def factory(self) -> InfrastructureFactory[Any]:
        schema = create_schema(self._server)
        self._schemas.append(schema)
        env = env_for_store(schema_url(self._server, schema))
        factory = InfrastructureFactory.construct(Environment(Aidflow.name, env))
        self._factories.append(factory)
        return factory


class TestSQLiteAggregateRecorder(SQLiteStores, contract.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.factory().aggregate_recorder()


class TestSQLiteApplicationRecorder(
    SQLiteStores, contract.ApplicationRecorderTestCase[SQLiteApplicationRecorder]
):
    def create_recorder(self) -> SQLiteApplicationRecorder:
        recorder = self.factory().application_recorder()
        assert isinstance(recorder, SQLiteApplicationRecorder)
        return recorder


def test_sqlite_stores_use_write_ahead_logging(tmp_path: Path) -> None:
    path = tmp_path / "aidflow.sqlite"
    app = Aidflow(store=f"sqlite:///{path}")
    try:
        with closing(sqlite3.connect(path)) as connection:
            (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        assert mode == "wal"
    finally:
        app.close()


@pytest.mark.postgres
class TestPostgresAggregateRecorder(PostgresStores, contract.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.factory().aggregate_recorder()


@pytest.mark.postgres
class TestPostgresApplicationRecorder(
    PostgresStores, contract.ApplicationRecorderTestCase[PostgresApplicationRecorder]
):
    def create_recorder(self) -> PostgresApplicationRecorder:
        recorder = self.factory().application_recorder()
        assert isinstance(recorder, PostgresApplicationRecorder)
        assert recorder.datastore.schema.startswith("test_")
        return recorder


def test_the_application_uses_these_recorder_classes(tmp_path: Path) -> None:
    app = Aidflow(store=f"sqlite:///{tmp_path}/aidflow.sqlite")
    try:
        assert type(app.recorder) is ChainedSQLiteApplicationRecorder  # the chain is written
        assert isinstance(app.recorder, SQLiteApplicationRecorder)
        assert isinstance(app.recorder, ApplicationRecorder)
    finally:
        app.close()
