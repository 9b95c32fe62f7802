"""Shared test configuration.

Hypothesis runs derandomized in CI (``CI`` set) so that the suite is never flaky;
locally the ``dev`` profile explores with fresh randomness.

Stores: ``store_url`` and ``app`` run a test on each store (memory, SQLite, PostgreSQL);
the PostgreSQL runs need ``$AIDFLOW_TEST_POSTGRES`` (skipped locally without it,
an error in CI).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from aidflow.application.service import Aidflow
from helpers import create_schema, drop_schema, postgres_server_url, schema_url
from reliability.rel_support import (  # noqa: F401 - session hooks: the reliability figures summary
    pytest_configure,
    pytest_terminal_summary,
)

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# ------------------------------------------------------------------ stores

STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store a test runs on: ``memory``, ``sqlite`` or ``postgres``."""
    return str(request.param)


@pytest.fixture
def store_url(store_kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store of each kind.

    SQLite: a new file in the test's temporary folder. PostgreSQL: a new schema
    ``test_<uuid>`` on ``$AIDFLOW_TEST_POSTGRES`` (so tests, and xdist workers, never
    share tables), dropped with everything in it afterwards.
    """
    if store_kind == "memory":
        yield "memory:"
    elif store_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'aidflow.sqlite'}"
    else:
        server = postgres_server_url()
        schema = create_schema(server)
        try:
            yield schema_url(server, schema, pool_size="1")
        finally:
            drop_schema(server, schema)


@pytest.fixture
def app(store_url: str) -> Iterator[Aidflow]:
    """``Aidflow`` on a fresh store of each kind, closed afterwards."""
    application = Aidflow(store=store_url)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def reopen(store_kind: str, store_url: str) -> Iterator[Callable[[], Aidflow]]:
    """Open another ``Aidflow`` on the same store (not for ``memory:``, which is per process)."""
    if store_kind == "memory":
        pytest.skip("an in-memory store cannot be reopened")
    opened: list[Aidflow] = []

    def open_again() -> Aidflow:
        application = Aidflow(store=store_url)
        opened.append(application)
        return application

    yield open_again
    for application in opened:
        with contextlib.suppress(Exception):
            application.close()
