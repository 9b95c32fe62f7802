"""Monitoring, clawback and recovery driven through the application service (RULES.md §4-§5).

Each test records a convention like DOSSIER.md's example (a small company, 12 jobs,
programme 2024-03-01 → 2025-12-31, 75 000.00 paid) and then the monitoring facts.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from aidflow.application import Aidflow
from aidflow.domain.convention import ConventionStatus
from aidflow.domain.errors import AidflowError, CeilingExceeded, DateOutOfOrder, InvalidTransition

REF = "2024-CEA-0042"
CONV = "CONV-2024-0042"


def signed(app: Aidflow, reference: str = REF, number: str = CONV, *, innovation: bool = False) -> None:
    scheme = "CONTRAT-INNOVATION" if innovation else "CEA"
    app.submit({
        "reference": reference, "scheme": scheme,
        "beneficiary": {"kind": "company", "siren": "732829320", "name": "Atelier Garonne SAS",
                        "staff": 42, "turnover": "6200000.00", "balance_sheet": "3900000.00"},
        "site": {"siret": "73282932000074", "commune": "Toulouse", "department": "31"},
        "on": "2024-01-15", "requested": "250000.00",
        "programme": {"start": "2024-03-01", "end": "2025-12-31", "investment": "900000.00", "jobs": 12},
    })
    app.self_diagnosis(reference, {"on": "2024-01-20", "module": "full", "scores": {
        "impact_strategy": 55, "social_impact": 60, "ecological_impact": 40, "power_sharing": 35,
        "value_sharing": 50}})
    app.check_eligibility(reference, {
        "on": "2024-02-01", "tax_and_social_compliant": True, "equity": "800000.00",
        "court_proceedings": False, "real_estate": False,
        "commitments": ["environmental_footprint", "non_discrimination", "decent_work", "career_development"],
        "environmental_measures": "Heat recovery on the new kiln line"})
    app.award(reference, {"on": "2024-03-14", "amount": "250000.00", "grant": "200000.00",
                          "advance": "50000.00", "body": "commission permanente",
                          "deliberation": "CP/2024-03/12.04"})
    app.sign(reference, {"on": "2024-04-02", "convention": number})
    app.pay(reference, {"on": "2024-04-15", "ref": "P1", "amount": "75000.00", "kind": "advance"})
    app.complete_programme(reference, {"on": "2025-12-31"})


@pytest.fixture
def app():
    application = Aidflow("memory:", clock=lambda: date(2027, 1, 10))
    yield application
    application.close()


def test_dossier_example_yields_18750_due_and_puts_the_convention_in_breach(app):
    signed(app)
    app.record_fact(REF, {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9})

    assessment = app.assess_clawback(REF, {"on": "2027-06-30"})

    assert str(assessment.total_due) == "18750.00"
    view = app.dossier(REF)
    assert view.status == "in_breach"
    assert view.clawback is not None
    assert view.clawback["total_due"] == "18750.00"
    assert view.clawback["policy"] == "aidflow-default/1"
    o2 = next(o for o in view.obligations if o["id"] == "O2")
    assert (str(o2["from"]), str(o2["until"]), o2["state"]) == ("2024-03-01", "2028-12-31", "breached")
    assert view.recovery is not None
    assert view.recovery["cancelled_balance"] == Decimal("175000.00")


def test_an_established_breach_blocks_further_payments(app):
    signed(app)
    app.record_fact(REF, {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9})
    app.assess_clawback(REF, {"on": "2027-06-30"})
    before = app.event_count()

    with pytest.raises(InvalidTransition) as refused:
        app.pay(REF, {"on": "2027-07-01", "ref": "P2", "amount": "10000.00", "kind": "interim"})

    assert refused.value.field == "do"
    assert app.event_count() == before


def test_facts_in_any_recording_order_give_the_same_assessment():
    facts = [
        {"on": "2026-06-01", "do": "declare_headcount", "jobs": 11},
        {"on": "2027-03-01", "do": "declare_headcount", "jobs": 6},
        {"on": "2027-02-01", "do": "dispose_investment", "value": "90000.00"},
        {"on": "2028-01-15", "do": "declare_headcount", "jobs": 10},
        {"on": "2027-05-01", "do": "relocate", "destination": "Barcelona"},
    ]
    totals = set()
    for index, order in enumerate(itertools.permutations(facts)):
        if index % 7:  # 120 orders; every 7th keeps the test quick yet varied
            continue
        app = Aidflow("memory:")
        signed(app)
        for fact in order:
            app.record_fact(REF, fact)
        assessment = app.preview_clawback(REF, date(2028, 6, 30))
        totals.add((str(assessment.total_due), tuple(b.to_dict()["amount"] for b in assessment.breaches)))
        app.close()
    assert len(totals) == 1
    # jobs: worst shortfall 6/12 of 75 000 = 37 500; investment: 90 000/900 000 = 7 500.
    assert next(iter(totals))[0] == "37500.00"


def test_the_same_fact_twice_is_recorded_once(app):
    signed(app)
    fact = {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9}
    assert app.record_fact(REF, fact) is True
    count = app.event_count()
    assert app.record_fact(REF, fact) is False
    assert app.event_count() == count


def test_a_fact_before_signature_is_refused(app):
    signed(app)
    count = app.event_count()
    with pytest.raises(DateOutOfOrder) as refused:
        app.record_fact(REF, {"on": "2024-03-01", "do": "cease_activity"})
    assert refused.value.field == "on"
    assert "2024-03-01" in str(refused.value)
    assert app.event_count() == count


def test_innovation_facts_are_refused_on_other_schemes(app):
    signed(app)
    with pytest.raises(AidflowError, match="innovation"):
        app.record_fact(REF, {"on": "2026-03-01", "do": "renounce_exploitation"})


def test_discretionary_breach_is_pending_until_decided_then_counts(app):
    signed(app)
    app.record_fact(REF, {"on": "2026-09-01", "do": "change_control"})
    pending = app.assess_clawback(REF, {"on": "2026-10-01"})
    assert str(pending.total_due) == "0.00"
    assert pending.breaches[0].pending
    assert app.dossier(REF).status == "signed"

    app.decide_breach(REF, {"on": "2026-11-15", "do": "decide_breach", "obligation": "O4",
                            "amount": "30000.00"})
    decided = app.assess_clawback(REF, {"on": "2026-12-01"})

    assert str(decided.total_due) == "30000.00"
    assert app.dossier(REF).status == "in_breach"


def test_a_waived_discretionary_breach_never_counts(app):
    signed(app)
    app.record_fact(REF, {"on": "2026-09-01", "do": "relocate"})
    app.decide_breach(REF, {"on": "2026-10-01", "do": "decide_breach", "obligation": "O5", "waive": True})
    assessment = app.assess_clawback(REF, {"on": "2026-12-01"})
    assert str(assessment.total_due) == "0.00"
    assert app.dossier(REF).status == "signed"
    assert next(o for o in app.dossier(REF).obligations if o["id"] == "O5")["state"] == "waived"


def test_decision_without_a_fact_is_refused(app):
    signed(app)
    with pytest.raises(AidflowError, match="no fact"):
        app.decide_breach(REF, {"on": "2026-10-01", "do": "decide_breach", "obligation": "O4",
                                "amount": "1.00"})


def test_recovery_order_repayment_waiver_then_close(app):
    signed(app)
    app.record_fact(REF, {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9})
    app.assess_clawback(REF, {"on": "2027-06-30"})

    with pytest.raises(CeilingExceeded):
        app.issue_recovery_order(REF, {"on": "2027-07-10", "ref": "TR-1", "amount": "20000.00"})
    assert app.issue_recovery_order(REF, {"on": "2027-07-10", "ref": "TR-1", "amount": "18750.00"})
    assert not app.issue_recovery_order(REF, {"on": "2027-07-10", "ref": "TR-1", "amount": "18750.00"})
    assert app.repay(REF, {"on": "2027-09-01", "ref": "V-1", "amount": "15000.00"})
    with pytest.raises(InvalidTransition):
        app.close_convention(REF, {"on": "2027-09-02"})
    app.waive(REF, {"on": "2027-10-01", "amount": "3750.00", "deliberation": "CP/2027-10/01.01"})
    app.close_convention(REF, {"on": "2027-10-02"})

    view = app.dossier(REF)
    assert view.status == "closed"
    assert view.repaid == Decimal("15000.00")
    assert view.recovery == {"ordered": Decimal("18750.00"), "repaid": Decimal("15000.00"),
                             "waived": Decimal("3750.00"), "outstanding": Decimal("0.00"),
                             "cancelled_balance": Decimal("175000.00")}
    # Repayments reduce what a later assessment finds due.
    assert str(app.preview_clawback(REF, date(2027, 11, 1)).total_due) == "3750.00"


def test_same_recovery_reference_with_other_content_is_a_conflict(app):
    signed(app)
    app.record_fact(REF, {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9})
    app.assess_clawback(REF, {"on": "2027-06-30"})
    app.issue_recovery_order(REF, {"on": "2027-07-10", "ref": "TR-1", "amount": "10000.00"})
    with pytest.raises(AidflowError) as conflict:
        app.issue_recovery_order(REF, {"on": "2027-07-10", "ref": "TR-1", "amount": "11000.00"})
    assert conflict.value.field == "ref"


def test_a_convention_with_all_windows_ended_and_no_breach_is_fulfilled_then_closed(app):
    signed(app)
    for year in (2026, 2027, 2028):
        app.record_fact(REF, {"on": f"{year + 1}-01-15", "do": "declare_headcount", "jobs": 12})
    # O3 to O5 run 8 years from signature: until 2032-04-02.
    still_running = app.assess_clawback(REF, {"on": "2032-04-02"})
    assert not still_running.breaches
    assert app.dossier(REF).status == "signed"
    app.assess_clawback(REF, {"on": "2032-04-03"})
    assert app.dossier(REF).status == "fulfilled"
    app.close_convention(REF, {"on": "2032-04-10"})
    assert app.dossier(REF).status == "closed"
    with pytest.raises(InvalidTransition):
        app.record_fact(REF, {"on": "2032-05-01", "do": "cease_activity"})


def test_size_at_signature_alone_sets_the_3_year_window(app):
    signed(app)
    convention = app.convention(CONV)
    assert convention.size_at_signature is not None
    assert convention.size_at_signature.value == "small"
    o1 = next(o for o in app.dossier(REF).obligations if o["id"] == "O1")
    assert str(o1["until"]) == "2028-12-31"


def test_monitoring_calendar_lists_overdue_declarations(app):
    signed(app)
    due = app.monitoring_due(date(2027, 2, 1))
    assert [(r["convention"], str(r["anniversary"]), r["state"]) for r in due] == [
        (CONV, "2026-12-31", "due")
    ]
    overdue = app.monitoring_due(date(2027, 4, 2))
    assert [r["state"] for r in overdue] == ["overdue"]
    app.record_fact(REF, {"on": "2027-03-15", "do": "declare_headcount", "jobs": 12})
    assert app.monitoring_due(date(2027, 4, 2)) == []


def test_repayable_advance_schedule_flags_late_instalments(app):
    signed(app)
    app.schedule_repayment(REF, {"on": "2026-01-15", "do": "schedule_repayment",
                                 "first_due": "2027-01-31", "instalments": 4, "every_months": 6})
    convention = app.convention(CONV)
    assert [str(i.amount) for i in convention.repayment_schedule] == ["12500.00"] * 4
    app.receive_instalment(REF, {"on": "2027-01-20", "ref": "R1", "amount": "12500.00"})
    states = [s.state.value for s in app.convention(CONV).instalments(date(2027, 9, 1))]
    assert states == ["settled", "late", "upcoming", "upcoming"]
    with pytest.raises(CeilingExceeded):
        app.receive_instalment(REF, {"on": "2027-09-01", "ref": "R2", "amount": "40000.00"})


def test_clawback_assessment_survives_a_store_round_trip(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    first = Aidflow(url)
    signed(first)
    first.record_fact(REF, {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9})
    first.assess_clawback(REF, {"on": "2027-06-30"})
    first.close()

    reopened = Aidflow(url)
    convention = reopened.convention(CONV)
    assert convention.status is ConventionStatus.IN_BREACH
    assert convention.latest_assessment is not None
    assert convention.latest_assessment.to_dict()["breaches"][0]["obligation"] == "O2"
    assert str(convention.latest_assessment.total_due) == "18750.00"
    reopened.close()


def test_the_dossier_view_shows_the_advance_schedule_as_of_today(store_url):
    app = Aidflow(store_url, clock=lambda: date(2027, 9, 1))
    signed(app)
    assert app.dossier(REF).advance is None
    app.schedule_repayment(REF, {"on": "2026-01-15", "do": "schedule_repayment",
                                 "first_due": "2027-01-31", "instalments": 4, "every_months": 6})
    app.receive_instalment(REF, {"on": "2027-01-20", "ref": "R1", "amount": "12500.00"})
    app.receive_instalment(REF, {"on": "2027-08-10", "ref": "R2", "amount": "5000.00"})

    advance = app.dossier(REF).advance

    assert advance is not None
    assert (advance["as_of"], advance["scheduled_on"]) == (date(2027, 9, 1), date(2026, 1, 15))
    assert (str(advance["scheduled"]), str(advance["received"])) == ("50000.00", "17500.00")
    assert (str(advance["outstanding"]), str(advance["late"])) == ("32500.00", "7500.00")
    rows = [(i["number"], str(i["due_on"]), str(i["paid"]), i["state"], i["settled_on"])
            for i in advance["instalments"]]
    assert rows == [
        (1, "2027-01-31", "12500.00", "settled", date(2027, 1, 20)),
        (2, "2027-07-31", "5000.00", "late", None),
        (3, "2028-01-31", "0.00", "upcoming", None),
        (4, "2028-07-31", "0.00", "upcoming", None),
    ]
    assert app.dossier(REF).model_dump(mode="json")["advance"]["instalments"][1]["outstanding"] == "7500.00"
    app.close()


def test_receipts_dated_after_today_are_not_counted_yet(store_url):
    app = Aidflow(store_url, clock=lambda: date(2027, 1, 10))
    signed(app)
    app.schedule_repayment(REF, {"on": "2026-01-15", "do": "schedule_repayment",
                                 "first_due": "2027-01-31", "instalments": 4, "every_months": 6})
    app.receive_instalment(REF, {"on": "2027-01-20", "ref": "R1", "amount": "12500.00"})

    advance = app.dossier(REF).advance

    assert advance is not None
    assert str(advance["received"]) == "0.00"
    assert [i["state"] for i in advance["instalments"]] == ["upcoming"] * 4
    app.close()
