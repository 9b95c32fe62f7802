"""Store URLs → eventsourcing settings (ADR 0003), and where the URL comes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from aidflow.adapters.store import (
    DEFAULT_STORE,
    STORE_ENV_VAR,
    describe_store,
    env_for_store,
    resolve_store_url,
)
from aidflow.application.service import Aidflow
from aidflow.domain.errors import InvalidValue


@pytest.mark.parametrize("url", ["memory:", "memory://", "popo:"])
def test_memory(url: str) -> None:
    assert env_for_store(url) == {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def test_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    env = env_for_store("sqlite:///data/aid%20flow.sqlite")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == "data/aid flow.sqlite"
    assert env["SQLITE_LOCK_TIMEOUT"] == "10"


def test_sqlite_file_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert env_for_store("sqlite:///aidflow.sqlite")["SQLITE_DBNAME"] == "aidflow.sqlite"


def test_sqlite_absolute_path(tmp_path: Path) -> None:
    env = env_for_store(f"sqlite:///{tmp_path}/store.sqlite")
    assert env["SQLITE_DBNAME"] == f"{tmp_path}/store.sqlite"
    assert Path(env["SQLITE_DBNAME"]).is_absolute()


def test_sqlite_in_memory() -> None:
    assert env_for_store("sqlite:///:memory:")["SQLITE_DBNAME"] == ":memory:"


def test_sqlite_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/folder/store.sqlite"
    with pytest.raises(InvalidValue) as raised:
        env_for_store(url)
    assert raised.value.field == "store"
    assert raised.value.value == url
    assert f"{tmp_path}/no/such/folder" in str(raised.value)
    assert "does not exist" in str(raised.value)


@pytest.mark.parametrize("url", ["sqlite://aidflow.sqlite", "sqlite:aidflow.sqlite", "sqlite:///"])
def test_malformed_sqlite_urls(url: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        env_for_store(url)
    assert raised.value.field == "store"
    assert url in str(raised.value)


def test_postgresql_with_port_schema_and_pool_size() -> None:
    env = env_for_store("postgresql://aid%40user:p%3Ass@db.example:5433/aidflow?schema=tenant_1&pool_size=3")
    assert env.items() >= {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "aidflow",
        "POSTGRES_HOST": "db.example",
        "POSTGRES_PORT": "5433",
        "POSTGRES_USER": "aid@user",
        "POSTGRES_PASSWORD": "p:ss",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_SCHEMA": "tenant_1",
        "POSTGRES_POOL_SIZE": "3",
    }.items()


def test_postgresql_defaults() -> None:
    env = env_for_store("postgres://aidflow@localhost/aidflow")
    assert env["POSTGRES_PORT"] == "5432"
    assert env["POSTGRES_PASSWORD"] == ""
    assert "POSTGRES_SCHEMA" not in env
    assert "POSTGRES_POOL_SIZE" not in env


def test_postgresql_unknown_option() -> None:
    with pytest.raises(InvalidValue) as raised:
        env_for_store("postgresql://u:pw@localhost/db?sslmode=require")
    assert raised.value.field == "store"
    assert "sslmode" in str(raised.value)


@pytest.mark.parametrize("url", ["postgresql://u:secret@localhost/", "postgresql://localhost/db",
                                 "postgresql://u:secret@/db"])
def test_incomplete_postgresql_urls_do_not_show_the_password(url: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        env_for_store(url)
    assert raised.value.field == "store"
    assert "secret" not in str(raised.value)
    assert "secret" not in str(raised.value.value)


def test_describe_store_masks_the_password() -> None:
    assert describe_store("postgresql://aidflow:secret@h:5432/db") == "postgresql://aidflow:***@h:5432/db"
    assert describe_store("sqlite:///aidflow.sqlite") == "sqlite:///aidflow.sqlite"


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "aidflow.sqlite", "", "file:///tmp/x"])
def test_unknown_store(url: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        env_for_store(url)
    assert raised.value.field == "store"
    assert repr(url) in str(raised.value)


# ----------------------------------------------------- where the URL comes from


def test_explicit_url_wins_over_the_environment() -> None:
    assert resolve_store_url("memory:", {STORE_ENV_VAR: "sqlite:///x.sqlite"}) == "memory:"


def test_environment_variable() -> None:
    assert resolve_store_url(None, {STORE_ENV_VAR: "sqlite:///x.sqlite"}) == "sqlite:///x.sqlite"


def test_default_store() -> None:
    assert DEFAULT_STORE == "sqlite:///aidflow.sqlite"
    assert resolve_store_url(None, {}) == DEFAULT_STORE
    assert resolve_store_url(None, {STORE_ENV_VAR: ""}) == DEFAULT_STORE


def test_resolve_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORE_ENV_VAR, "memory:")
    assert resolve_store_url() == "memory:"
    monkeypatch.delenv(STORE_ENV_VAR)
    assert resolve_store_url() == DEFAULT_STORE


def test_aidflow_uses_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/from-env.sqlite"
    monkeypatch.setenv(STORE_ENV_VAR, url)
    app = Aidflow()
    try:
        assert app.store_url == url
        assert app.factory.env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite"
    finally:
        app.close()
    assert (tmp_path / "from-env.sqlite").exists()


def test_aidflow_defaults_to_aidflow_sqlite_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(STORE_ENV_VAR, raising=False)
    app = Aidflow()
    try:
        assert app.store_url == DEFAULT_STORE
    finally:
        app.close()
    assert (tmp_path / "aidflow.sqlite").exists()


def test_aidflow_refuses_a_missing_sqlite_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidValue) as raised:
        Aidflow(store=f"sqlite:///{tmp_path}/missing/aidflow.sqlite")
    assert raised.value.field == "store"
    assert not (tmp_path / "missing").exists()
