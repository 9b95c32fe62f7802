"""Eligibility gate, appraisal and capped awards through the application service (RULES.md §3)."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aidflow.application import Aidflow
from aidflow.domain.company import ModuleMismatch
from aidflow.domain.eligibility import EligibilityFacts, check_eligibility
from aidflow.domain.errors import CeilingExceeded, InvalidTransition

REF = "2024-CEA-0042"
GOOD_SCORES = {"impact_strategy": 55, "social_impact": 60, "ecological_impact": 70,
               "power_sharing": 50, "value_sharing": 65}
GOOD_FACTS: dict[str, Any] = {
    "tax_and_social_compliant": True, "equity": "800000.00", "court_proceedings": False,
    "real_estate": False,
    "commitments": ["environmental_footprint", "non_discrimination", "decent_work", "career_development"],
    "environmental_measures": "Heat recovery on the new kiln line",
}
AWARD = {"on": "2024-03-14", "amount": "250000.00", "grant": "200000.00", "advance": "50000.00",
         "body": "commission permanente", "deliberation": "CP/2024-03/12.04"}


def submit(app: Aidflow, reference: str = REF, requested: str = "250000.00", on: str = "2024-01-15") -> None:
    app.submit({
        "reference": reference, "scheme": "CEA", "on": on, "requested": requested,
        "beneficiary": {"kind": "company", "siren": "732829320", "name": "Atelier Garonne SAS",
                        "staff": 42, "turnover": "6200000.00", "balance_sheet": "3900000.00"},
        "site": {"siret": "73282932000074", "commune": "Toulouse", "department": "31"},
        "programme": {"start": "2024-03-01", "end": "2025-12-31", "investment": "900000.00", "jobs": 12},
    })


@pytest.fixture
def app():
    application = Aidflow("memory:")
    yield application
    application.close()


def test_award_before_the_gate_is_refused_and_records_nothing(app):
    submit(app)
    before = app.event_count()
    with pytest.raises(InvalidTransition, match="not checked yet"):
        app.award(REF, AWARD)
    assert app.event_count() == before


def test_every_failing_condition_is_reported_then_a_correction_passes(app):
    submit(app)
    bad = {**GOOD_FACTS, "tax_and_social_compliant": False, "equity": "-1.00",
           "court_proceedings": True, "commitments": ["decent_work"]}
    result = app.check_eligibility(REF, {"on": "2024-02-01", **bad})
    assert not result["eligible"]
    failed = [f["rule"] for f in result["failures"]]
    assert {"E1", "E2", "E3", "E4", "E5"} <= set(failed)
    assert app.dossier(REF).status == "ineligible"
    with pytest.raises(InvalidTransition, match="ineligible"):
        app.award(REF, AWARD)

    app.self_diagnosis(REF, {"on": "2024-02-05", "module": "full", "scores": GOOD_SCORES})
    corrected = app.check_eligibility(REF, {"on": "2024-02-06", **GOOD_FACTS})
    assert corrected == {"eligible": True, "failures": []}
    app.award(REF, AWARD)
    assert app.dossier(REF).status == "awarded"


def test_the_simplified_module_is_refused_for_a_company_of_42(app):
    submit(app)
    with pytest.raises(ModuleMismatch, match="42") as refused:
        app.self_diagnosis(REF, {"on": "2024-01-20", "module": "simplified", "scores": GOOD_SCORES})
    assert refused.value.field == "module"


def test_appraisal_factor_caps_the_award_and_the_cap_is_recorded(app):
    submit(app)
    low = dict(GOOD_SCORES, power_sharing=35)  # lowest axis 35: band 25-49 → factor 0.90 (default grid)
    app.self_diagnosis(REF, {"on": "2024-01-20", "module": "full", "scores": low})
    app.check_eligibility(REF, {"on": "2024-02-01", **GOOD_FACTS})
    appraisal = app.appraise(REF, {"on": "2024-02-20", "financial_income": "0.00", "dividends_paid": "0.00",
                                   "self_financing_capacity": "300000.00", "shareholder_dividends": "0.00",
                                   "executive_total_pay": "90000.00"})
    assert Decimal(appraisal["factor"]) == Decimal("0.90")
    before = app.event_count()
    with pytest.raises(CeilingExceeded) as refused:
        app.award(REF, AWARD)
    assert "225000.00" in str(refused.value)
    assert app.event_count() == before

    app.award(REF, dict(AWARD, amount="225000.00", grant="175000.00"))
    trail = app.decisions(REF)
    assert [d["kind"] for d in trail] == ["eligibility", "appraisal", "award"]
    assert trail[2]["record"]["maximum"] == "225000.00"


def test_de_minimis_headroom_binds_across_two_aids_to_the_same_company(app):
    for reference, on in (("2024-CEA-0001", "2024-01-15"), ("2025-CEA-0002", "2025-06-01")):
        submit(app, reference, requested="250000.00" if reference.startswith("2024") else "100000.00", on=on)
    app.self_diagnosis("2024-CEA-0001", {"on": "2024-01-20", "module": "full", "scores": GOOD_SCORES})
    app.check_eligibility("2024-CEA-0001", {"on": "2024-02-01", **GOOD_FACTS})
    app.award("2024-CEA-0001", dict(AWARD))
    app.check_eligibility("2025-CEA-0002", {"on": "2025-06-10", **GOOD_FACTS})

    with pytest.raises(CeilingExceeded, match=r"CAP-DE-MINIMIS|de minimis"):
        app.award("2025-CEA-0002", dict(AWARD, on="2025-07-01", amount="100000.00", grant="100000.00",
                                        advance="0.00"))
    app.award("2025-CEA-0002", dict(AWARD, on="2025-07-01", amount="50000.00", grant="50000.00",
                                    advance="0.00"))
    company = app.company("732829320")
    assert company is not None
    assert [str(a.amount) for a in company.aids_granted] == ["250000.00", "50000.00"]


def test_a_recorded_eligibility_decision_replays_to_the_same_result(app):
    submit(app)
    app.self_diagnosis(REF, {"on": "2024-01-20", "module": "full", "scores": GOOD_SCORES})
    app.check_eligibility(REF, {"on": "2024-02-01", **GOOD_FACTS, "equity": "-5.00"})
    record = app.decisions(REF)[0]["record"]

    replayed = check_eligibility(EligibilityFacts.from_dict(record["facts"]),
                                 app.rulebook.version(record["rulebook_version"]))

    assert replayed.to_audit_dict() == record


def test_decisions_survive_a_reopened_store_and_explain_prints_them(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    first = Aidflow(url)
    submit(first)
    first.self_diagnosis(REF, {"on": "2024-01-20", "module": "full", "scores": GOOD_SCORES})
    first.check_eligibility(REF, {"on": "2024-02-01", **GOOD_FACTS})
    first.award(REF, AWARD)
    first.close()

    aidflow = Path(sys.executable).parent / "aidflow"
    shown = subprocess.run([aidflow, "explain", REF, "--decision", "2", "--store", url],
                           capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "CAP-REQUESTED" in shown.stdout
    assert "2022-11-25" in shown.stdout
    missing = subprocess.run([aidflow, "explain", REF, "--decision", "9", "--store", url],
                             capture_output=True, text=True, check=False)
    assert missing.returncode == 1
    assert "Traceback" not in missing.stderr
