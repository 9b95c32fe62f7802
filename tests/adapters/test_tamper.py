"""Tamper evidence: rows altered behind aidflow's back are reported, by aggregate and version.

Each test records the example dossier (DOSSIER.md) through the application, alters the
stored rows directly with SQL (as someone with write access to the database would), and
checks what ``verify`` reports. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from uuid import UUID

import pytest
from typer.testing import CliRunner

from aidflow.adapters.audit_cli import EXIT_TAMPERED, audit_app
from aidflow.adapters.bundle import CHAIN_FILE, EVENTS_FILE, MANIFEST_FILE, verify_bundle
from aidflow.adapters.chain import GENESIS, fold_digest, link
from aidflow.application import audit
from aidflow.application.dossier import run_dossier
from aidflow.application.service import Aidflow
from aidflow.domain.identity import application_id, convention_id
from helpers import CONVENTION, DOSSIER_EXAMPLE, REFERENCE

APPLICATION = f"application {REFERENCE}"
CONVENTION_LABEL = f"convention {CONVENTION}"


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Only the stores that keep a chain (overrides conftest's, which adds memory)."""
    return str(request.param)


@pytest.fixture
def app(store_url: str) -> Iterator[Aidflow]:
    application = Aidflow(store=store_url)
    run_dossier(application, copy.deepcopy(DOSSIER_EXAMPLE))
    try:
        yield application
    finally:
        application.close()


class RawStore:
    """SQL access to the stored rows, bypassing aidflow (the attacker's view)."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        if kind == "sqlite":
            self.events, self.chain, self.number = "stored_events", "aidflow_chain", "rowid"
        else:
            schema = parse_qs(urlsplit(url).query)["schema"][0]
            self.events = f'"{schema}".aidflow_events'
            self.chain = f'"{schema}".aidflow_chain'
            self.number = "notification_id"

    def _id(self, originator_id: UUID) -> str | UUID:
        return originator_id.hex if self.kind == "sqlite" else originator_id

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            path = urlsplit(self.url).path
            with closing(sqlite3.connect(path)) as conn, conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg  # noqa: PLC0415 - only the PostgreSQL runs need it

        with psycopg.connect(urlunsplit(urlsplit(self.url)._replace(query="")), autocommit=True) as conn:
            cursor = conn.execute(sql, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def rows(self, originator_id: UUID) -> list[tuple[int, str, bytes, int]]:
        """(version, topic, state, notification id) of one aggregate's events."""
        return [
            (v, t, bytes(s), n) for v, t, s, n in self.execute(
                f"SELECT originator_version, topic, state, {self.number} FROM {self.events} "  # noqa: S608
                "WHERE originator_id = %s ORDER BY originator_version", (self._id(originator_id),))
        ]

    def version_of(self, originator_id: UUID, event: str) -> int:
        return next(v for v, t, _, _ in self.rows(originator_id) if t.endswith(f".{event}"))

    def set_state(self, originator_id: UUID, version: int, state: bytes) -> None:
        self.execute(f"UPDATE {self.events} SET state = %s WHERE originator_id = %s "  # noqa: S608
                     "AND originator_version = %s", (state, self._id(originator_id), version))

    def delete(self, originator_id: UUID, version: int) -> None:
        self.execute(f"DELETE FROM {self.events} WHERE originator_id = %s "  # noqa: S608
                     "AND originator_version = %s", (self._id(originator_id), version))

    def insert(self, originator_id: UUID, version: int, topic: str, state: bytes) -> None:
        self.execute(f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "  # noqa: S608
                     "VALUES (%s, %s, %s, %s)", (self._id(originator_id), version, topic, state))

    def set_version(self, originator_id: UUID, old: int, new: int) -> None:
        self.execute(f"UPDATE {self.events} SET originator_version = %s WHERE originator_id = %s "  # noqa: S608
                     "AND originator_version = %s", (new, self._id(originator_id), old))

    def set_number(self, originator_id: UUID, version: int, number: int) -> None:
        self.execute(f"UPDATE {self.events} SET {self.number} = %s WHERE originator_id = %s "  # noqa: S608
                     "AND originator_version = %s", (number, self._id(originator_id), version))

    def set_link(self, originator_id: UUID, version: int, value: bytes) -> None:
        self.execute(f"UPDATE {self.chain} SET link = %s WHERE originator_id = %s "  # noqa: S608
                     "AND originator_version = %s", (value, self._id(originator_id), version))


@pytest.fixture
def raw(store_kind: str, store_url: str) -> RawStore:
    return RawStore(store_kind, store_url)


def findings(view: audit.VerifyView) -> set[tuple[str, str, int]]:
    return {(f.kind, f.aggregate, f.version) for f in view.findings}


# -------------------------------------------------------------- untouched


def test_an_untouched_store_verifies(app: Aidflow) -> None:
    whole = audit.verify_store(app)
    dossier = audit.verify_store(app, REFERENCE)

    assert whole.ok, whole.findings
    assert dossier.ok, dossier.findings
    assert whole.links == app.event_count() == whole.events_checked
    assert dossier.store_digest == whole.store_digest
    assert {APPLICATION, CONVENTION_LABEL} <= set(dossier.heads)


def test_the_published_digest_of_an_earlier_state_is_found(app: Aidflow) -> None:
    published = audit.verify_store(app)
    app.rename_scheme("CEA", "Contrat Entreprise d'avenir (renamed)", date(2024, 6, 1))

    later = audit.verify_store(app, expect_digest=published.store_digest)

    assert later.ok
    assert later.links == published.links + 1
    assert later.expected_digest_found_at == published.links


# ------------------------------------------------------------------ tampering


def test_a_modified_state_is_reported_at_its_version(app: Aidflow, raw: RawStore) -> None:
    application = application_id(REFERENCE)
    version = raw.version_of(application, "Awarded")
    state = next(s for v, _, s, _ in raw.rows(application) if v == version)
    raw.set_state(application, version, state.replace(b"250000.00", b"350000.00"))

    dossier = audit.verify_store(app, REFERENCE)
    whole = audit.verify_store(app)

    assert findings(dossier) == {("modified", APPLICATION, version)}
    assert {(f.kind, f.version) for f in whole.findings} == {("modified", version)}
    assert "AidApplication" in whole.findings[0].aggregate


def test_a_modified_recording_time_is_reported(app: Aidflow, raw: RawStore) -> None:
    convention = convention_id(CONVENTION)
    version = raw.version_of(convention, "HeadcountDeclared")
    state = next(s for v, _, s, _ in raw.rows(convention) if v == version)
    recorded = json.loads(state)["timestamp"]["_data_"]
    raw.set_state(convention, version, state.replace(recorded.encode(), b"2026-01-01T00:00:00+00:00"))

    assert findings(audit.verify_store(app, REFERENCE)) == {("modified", CONVENTION_LABEL, version)}


def test_a_deleted_event_is_reported(app: Aidflow, raw: RawStore) -> None:
    convention = convention_id(CONVENTION)
    version = raw.version_of(convention, "PaymentRecorded")
    raw.delete(convention, version)

    assert findings(audit.verify_store(app, REFERENCE)) == {("deleted", CONVENTION_LABEL, version)}
    assert ("deleted", version) in {(f.kind, f.version) for f in audit.verify_store(app).findings}


def test_a_forged_event_is_reported_as_inserted(app: Aidflow, raw: RawStore) -> None:
    convention = convention_id(CONVENTION)
    rows = raw.rows(convention)
    payment = next((t, s) for _, t, s, _ in rows if t.endswith(".PaymentRecorded"))
    forged = rows[-1][0] + 1
    raw.insert(convention, forged, payment[0], payment[1].replace(b"75000.00", b"95000.00"))

    assert findings(audit.verify_store(app, REFERENCE)) == {("inserted", CONVENTION_LABEL, forged)}


def test_swapped_versions_are_reported_as_reordered(app: Aidflow, raw: RawStore) -> None:
    application = application_id(REFERENCE)
    first, second = 2, 3
    raw.set_version(application, first, -1)
    raw.set_version(application, second, first)
    raw.set_version(application, -1, second)

    assert findings(audit.verify_store(app, REFERENCE)) == {
        ("reordered", APPLICATION, first), ("reordered", APPLICATION, second)
    }


def test_swapped_notification_order_is_reported(app: Aidflow, raw: RawStore) -> None:
    convention = convention_id(CONVENTION)
    rows = raw.rows(convention)
    (v1, _, _, n1), (v2, _, _, n2) = rows[1], rows[2]
    raw.set_number(convention, v1, -5)
    raw.set_number(convention, v2, n1)
    raw.set_number(convention, v1, n2)

    whole = audit.verify_store(app)

    assert {(f.kind, f.version) for f in whole.findings} == {("reordered", v2)}
    assert f"notification {n1}" in whole.findings[0].detail


def test_a_rewritten_chain_passes_unless_checked_against_a_published_digest(
    app: Aidflow, raw: RawStore
) -> None:
    """The threat model's limit: write access to events *and* chain can rewrite history.

    Only a digest published before the rewrite, out of the attacker's reach, reveals it.
    """
    published = audit.verify_store(app).store_digest
    application = application_id(REFERENCE)
    rows = raw.rows(application)
    raw.set_state(application, rows[2][0], rows[2][2].replace(b"250000.00", b"350000.00"))
    previous = GENESIS
    for version, topic, state, _ in raw.rows(application):
        previous = link(previous, topic, str(application), version, state)
        raw.set_link(application, version, previous)

    assert audit.verify_store(app).ok
    anchored = audit.verify_store(app, expect_digest=published)
    assert not anchored.ok
    assert anchored.expected_digest_found_at is None


# ------------------------------------------------------------------- CLI


def test_cli_verify_exits_4_and_names_the_version(app: Aidflow, raw: RawStore, store_url: str) -> None:
    runner = CliRunner()
    clean = runner.invoke(audit_app, ["verify", REFERENCE, "--store", store_url])
    assert clean.exit_code == 0, clean.output
    assert "OK" in clean.output
    assert "store digest:" in clean.output

    application = application_id(REFERENCE)
    last = raw.rows(application)[-1][0]
    raw.delete(application, last)
    tampered = runner.invoke(audit_app, ["verify", "--store", store_url, "--json"])

    assert tampered.exit_code == EXIT_TAMPERED
    report = json.loads(tampered.output)
    assert report["ok"] is False
    assert [(f["kind"], f["version"]) for f in report["findings"]] == [("deleted", last)]


# ----------------------------------------------------------------- bundles


@pytest.fixture
def bundle(app: Aidflow, tmp_path: Path) -> Path:
    directory = tmp_path / "bundle"
    audit.export_bundle(app, REFERENCE, directory)
    return directory


def test_an_exported_bundle_verifies_offline(app: Aidflow, bundle: Path) -> None:
    published = audit.verify_store(app).store_digest
    manifest = json.loads((bundle / MANIFEST_FILE).read_text(encoding="utf-8"))

    report = verify_bundle(bundle, expect_digest=published)

    assert report.ok, report.problems
    assert report.reference == REFERENCE
    assert manifest["store_digest"]["digest"] == published
    assert {APPLICATION, CONVENTION_LABEL} <= set(manifest["aggregates"].values())
    lines = (bundle / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    assert report.chain is not None
    assert len(lines) == report.chain.events_checked
    assert all({"originator_id", "version", "topic"} <= set(json.loads(line)) for line in lines)


def _edit_first_line(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    data = json.loads(lines[0])
    edit(data)
    lines[0] = json.dumps(data, ensure_ascii=False, sort_keys=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_edited_bundle_line_fails_offline_verification(bundle: Path) -> None:
    _edit_first_line(bundle / EVENTS_FILE, lambda d: d.update(state=d["state"] + " "))

    report = verify_bundle(bundle)

    assert not report.ok
    assert any(EVENTS_FILE in p and "modified" in p for p in report.problems)
    assert report.chain is not None
    assert [f.kind.value for f in report.chain.findings] == ["modified"]


def test_an_edited_bundle_with_a_forged_manifest_still_fails(bundle: Path) -> None:
    """Re-hashing the file in the manifest does not help: the links no longer match."""
    _edit_first_line(bundle / EVENTS_FILE, lambda d: d.update(topic=d["topic"] + "X"))
    manifest_path = bundle / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    import hashlib  # noqa: PLC0415 - the forger's tool

    manifest["files"][EVENTS_FILE] = hashlib.sha256((bundle / EVENTS_FILE).read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")

    report = verify_bundle(bundle)

    assert report.problems == []
    assert report.chain is not None
    assert not report.ok
    assert [f.kind.value for f in report.chain.findings] == ["modified"]


def _forge_consistently(bundle: Path) -> None:
    """What a forger with the bundle's format can do: edit a recorded fact (the beneficiary's
    name at submission), recompute the links of that aggregate from there, the store digest,
    the heads and the file hashes in the manifest."""
    import hashlib  # noqa: PLC0415 - the forger's tool

    events = [json.loads(line) for line in (bundle / EVENTS_FILE).read_text(encoding="utf-8").splitlines()]
    chain = [json.loads(line) for line in (bundle / CHAIN_FILE).read_text(encoding="utf-8").splitlines()]
    edited = next(e for e in events if "Atelier Garonne SAS" in e.get("state", ""))
    edited["state"] = edited["state"].replace("Atelier Garonne SAS", "Atelier Garonne SARL")
    own = {(c["originator_id"], c["version"]): c for c in chain if "originator_id" in c}
    aggregate = edited["originator_id"]
    first = edited["version"] == 1
    previous = GENESIS if first else bytes.fromhex(own[aggregate, edited["version"] - 1]["link"])
    for event in sorted((e for e in events if e["originator_id"] == aggregate), key=lambda e: e["version"]):
        if event["version"] < edited["version"]:
            continue
        previous = link(previous, event["topic"], aggregate, event["version"], event["state"].encode("utf-8"))
        own[aggregate, event["version"]]["link"] = previous.hex()
    (bundle / EVENTS_FILE).write_text(
        "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in events), encoding="utf-8"
    )
    (bundle / CHAIN_FILE).write_text(
        "".join(json.dumps(c, sort_keys=True) + "\n" for c in chain), encoding="utf-8"
    )
    manifest = json.loads((bundle / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["store_digest"]["digest"] = fold_digest(bytes.fromhex(c["link"]) for c in chain).hex()
    manifest["heads"][aggregate]["link"] = previous.hex()
    for name in (EVENTS_FILE, CHAIN_FILE):
        manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")


def test_a_consistently_rewritten_bundle_fails_against_the_published_digest(bundle: Path) -> None:
    published = json.loads((bundle / MANIFEST_FILE).read_text(encoding="utf-8"))["store_digest"]["digest"]

    _forge_consistently(bundle)

    assert verify_bundle(bundle).ok  # on its own, a consistent forgery verifies
    report = verify_bundle(bundle, expect_digest=published)
    assert not report.ok
    assert report.expected_digest_found_at is None


def test_cli_export_bundle_then_verify_offline(app: Aidflow, store_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    exported = runner.invoke(
        audit_app, ["export-bundle", REFERENCE, str(tmp_path / "b"), "--store", store_url]
    )
    assert exported.exit_code == 0, exported.output

    checked = runner.invoke(audit_app, ["verify", "--bundle", str(tmp_path / "b"), "--json"])

    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["bundle_reference"] == REFERENCE


def test_a_missing_bundle_folder_is_refused_not_reported_as_tampering(tmp_path: Path) -> None:
    result = CliRunner().invoke(audit_app, ["verify", "--bundle", str(tmp_path / "no-such-bundle")])

    assert result.exit_code == 1
    assert "is not a folder" in str(result.exception)


@pytest.mark.parametrize("manifest", ["{not json", "[1, 2]"])
def test_an_unreadable_manifest_is_a_finding_not_an_internal_error(bundle: Path, manifest: str) -> None:
    (bundle / MANIFEST_FILE).write_text(manifest, encoding="utf-8")

    report = verify_bundle(bundle)
    result = CliRunner().invoke(audit_app, ["verify", "--bundle", str(bundle)])

    assert not report.ok
    assert any(MANIFEST_FILE in p for p in report.problems)
    assert result.exit_code == EXIT_TAMPERED


def test_a_state_that_is_not_text_is_a_finding(bundle: Path) -> None:
    _edit_first_line(bundle / EVENTS_FILE, lambda d: d.update(state=12))

    report = verify_bundle(bundle)

    assert not report.ok
    assert any("malformed bundle line" in p for p in report.problems)
