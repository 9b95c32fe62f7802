"""History and time travel (RULES.md §6): a dossier as of a business date, as known at a time.

Runs on every store (memory, SQLite, PostgreSQL): replays read the stored events only.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from aidflow.adapters.audit_cli import audit_app
from aidflow.application import audit
from aidflow.application.dossier import run_dossier
from aidflow.application.errors import NotFound
from aidflow.application.service import Aidflow
from aidflow.domain.identity import scheme_id
from helpers import CONVENTION, DOSSIER_EXAMPLE, REFERENCE


def steps_until(do: str) -> dict[str, Any]:
    """The example dossier up to and including its first ``do`` step."""
    dossier = copy.deepcopy(DOSSIER_EXAMPLE)
    names = [s["do"] for s in dossier["steps"]]
    dossier["steps"] = dossier["steps"][: names.index(do) + 1]
    return dossier


@pytest.fixture
def app(store_url: str) -> Iterator[Aidflow]:
    application = Aidflow(store=store_url)
    try:
        yield application
    finally:
        application.close()


def now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------ as of


def test_as_of_a_business_date_keeps_only_the_facts_dated_by_then(app: Aidflow) -> None:
    run_dossier(app, steps_until("pay"))

    submitted = app.dossier_as_of(REFERENCE, as_of=date(2024, 1, 31))
    awarded = app.dossier_as_of(REFERENCE, as_of=date(2024, 3, 20))
    signed = app.dossier_as_of(REFERENCE, as_of=date(2024, 4, 10))
    paid = app.dossier_as_of(REFERENCE, as_of=date(2024, 4, 15))

    assert (submitted.status, submitted.awarded, submitted.convention) == ("submitted", None, None)
    assert (awarded.status, awarded.awarded, awarded.convention) == ("awarded", Decimal("250000.00"), None)
    assert (signed.status, signed.convention, signed.paid) == ("signed", CONVENTION, Decimal("0.00"))
    assert paid.paid == Decimal("75000.00")
    assert paid == app.dossier(REFERENCE)


def test_before_its_submission_a_dossier_does_not_exist(app: Aidflow) -> None:
    run_dossier(app, steps_until("submit"))

    with pytest.raises(NotFound, match="as of 2023-12-31"):
        app.dossier_as_of(REFERENCE, as_of=date(2023, 12, 31))


def test_a_fact_recorded_late_counts_as_of_its_business_date(app: Aidflow) -> None:
    run_dossier(app, steps_until("pay"))
    app.pay(REFERENCE, {"on": "2024-06-01", "ref": "P2", "amount": "25000.00", "kind": "interim"})

    assert app.dossier_as_of(REFERENCE, as_of=date(2024, 5, 31)).paid == Decimal("75000.00")
    assert app.dossier_as_of(REFERENCE, as_of=date(2024, 6, 1)).paid == Decimal("100000.00")


# ---------------------------------------------------------------- known at


def test_known_at_ignores_what_was_recorded_later_even_if_back_dated(app: Aidflow) -> None:
    run_dossier(app, steps_until("pay"))
    before = now()
    app.pay(REFERENCE, {"on": "2024-04-20", "ref": "P2", "amount": "25000.00", "kind": "interim"})

    known_then = app.dossier_as_of(REFERENCE, known_at=before)
    known_now = app.dossier_as_of(REFERENCE)
    bitemporal = app.dossier_as_of(REFERENCE, as_of=date(2024, 4, 30), known_at=before)

    assert known_then.paid == Decimal("75000.00")
    assert [p.ref for p in known_then.payments] == ["P1"]
    assert known_now.paid == Decimal("100000.00")
    assert bitemporal.paid == Decimal("75000.00")


def test_a_late_back_dated_headcount_does_not_change_the_assessment_known_before_it(app: Aidflow) -> None:
    """RULES.md §6: "a late declaration must not change what was known before it arrived"."""
    run_dossier(app, steps_until("complete_programme"))
    assessed_on = date(2027, 6, 30)
    before_declaration = now()
    known_before = app.preview_clawback(REFERENCE, assessed_on)
    app.record_fact(REFERENCE, {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9})

    with app.viewing(known_at=before_declaration):
        replayed = app.preview_clawback(REFERENCE, assessed_on)

    assert replayed == known_before
    assert app.preview_clawback(REFERENCE, assessed_on) != known_before


def test_a_recorded_assessment_replayed_known_at_a_moment_before_a_late_declaration(app: Aidflow) -> None:
    run_dossier(app, steps_until("complete_programme"))
    app.assess_clawback(REFERENCE, {"on": "2027-06-30", "do": "assess_clawback"})
    assessed = app.dossier(REFERENCE).clawback
    moment = now()
    app.record_fact(REFERENCE, {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9})
    app.assess_clawback(REFERENCE, {"on": "2027-07-01", "do": "assess_clawback"})

    assert app.dossier_as_of(REFERENCE, known_at=moment).clawback == assessed
    assert app.dossier(REFERENCE).clawback != assessed


def test_a_clawback_assessment_is_dated_by_its_as_of(app: Aidflow) -> None:
    run_dossier(app, steps_until("complete_programme"))
    app.assess_clawback(REFERENCE, {"on": "2027-06-30", "do": "assess_clawback"})

    assessed = [e for e in app.history(REFERENCE) if e.event == "ClawbackAssessed"]

    assert [e.on for e in assessed] == [date(2027, 6, 30)]
    assert app.dossier_as_of(REFERENCE, as_of=date(2024, 5, 1)).clawback is None


# ------------------------------------------------------- read-only, generic


def test_nothing_can_be_recorded_while_viewing_the_past(app: Aidflow) -> None:
    run_dossier(app, steps_until("pay"))
    count = app.event_count()

    with app.viewing(as_of=date(2024, 4, 20)), pytest.raises(audit.ReadOnlyView):
        app.pay(REFERENCE, {"on": "2024-04-20", "ref": "P2", "amount": "1.00", "kind": "interim"})

    assert app.event_count() == count
    assert app.pay(REFERENCE, {"on": "2024-04-20", "ref": "P2", "amount": "1.00", "kind": "interim"})


def test_any_aggregate_replays_as_of_a_date(app: Aidflow) -> None:
    run_dossier(app, steps_until("submit"))
    app.rename_scheme("CEA", "Contrat Entreprise d'avenir 2", date(2025, 1, 1))
    moment = now()
    app.rename_scheme("CEA", "Contrat Entreprise d'avenir 3", date(2026, 1, 1))

    second = "Contrat Entreprise d'avenir 2"
    assert app.aggregate_as_of(scheme_id("CEA"), as_of=date(2025, 6, 1)).title == second
    assert app.aggregate_as_of(scheme_id("CEA"), known_at=moment).title == second
    assert app.scheme("CEA").title == "Contrat Entreprise d'avenir 3"


def test_views_use_the_lens_date_as_today(app: Aidflow) -> None:
    run_dossier(app, steps_until("pay"))

    with app.viewing(as_of=date(2024, 4, 20)):
        today = app.clock()

    assert today == date(2024, 4, 20)
    assert app.clock() != date(2024, 4, 20)


# ----------------------------------------------------------------- history


def test_history_as_of_and_known_at(app: Aidflow) -> None:
    run_dossier(app, steps_until("pay"))
    before = now()
    app.pay(REFERENCE, {"on": "2024-04-20", "ref": "P2", "amount": "25000.00", "kind": "interim"})

    full = app.history(REFERENCE)
    as_of = app.history_as_of(REFERENCE, as_of=date(2024, 3, 31))
    known = app.history_as_of(REFERENCE, known_at=before)

    assert all(e.on is None or e.on <= date(2024, 3, 31) for e in as_of)
    assert {e.event for e in as_of} >= {"Submitted", "Awarded"}
    assert "Signed" not in {e.event for e in as_of}
    assert len(known) == len(full) - 1
    assert all(e.recorded_at <= before for e in known)


def test_cli_history_exports_csv_and_json(app: Aidflow, store_url: str, store_kind: str) -> None:
    if store_kind == "memory":
        pytest.skip("the CLI opens its own store; memory: is per process")
    run_dossier(app, steps_until("pay"))
    runner = CliRunner()

    as_csv = runner.invoke(
        audit_app, ["history", REFERENCE, "--as-of", "2024-03-31", "--csv", "--store", store_url]
    )
    as_json = runner.invoke(audit_app, [
        "history", REFERENCE, "--known-at", (now() + timedelta(seconds=1)).isoformat(), "--json",
        "--store", store_url,
    ])
    table = runner.invoke(audit_app, ["history", "CEA", "--store", store_url])

    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert rows
    assert all(r["on"] <= "2024-03-31" for r in rows if r["on"])
    assert list(rows[0]) == ["aggregate", "reference", "version", "event", "on", "recorded_at", "data"]
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["state"]["paid"] == "75000.00"
    assert len(data["history"]) == len(app.history(REFERENCE))
    assert table.exit_code == 0, table.output
    assert "Opened" in table.output


def test_cli_history_refuses_a_bad_date(store_url: str, store_kind: str) -> None:
    if store_kind == "memory":
        pytest.skip("the CLI opens its own store")
    result = CliRunner().invoke(
        audit_app, ["history", REFERENCE, "--as-of", "31/03/2024", "--store", store_url]
    )

    assert result.exit_code == 1
    assert "YYYY-MM-DD" in str(result.exception)
