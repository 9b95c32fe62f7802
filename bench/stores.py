"""The stores a benchmark run uses: a scratch SQLite folder, a scratch PostgreSQL schema."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder

from aidflow.adapters.transcodings import register_transcodings

ROOT = Path(__file__).resolve().parent.parent
PG_ENV_VARS = ("AIDFLOW_BENCH_POSTGRES", "AIDFLOW_TEST_POSTGRES")


@dataclass
class Store:
    """One scratch store of a kind: its aidflow URL and how to reach the same tables raw."""

    kind: str  # "sqlite" or "postgres"
    url: str
    path: Path | None = None  # SQLite file
    server: str | None = None  # PostgreSQL server URL (no aidflow options)
    schema: str | None = None

    def stock_env(self) -> dict[str, str]:
        """eventsourcing settings for a *stock* application on the same database."""
        if self.kind == "sqlite":
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(self.path)}
        parts = urlsplit(self.server or "")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.lstrip("/"),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": parts.username or "",
            "POSTGRES_PASSWORD": parts.password or "",
            "POSTGRES_SCHEMA": self.schema or "public",
        }


class StockApp(Application[Any]):
    """Stock eventsourcing 9.5: default JSONTranscoder, Mapper, recorder and projector.

    Only aidflow's transcodings are registered, so that it can store aidflow's events.
    """

    name = "Aidflow"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_transcodings(transcoder)


@contextlib.contextmanager
def sqlite_store(name: str = "aidflow") -> Iterator[Store]:
    folder = Path(tempfile.mkdtemp(prefix="aidflow-bench-"))
    path = folder / f"{name}.sqlite"
    try:
        yield Store(kind="sqlite", url=f"sqlite:///{path}", path=path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _connect_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query=""))


def find_postgres(explicit: str | None, *, start: bool) -> tuple[str | None, str]:
    """A PostgreSQL server URL and how it was found, or None and why not."""
    url = explicit or next((os.environ[v] for v in PG_ENV_VARS if os.environ.get(v)), None)
    how = "given" if url else ""
    script = ROOT / "scripts" / "start-postgres.sh"
    if url is None and start and script.is_file():
        try:
            done = subprocess.run(
                ["bash", str(script)], capture_output=True, text=True, timeout=300, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return None, f"scripts/start-postgres.sh failed: {error}"
        line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if done.returncode != 0 or "=" not in line:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"scripts/start-postgres.sh failed: {tail}"
        url = line.split("=", 1)[1].strip().strip("'\"")
        how = "started by scripts/start-postgres.sh"
    if url is None:
        return None, "no server: set AIDFLOW_BENCH_POSTGRES or run scripts/start-postgres.sh"
    try:
        import psycopg  # noqa: PLC0415 - only for PostgreSQL runs

        with psycopg.connect(_connect_url(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any reason the server is not usable
        return None, f"{url.split('@')[-1]} not reachable: {type(error).__name__}: {error}"
    return url, how


@contextlib.contextmanager
def postgres_store(server: str) -> Iterator[Store]:
    import psycopg  # noqa: PLC0415 - only for PostgreSQL runs
    from psycopg import sql  # noqa: PLC0415

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_connect_url(server), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    parts = urlsplit(server)
    query = dict(parse_qsl(parts.query)) | {"schema": schema}
    url = urlunsplit(parts._replace(query=urlencode(query)))
    try:
        yield Store(kind="postgres", url=url, server=_connect_url(server), schema=schema)
    finally:
        with psycopg.connect(_connect_url(server), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def store_of(kind: str, server: str | None) -> Iterator[Store]:
    if kind == "sqlite":
        with sqlite_store() as store:
            yield store
    else:
        assert server is not None  # noqa: S101 - checked by the caller
        with postgres_store(server) as store:
            yield store
