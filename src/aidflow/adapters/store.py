"""Store selection: one URL picks the persistence module (ADR 0003).

``memory:`` (tests), ``sqlite:///relative/or/absolute/path.sqlite`` (the embedded
default) or ``postgresql://user:password@host:port/dbname[?schema=name&pool_size=N]``.
The URL comes from the ``--store`` CLI option, else the ``AIDFLOW_STORE`` environment
variable, else ``sqlite:///aidflow.sqlite`` in the current directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from aidflow.adapters.personal import cipher_env
from aidflow.domain.errors import InvalidValue

DEFAULT_STORE = "sqlite:///aidflow.sqlite"
STORE_ENV_VAR = "AIDFLOW_STORE"


def resolve_store_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The store URL in force: explicit, else ``$AIDFLOW_STORE``, else the default."""
    environ = os.environ if environ is None else environ
    return explicit or environ.get(STORE_ENV_VAR) or DEFAULT_STORE


def describe_store(url: str) -> str:
    """The URL with any password masked, for display."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def env_for_store(url: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Translate a store URL into eventsourcing environment settings.

    With ``$AIDFLOW_CIPHER_KEY`` set (in ``environ``, default ``os.environ``), event states
    are encrypted at rest and personal fields are sealed for erasure (ADR 0008).
    """
    return _env_for_url(url) | cipher_env(os.environ if environ is None else environ)


def _env_for_url(url: str) -> dict[str, str]:
    if url in ("memory:", "memory://", "popo:"):
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if url.startswith("sqlite:"):
        return _sqlite_env(url)
    if url.startswith(("postgresql:", "postgres:")):
        return _postgres_env(url)
    msg = (
        f"unknown store {url!r}: use memory:, sqlite:///path/to/file.sqlite or "
        "postgresql://user:password@host:port/dbname"
    )
    raise InvalidValue(msg, field="store", value=url)


def _sqlite_env(url: str) -> dict[str, str]:
    if not url.startswith("sqlite:///"):
        msg = f"SQLite store URLs look like sqlite:///relative/path.sqlite, got {url!r}"
        raise InvalidValue(msg, field="store", value=url)
    path = unquote(url.removeprefix("sqlite:///"))
    if not path:
        msg = f"SQLite store URL {url!r} names no file"
        raise InvalidValue(msg, field="store", value=url)
    if path == ":memory:":
        dbname = ":memory:"
    else:
        # sqlite:////abs/path → "/abs/path"; sqlite:///rel/path → "rel/path".
        file = Path(path)
        if not file.parent.exists():
            msg = f"SQLite store folder {str(file.parent)!r} does not exist"
            raise InvalidValue(msg, field="store", value=url)
        dbname = str(file)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": dbname,
        "SQLITE_LOCK_TIMEOUT": "10",
        # The recorder that writes the hash chain with the events (aidflow.adapters.chain).
        "APPLICATION_RECORDER_TOPIC": "aidflow.adapters.chained_sqlite:ChainedSQLiteApplicationRecorder",
    }


def _postgres_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    if not dbname or not parts.hostname or not parts.username:
        shown = describe_store(url)
        msg = f"PostgreSQL store URLs look like postgresql://user:password@host:port/dbname, got {shown!r}"
        raise InvalidValue(msg, field="store", value=describe_store(url))
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(dbname),
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "10",
        # The recorder that writes the hash chain with the events (aidflow.adapters.chain).
        "APPLICATION_RECORDER_TOPIC": "aidflow.adapters.chained_postgres:ChainedPostgresApplicationRecorder",
    }
    query = parse_qs(parts.query)
    options = {"schema": "POSTGRES_SCHEMA", "pool_size": "POSTGRES_POOL_SIZE",
               "max_overflow": "POSTGRES_MAX_OVERFLOW", "connect_timeout": "POSTGRES_CONNECT_TIMEOUT"}
    for key, values_ in query.items():
        if key not in options:
            msg = f"unknown PostgreSQL store option {key!r} (known: {', '.join(options)})"
            raise InvalidValue(msg, field="store", value=key)
        env[options[key]] = values_[-1]
    return env
