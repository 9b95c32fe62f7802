# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Amendments through the application: the ``amend`` verb, its refusals, views and dossier step.

ADR 0007; DOSSIER.md step ``amend``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from aidflow.adapters.demo import demo_dossiers, record_demo
from aidflow.adapters.demo_amendment import DEMO_REASON, record_demo_amendment
from aidflow.application.amendments import AmendStep
from aidflow.application.dossier import StepRefused, run_dossier, schema
from aidflow.application.errors import InputError
from aidflow.application.service import Aidflow
from aidflow.domain.errors import CeilingExceeded, DomainRuleViolation, InvalidTransition, InvalidValue
from aidflow.domain.values import Money
from helpers import (
    CONVENTION,
    DOSSIER_EXAMPLE,
    OTHER_COMPANY_SIRET,
    REFERENCE,
    SIREN,
    award_step,
    make_eligible,
    pay_step,
    sign_step,
    submit_command,
)

AmendingAidflow = Aidflow


@pytest.fixture
def app(store_url: str) -> Iterator[Any]:
    application = AmendingAidflow(store=store_url, clock=lambda: date(2027, 1, 10))
    yield application
    application.close()


def signed(app: Any) -> None:
    app.submit(submit_command())
    make_eligible(app)
    app.award(REFERENCE, award_step())
    app.sign(REFERENCE, sign_step())
    app.pay(REFERENCE, pay_step())


def obligation(app: Any, oid: str) -> dict[str, Any]:
    return next(o for o in app.dossier(REFERENCE).obligations if o["id"] == oid)


def extension(**overrides: Any) -> dict[str, Any]:
    return {"on": "2025-06-01", "do": "amend", "number": 1, "reason": "kiln delivered late",
            "programme_end": "2026-06-30"} | overrides


def test_a_6_month_extension_moves_the_O2_window_end_by_6_months_for_a_PME(app):
    signed(app)
    assert obligation(app, "O2")["until"] == date(2028, 12, 31)

    app.amend(REFERENCE, extension())

    assert obligation(app, "O2")["until"] == date(2029, 6, 30)
    assert obligation(app, "O1")["until"] == date(2029, 6, 30)


def test_O3_never_moves(app):
    signed(app)
    before = obligation(app, "O3")
    app.amend(REFERENCE, extension())
    app.amend(CONVENTION, {"on": "2025-07-01", "do": "amend", "number": 2, "reason": "more jobs", "jobs": 14,
                           "site": {"commune": "Blagnac", "department": "31", "siret": "73282932000082"}})
    assert obligation(app, "O3") == before
    assert (before["from"], before["until"]) == (date(2024, 4, 2), date(2032, 4, 2))


def test_an_amount_decrease_below_paid_is_refused_and_nothing_is_recorded(app):
    signed(app)
    events = app.event_count()
    with pytest.raises(DomainRuleViolation) as refused:
        app.amend(REFERENCE, extension(programme_end=None, amount="70000.00", grant="20000.00",
                                       advance="50000.00"))
    assert (refused.value.field, refused.value.value) == ("amount", "70000.00")
    assert app.event_count() == events


def test_an_amount_increase_is_checked_against_the_scheme_ceiling(app):
    signed(app)
    with pytest.raises(CeilingExceeded) as refused:
        app.amend(REFERENCE, extension(programme_end=None, amount="320000.00", grant="200000.00",
                                       advance="120000.00"))
    assert refused.value.field == "amount"
    app.amend(REFERENCE, extension(programme_end=None, amount="300000.00", grant="200000.00",
                                   advance="100000.00"))
    assert app.convention(CONVENTION).awarded.amount == 300000
    assert app.pay(REFERENCE, {"on": "2025-07-01", "ref": "P2", "amount": "225000.00", "kind": "interim"})


def test_a_split_award_needs_the_split_of_the_new_amount(app):
    signed(app)
    with pytest.raises(DomainRuleViolation) as refused:
        app.amend(REFERENCE, extension(programme_end=None, amount="260000.00"))
    assert refused.value.field == "grant"
    with pytest.raises(InputError) as missing:
        app.amend(REFERENCE, extension(programme_end=None, grant="100000.00"))
    assert missing.value.field == "amount"
    with pytest.raises(DomainRuleViolation) as mismatch:
        app.amend(REFERENCE, extension(programme_end=None, amount="260000.00", grant="100000.00"))
    assert mismatch.value.field == "amount"


def test_an_amendment_after_an_established_breach_is_refused(app):
    signed(app)
    app.complete_programme(REFERENCE, {"on": "2025-12-31"})
    app.record_fact(REFERENCE, {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9})
    app.assess_clawback(REFERENCE, {"on": "2027-06-30"})
    with pytest.raises(InvalidTransition) as refused:
        app.amend(REFERENCE, extension(on="2027-07-01", programme_end=None, jobs=9))
    assert refused.value.field == "do"


def test_an_amendment_after_closing_is_refused(app):
    signed(app)
    app.complete_programme(REFERENCE, {"on": "2025-12-31"})
    app.assess_clawback(REFERENCE, {"on": "2032-04-03"})
    app.close_convention(REFERENCE, {"on": "2032-04-10"})
    with pytest.raises(InvalidTransition):
        app.amend(REFERENCE, extension(on="2032-05-01"))


def test_a_step_that_changes_nothing_or_has_an_unknown_field_is_an_input_error(app):
    signed(app)
    with pytest.raises(InputError) as empty:
        app.amend(REFERENCE, {"on": "2025-06-01", "do": "amend", "number": 1, "reason": "nothing"})
    assert empty.value.field == "do"
    with pytest.raises(InputError) as unknown:
        app.amend(REFERENCE, extension(programme_start="2024-01-01"))
    assert unknown.value.field == "programme_start"
    with pytest.raises(InputError) as number:
        app.amend(REFERENCE, extension(number="1"))
    assert number.value.field == "number"


def test_a_site_of_another_company_is_refused(app):
    signed(app)
    with pytest.raises(InvalidValue) as refused:
        app.amend(REFERENCE, extension(programme_end=None, site={
            "commune": "Lyon", "department": "69", "siret": OTHER_COMPANY_SIRET}))
    assert refused.value.field == "site.siret"


def test_the_amendments_view_and_the_history_show_the_terms_before_and_after(app):
    signed(app)
    app.amend(REFERENCE, extension())
    (view,) = app.amendments(REFERENCE)
    assert view.kinds == ["programme_extension"]
    assert (view.before.programme_end, view.after.programme_end) == (date(2025, 12, 31), date(2026, 6, 30))
    assert view.after.amendment == 1
    amended = next(h for h in app.history(REFERENCE) if h.event == "Amended")
    assert amended.on == date(2025, 6, 1)
    assert amended.data["before"]["obligations"]["programme_end"] == "2025-12-31"
    assert amended.data["after"]["obligations"]["programme_end"] == "2026-06-30"


def test_the_clawback_explanation_names_the_amendment_in_force(app):
    signed(app)
    app.amend(REFERENCE, extension())
    app.complete_programme(REFERENCE, {"on": "2026-06-30"})
    app.record_fact(REFERENCE, {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9})
    assessment = app.assess_clawback(REFERENCE, {"on": "2027-06-30"})
    assert str(assessment.total_due) == "18750.00"
    assert "as amended by avenant no. 1 signed 2025-06-01" in assessment.explanation
    assert "as amended by avenant no. 1" in app.dossier(REFERENCE).clawback["explanation"]


# ---------------------------------------------------------------- dossier files


def dossier_with(*steps: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    data = copy.deepcopy(DOSSIER_EXAMPLE)
    kept = [s for s in data["steps"] if s["do"] not in drop]
    at = next(i for i, s in enumerate(kept) if s["do"] == "pay") + 1
    data["steps"] = [*kept[:at], *steps, *kept[at:]]
    return data


def test_dossier_amend_step_moves_the_windows(app):
    data = dossier_with(extension(), drop=("complete_programme",))

    result = run_dossier(app, data)

    assert result.steps_recorded == len(data["steps"])
    state = result.state
    assert state is not None
    o2 = next(o for o in state.obligations if o["id"] == "O2")
    assert o2["until"] == date(2029, 6, 30)
    # Declaration of 2027-03-01 falls after the amended end (2026-06-30): the O2 shortfall counts.
    assert state.clawback is not None
    assert state.clawback["total_due"] == "18750.00"


def test_dossier_completion_before_a_late_extension_keeps_the_extension(app):
    late = extension(on="2026-01-15", programme_end="2026-06-30")
    data = dossier_with()
    at = next(i for i, s in enumerate(data["steps"]) if s["do"] == "complete_programme") + 1
    data["steps"].insert(at, late)
    state = run_dossier(app, data).state
    assert state is not None
    assert next(o for o in state.obligations if o["id"] == "O2")["until"] == date(2029, 6, 30)


def test_a_refused_amend_step_names_its_index_and_field_and_keeps_earlier_steps(app):
    data = dossier_with(extension(programme_end=None, amount="1000.00", grant="1000.00"))
    index = next(i for i, s in enumerate(data["steps"]) if s["do"] == "amend")
    with pytest.raises(StepRefused) as refused:
        run_dossier(app, data)
    assert refused.value.index == index
    assert refused.value.field == f"steps[{index}].amount"
    assert app.convention(CONVENTION).paid.amount == 75000


def test_a_malformed_amend_step_is_refused_with_its_field(app):
    data = dossier_with(extension(reason=""))
    with pytest.raises(StepRefused) as refused:
        run_dossier(app, data)
    assert refused.value.field.endswith(".reason")


def test_the_dossier_schema_documents_the_amend_step():
    assert "AmendStep" in schema()["$defs"]
    assert AmendStep.model_json_schema()["additionalProperties"] is False


# ---------------------------------------------------------------- demo


def test_the_demo_amendment_extends_a_signed_demo_convention_once():
    app = AmendingAidflow(store="memory:")
    try:
        record_demo(app)
        conventions = [c for c in app.conventions() if c.status.value == "signed" and c.completion is None]
        target = conventions[0] if conventions else next(
            c for c in app.conventions() if c.status.value == "signed")
        end_before = target.programme.end

        amendment = record_demo_amendment(app, target.application_reference)

        assert amendment is not None
        assert amendment.reason == DEMO_REASON
        after = app.convention(target.number)
        assert after.programme.end > end_before
        assert record_demo_amendment(app, target.number) is None
        assert any(d["reference"] == target.application_reference for d in demo_dossiers())
    finally:
        app.close()


# ------------------------------------------------------------ de minimis ledger (CAP-DE-MINIMIS)


def _ledger(app: Any) -> list[tuple[date, Decimal, str]]:
    company = app.company(SIREN)
    return [(aid.on, aid.amount.amount, aid.reference) for aid in company.aids_granted]


def _increase(amount: str, advance: str, on: str = "2025-06-01") -> dict[str, Any]:
    return extension(on=on, programme_end=None, amount=amount, grant="200000.00", advance=advance)


def test_an_increase_of_a_de_minimis_award_enters_the_ledger_on_the_amendment_date(app):
    signed(app)

    app.amend(REFERENCE, _increase("280000.00", "80000.00"))

    assert _ledger(app)[-1] == (date(2025, 6, 1), Decimal("30000.00"), f"{CONVENTION}/amendment-1")
    assert sum(amount for _, amount, _ in _ledger(app)) == Decimal("280000.00")


def test_an_increase_above_the_de_minimis_headroom_is_refused_and_nothing_is_recorded(app):
    signed(app)
    company = app.company(SIREN)
    company.record_aid_granted(date(2025, 1, 10), Money("40000.00"), "de_minimis", "other-grantor/2025-7")
    app.save(company)
    events = app.event_count()

    with pytest.raises(CeilingExceeded) as refused:
        app.amend(REFERENCE, _increase("270000.00", "70000.00"))  # +20 000 > 300 000 − 290 000

    assert (refused.value.field, refused.value.value) == ("amount", "20000.00")
    assert "de minimis headroom of 10000.00" in str(refused.value)
    assert app.event_count() == events
    assert app.convention(CONVENTION).awarded.amount == Decimal("250000.00")
    app.amend(REFERENCE, _increase("260000.00", "60000.00"))  # +10 000: exactly the headroom
    assert _ledger(app)[-1][1] == Decimal("10000.00")


def test_an_aid_leaving_the_rolling_window_frees_headroom_for_a_later_increase(app):
    signed(app)  # 250 000 awarded on 2024-03-14
    company = app.company(SIREN)
    company.record_aid_granted(date(2022, 6, 1), Money("60000.00"), "de_minimis", "other-grantor/2022-1")
    app.save(company)

    # On 2025-05-31 the 2022-06-01 aid is in the 3-year window: 310 000 granted, no headroom.
    with pytest.raises(CeilingExceeded, match=r"de minimis headroom of 0\.00"):
        app.amend(REFERENCE, _increase("300000.00", "100000.00", on="2025-05-31"))
    # On 2025-06-01 it is exactly 3 years old: outside the window (250 000, headroom 50 000).
    app.amend(REFERENCE, _increase("300000.00", "100000.00", on="2025-06-01"))
    assert _ledger(app)[-1][:2] == (date(2025, 6, 1), Decimal("50000.00"))


def test_a_decrease_does_not_enter_the_ledger(app):
    signed(app)
    before = _ledger(app)

    app.amend(REFERENCE, _increase("240000.00", "40000.00"))

    assert _ledger(app) == before


def test_an_increase_back_after_a_decrease_enters_only_what_the_ledger_lacks(app):
    signed(app)  # 250 000 entered on 2024-03-14
    app.amend(REFERENCE, _increase("200000.00", "0.00"))  # down: not entered
    assert sum(amount for _, amount, _ in _ledger(app)) == Decimal("250000.00")

    app.amend(REFERENCE, _increase("260000.00", "60000.00", on="2025-07-01") | {"number": 2})

    assert _ledger(app)[-1] == (date(2025, 7, 1), Decimal("10000.00"), f"{CONVENTION}/amendment-2")
    assert sum(amount for _, amount, _ in _ledger(app)) == Decimal("260000.00")


def test_another_aid_whose_reference_starts_like_this_one_is_not_taken_for_it(app):
    """References may contain '/': the ledger is matched on exact references, not prefixes."""
    signed(app)  # 250 000 entered as 2024-CEA-0042/CP/2024-03/12.04
    company = app.company(SIREN)
    company.record_aid_granted(date(2025, 1, 10), Money("40000.00"), "de_minimis", f"{REFERENCE}/B/other")
    app.save(company)

    with pytest.raises(CeilingExceeded, match=r"de minimis headroom of 10000\.00"):
        app.amend(REFERENCE, _increase("280000.00", "80000.00"))  # +30 000 > 300 000 − 290 000
