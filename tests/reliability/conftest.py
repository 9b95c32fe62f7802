"""Fixtures of the reliability suite: stores that several processes can share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import create_schema, drop_schema, postgres_server_url, schema_url

SHARED_STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=SHARED_STORES)
def shared_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def shared_store(shared_kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh store that several processes open at once: a SQLite file or a PostgreSQL schema."""
    if shared_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.sqlite'}"
        return
    server = postgres_server_url()
    schema = create_schema(server)
    try:
        yield schema_url(server, schema, pool_size="2")
    finally:
        drop_schema(server, schema)
