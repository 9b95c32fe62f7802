"""Personal data: encrypted at rest, sealed per subject, erasable, and never in clear in raw rows.

The raw-row scans read every table of the SQLite file or PostgreSQL schema, bypassing
aidflow and eventsourcing, and look for each personal value in the encodings it could take
(UTF-8, JSON ``\\u`` escapes, UTF-16). A control scan on an unencrypted store proves that
the scan finds them when they are there.
"""

from __future__ import annotations

import base64
import copy
import json
import sqlite3
import sys
from typing import Any

import pytest
import typer

from aidflow.adapters import cli as cli_module
from aidflow.adapters.cli import main
from aidflow.adapters.personal import CIPHER_KEY_ENV_VAR, ERASED, PersonalDataErased, cipher_env
from aidflow.adapters.privacy_cli import register_privacy_commands
from aidflow.application.dossier import run_dossier
from aidflow.application.service import Aidflow
from aidflow.domain.errors import AidflowError, InvalidValue
from helpers import DOSSIER_EXAMPLE, REFERENCE, another_company
from reliability.rel_support import record_figure

KEY = base64.b64encode(bytes(range(32))).decode()
NAME = "Jeanne Dupont-Sérignan EI"
OTHER_NAME = "Pierre Martin, exploitant agricole"
PAY = "96123.45"
OTHER_PAY = "71234.56"
PERSONAL_VALUES = [NAME, OTHER_NAME, PAY, OTHER_PAY]
SECOND = "2024-CEA-0099"


def _dossier(reference: str, name: str, pay: str, index: int | None = None) -> dict[str, Any]:
    dossier = copy.deepcopy(DOSSIER_EXAMPLE) | {"reference": reference}
    dossier["beneficiary"]["name"] = name
    if index is not None:
        moved = another_company(index, {"beneficiary": dossier["beneficiary"], "site": dossier["site"]})
        dossier |= moved
    steps = dossier["steps"]
    steps.insert(3, {"on": "2024-02-10", "do": "appraise", "financial_income": "0.00",
                     "dividends_paid": "0.00", "self_financing_capacity": "100000.00",
                     "shareholder_dividends": "0.00", "executive_total_pay": pay,
                     "eligible_expenses": "900000.00"})
    award = steps[4]
    award |= {"amount": "225000.00", "grant": "175000.00"}
    sign = steps[5]
    sign["convention"] = f"CONV-{reference}"
    return dossier


def _record(url: str, env: dict[str, str]) -> None:
    app = Aidflow(store=url, env=env)
    try:
        run_dossier(app, _dossier(REFERENCE, NAME, PAY))
        run_dossier(app, _dossier(SECOND, OTHER_NAME, OTHER_PAY, index=3))
    finally:
        app.close()


def _encodings(value: str) -> list[bytes]:
    escaped = json.dumps(value).strip('"').encode()
    return sorted({value.encode(), escaped, value.encode("utf-16-le"), value.encode("latin-1", "replace")})


def _cells(url: str) -> list[bytes]:
    """Every cell of every table of the store, as raw bytes."""
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            rows = [row for table in tables for row in db.execute(f'SELECT * FROM "{table}"')]  # noqa: S608
    else:
        import psycopg  # noqa: PLC0415
        from psycopg import sql  # noqa: PLC0415

        from helpers import _connect_url  # noqa: PLC0415

        schema = url.split("schema=")[1].split("&", maxsplit=1)[0]
        with psycopg.connect(_connect_url(url)) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))]
            rows = [row for table in tables
                    for row in conn.execute(sql.SQL("SELECT * FROM {}.{}").format(
                        sql.Identifier(schema), sql.Identifier(table)))]
    cells = []
    for row in rows:
        for cell in row:
            if isinstance(cell, bytes | bytearray | memoryview):
                cells.append(bytes(cell))
            elif cell is not None:
                cells.append(str(cell).encode())
    return cells


def _in_clear(url: str) -> dict[str, int]:
    """Personal value → bytes of it found in clear in the raw rows."""
    cells = _cells(url)
    found = {}
    for value in PERSONAL_VALUES:
        hits = sum(cell.count(encoded) for cell in cells for encoded in _encodings(value))
        found[value] = hits * len(value.encode())
    return found


@pytest.fixture
def encrypted(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv(CIPHER_KEY_ENV_VAR, KEY)
    return cipher_env({CIPHER_KEY_ENV_VAR: KEY})


def test_raw_rows_hold_no_personal_value_in_clear(shared_store: str, encrypted: dict[str, str]) -> None:
    _record(shared_store, encrypted)

    found = _in_clear(shared_store)

    assert found == dict.fromkeys(PERSONAL_VALUES, 0)
    record_figure("personal values scanned", len(PERSONAL_VALUES))
    record_figure("bytes of personal data in clear", sum(found.values()))


def test_the_scan_finds_personal_values_when_no_key_is_set(shared_store: str) -> None:
    """Control: without a key nothing is encrypted, and the same scan sees every value."""
    _record(shared_store, {})

    found = _in_clear(shared_store)

    assert all(found[value] > 0 for value in PERSONAL_VALUES), found


def test_personal_fields_are_sealed_inside_the_encrypted_events(
    shared_store: str, encrypted: dict[str, str]
) -> None:
    """Below the whole-event encryption, each personal value is sealed under its subject's key."""
    from eventsourcing.cipher import AESCipher  # noqa: PLC0415
    from eventsourcing.utils import Environment  # noqa: PLC0415

    _record(shared_store, encrypted)
    master = AESCipher(Environment(env={"CIPHER_KEY": KEY}))
    app = Aidflow(store=shared_store, env=encrypted)
    states = [master.decrypt(n.state) for n in app.recorder.select_notifications(start=1, limit=10_000)]
    app.close()

    inner = b"".join(states)
    assert b"aidflow-sealed/1" in inner
    assert [v for v in PERSONAL_VALUES for e in _encodings(v) if e in inner] == []


# ------------------------------------------------------------------ erasure


def _erase(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``aidflow erase …`` through the main CLI once wired, else through the privacy commands."""
    wired = "erase" in typer.main.get_command(cli_module.cli).commands  # type: ignore[attr-defined]
    if wired:
        status = main(["erase", *argv])
    else:
        local = typer.Typer(pretty_exceptions_enable=False)
        register_privacy_commands(local)
        local.command("noop", hidden=True)(lambda: None)
        try:
            local(args=["erase", *argv], prog_name="aidflow", standalone_mode=False)
            status = 0
        except AidflowError as error:
            print(f"error: {error.message}", file=sys.stderr)  # noqa: T201
            status = 1
    printed = capsys.readouterr()
    return status, printed.out + printed.err


def _stored_states(url: str, env: dict[str, str]) -> list[bytes]:
    app = Aidflow(store=url, env=env)
    try:
        return [n.state for n in app.recorder.select_notifications(start=1, limit=10_000)]
    finally:
        app.close()


def test_erasure_is_refused_while_the_dossier_must_be_kept(
    shared_store: str, encrypted: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _record(shared_store, encrypted)

    status, output = _erase([REFERENCE, "--store", shared_store], capsys)

    assert status == 1
    assert "must be kept until" in output
    assert "Traceback" not in output
    app = Aidflow(store=shared_store, env=encrypted)
    assert app.dossier(REFERENCE).beneficiary == NAME
    app.close()


def test_erasure_shreds_one_subject_and_everything_still_replays_and_verifies(
    shared_store: str, encrypted: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _record(shared_store, encrypted)
    before = Aidflow(store=shared_store, env=encrypted)
    views_before = {r: before.dossier(r) for r in (REFERENCE, SECOND)}
    before.close()
    states_before = _stored_states(shared_store, encrypted)

    argv = [REFERENCE, "--despite-retention", "DPO decision 2031-07", "--store", shared_store]
    status, output = _erase(argv, capsys)

    assert status == 0, output
    assert "data keys destroyed" in output
    after = Aidflow(store=shared_store, env=encrypted)
    erased, kept = after.dossier(REFERENCE), after.dossier(SECOND)
    assert erased.beneficiary == ERASED
    unchanged = {"beneficiary"}
    assert erased.model_dump(exclude=unchanged) == views_before[REFERENCE].model_dump(exclude=unchanged)
    assert kept == views_before[SECOND]
    company = after.company(DOSSIER_EXAMPLE["beneficiary"]["siren"])
    assert company is not None
    assert company.name == ERASED
    def r4(reference: str) -> list[str]:
        return [d["record"]["ratios"]["R4"] for d in after.decisions(reference) if "ratios" in d["record"]]

    assert r4(REFERENCE) == [ERASED]
    assert r4(SECOND) == [OTHER_PAY]
    assert after.history(REFERENCE)  # every event still decodes
    after.close()
    assert _stored_states(shared_store, encrypted) == states_before  # erasure rewrites no event

    verified = main(["verify", "--store", shared_store])

    assert verified == 0, capsys.readouterr()
    assert _in_clear(shared_store) == dict.fromkeys(PERSONAL_VALUES, 0)
    record_figure("erasures verified", 1)


def test_erasure_needs_a_key_configured(shared_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    _record(shared_store, {})

    status, output = _erase(["732829320", "--store", shared_store], capsys)

    assert status == 1
    assert CIPHER_KEY_ENV_VAR in output


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_cipher_key_is_a_clear_error(key: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        cipher_env({CIPHER_KEY_ENV_VAR: key})
    assert raised.value.field == CIPHER_KEY_ENV_VAR
    assert key not in str(raised.value)  # a key is never echoed


def test_no_new_personal_data_for_an_erased_subject(
    shared_store: str, encrypted: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An application not yet decided has no retention period: it is erased without override;
    an appraisal that would record the executives' pay again is then refused."""
    dossier = _dossier(REFERENCE, NAME, PAY)
    appraise = dossier["steps"][3]
    app = Aidflow(store=shared_store, env=encrypted)
    run_dossier(app, dossier | {"steps": dossier["steps"][:3]})

    status, output = _erase([REFERENCE, "--store", shared_store], capsys)

    assert status == 0, output
    before = app.event_count()
    with pytest.raises(PersonalDataErased) as refused:
        app.appraise(REFERENCE, appraise)
    assert refused.value.field == "subject"
    assert "siren:732829320" in str(refused.value)
    assert app.event_count() == before
    assert app.dossier(REFERENCE).status == "eligible"
    app.close()
