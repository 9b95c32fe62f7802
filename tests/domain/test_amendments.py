# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Amendments (avenants) on the Convention aggregate: given a convention, when amended, then…

ADR 0007. O1/O2 follow the programme end in force; O3-O7 always run from the ORIGINAL
signature (002_8b3eb659ad96bcac.txt L3420-3448).
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import pytest

from aidflow.domain.clawback import DEFAULT_POLICY
from aidflow.domain.convention import (
    Amendment,
    AmendmentKind,
    Convention,
    ConventionStatus,
    effective_programme_end,
)
from aidflow.domain.errors import DateOutOfOrder, DomainRuleViolation, InvalidTransition, InvalidValue
from aidflow.domain.obligations import FactKind, MonitoringFact, ObligationId
from aidflow.domain.values import (
    AwardSplit,
    Beneficiary,
    CompanyFigures,
    CompanySize,
    Money,
    PaymentKind,
    Programme,
    Site,
)

SIGNED = date(2024, 4, 2)
SIREN = "732829320"
SIRET = "73282932000074"
OTHER_SIRET = "73282932000082"


def convention(size: CompanySize | None = CompanySize.SMALL, *, innovation: bool = False) -> Convention:
    conv = Convention(
        number="CONV-T",
        application_reference="REF-T",
        scheme_code="CEA",
        beneficiary=Beneficiary(
            kind="company", name="Atelier Garonne SAS", siren=SIREN,
            figures=CompanyFigures(42, Money.of("6200000.00"), Money.of("3900000.00")),
        ),
        site=Site("Toulouse", "31", SIRET),
        programme=Programme(date(2024, 3, 1), date(2025, 12, 31), Money.of("900000.00"), 12),
        award=AwardSplit(grant=Money.of("200000.00"), advance=Money.of("50000.00")),
        size_at_signature=size,
        innovation=innovation,
        signed_on=SIGNED,
    )
    conv.pay("P1", Money.of("75000.00"), PaymentKind.ADVANCE, date(2024, 4, 15))
    conv.collect_events()
    return conv


def window(conv: Convention, obligation: str) -> tuple[date, date]:
    found = next(w for w in conv.windows if w.id is ObligationId(obligation))
    return found.start, found.until


def extend(conv: Convention, number: int = 1, on: date = date(2025, 6, 1),
           end: date = date(2026, 6, 30)) -> Amendment:
    return conv.amend(number, on, "delivery of the kiln delayed", programme_end=end)


# ---------------------------------------------------------------- windows


def test_a_6_month_extension_moves_the_O1_O2_window_end_by_6_months_for_a_PME():
    conv = convention(CompanySize.SMALL)
    assert window(conv, "O2") == (date(2024, 3, 1), date(2028, 12, 31))

    extend(conv)

    assert window(conv, "O2") == (date(2024, 3, 1), date(2029, 6, 30))
    assert window(conv, "O1") == (date(2024, 3, 1), date(2029, 6, 30))


def test_an_extension_moves_the_5_year_window_of_an_ETI():
    conv = convention(CompanySize.ETI)
    extend(conv)
    assert window(conv, "O2") == (date(2024, 3, 1), date(2031, 6, 30))


@pytest.mark.parametrize("obligation", ["O3", "O4", "O5", "O7"])
def test_O3_to_O7_never_move_they_run_from_the_original_signature(obligation):
    conv = convention(innovation=True)
    before = window(conv, obligation)

    extend(conv)
    conv.amend(2, date(2025, 7, 1), "new site", site=Site("Albi", "81", OTHER_SIRET),
               jobs=15, investment=Money.of("950000.00"))

    assert window(conv, obligation) == before == (SIGNED, date(2032, 4, 2))


def test_O6_the_programme_window_follows_the_extension():
    conv = convention(innovation=True)
    extend(conv)
    assert window(conv, "O6") == (date(2024, 3, 1), date(2026, 6, 30))


def test_terms_on_a_day_before_the_amendment_are_the_original_ones():
    conv = convention()
    extend(conv, on=date(2025, 6, 1))

    assert conv.terms_on(date(2025, 5, 31)).programme_end == date(2025, 12, 31)
    assert conv.terms_on(date(2025, 6, 1)).programme_end == date(2026, 6, 30)
    assert conv.windows_on(date(2025, 5, 31))[1].until == date(2028, 12, 31)


# ---------------------------------------------------------- completion vs amendment


def test_completion_recorded_after_the_extension_wins_for_O1_O2():
    conv = convention()
    extend(conv, on=date(2025, 6, 1), end=date(2026, 6, 30))
    conv.complete_programme(date(2026, 3, 31))
    assert conv.programme_end == date(2026, 3, 31)
    assert window(conv, "O2")[1] == date(2029, 3, 31)


def test_an_extension_signed_strictly_after_the_completion_date_wins():
    conv = convention()
    conv.complete_programme(date(2025, 12, 31))
    conv.amend(1, date(2026, 2, 1), "second phase of the programme", programme_end=date(2026, 9, 30))
    assert conv.programme_end == date(2026, 9, 30)
    assert window(conv, "O2")[1] == date(2029, 9, 30)


def test_an_extension_signed_on_the_completion_date_does_not_reopen_the_programme():
    conv = convention()
    conv.complete_programme(date(2025, 12, 31))
    # The planned end changes, but the actual end of the same day stays the O1/O2 anchor.
    conv.amend(1, date(2025, 12, 31), "planned end aligned", programme_end=date(2026, 1, 31))
    assert conv.programme.end == date(2026, 1, 31)
    assert conv.programme_end == date(2025, 12, 31)


def test_a_later_amendment_of_another_kind_keeps_the_completion_as_anchor():
    conv = convention()
    conv.complete_programme(date(2025, 12, 31))
    conv.amend(1, date(2026, 2, 1), "more jobs", jobs=14)
    assert conv.programme_end == date(2025, 12, 31)
    assert conv.terms.jobs == 14


def test_effective_programme_end_without_completion_is_the_planned_end():
    assert effective_programme_end(date(2026, 6, 30), None, ()) == date(2026, 6, 30)


# ---------------------------------------------------------------- amounts


def test_an_amount_decrease_below_what_was_paid_is_refused_and_records_nothing():
    conv = convention()
    with pytest.raises(DomainRuleViolation) as refused:
        conv.amend(1, date(2025, 1, 10), "smaller programme", award=AwardSplit(grant=Money.of("74999.99")))
    assert refused.value.field == "amount"
    assert refused.value.value == "74999.99"
    assert conv.collect_events() == []
    assert conv.awarded == Money.of("250000.00")


def test_an_amount_decrease_down_to_what_was_paid_is_accepted():
    conv = convention()
    conv.amend(1, date(2025, 1, 10), "smaller programme",
               award=AwardSplit(grant=Money.of("25000.00"), advance=Money.of("50000.00")))
    assert conv.awarded == Money.of("75000.00")
    with pytest.raises(DomainRuleViolation):
        conv.pay("P2", Money.of("0.01"), PaymentKind.INTERIM, date(2025, 2, 1))


def test_an_increase_allows_paying_up_to_the_new_award():
    conv = convention()
    conv.amend(1, date(2025, 1, 10), "larger programme",
               award=AwardSplit(grant=Money.of("230000.00"), advance=Money.of("50000.00")))
    assert conv.pay("P2", Money.of("205000.00"), PaymentKind.INTERIM, date(2025, 2, 1))
    assert conv.paid == Money.of("280000.00")


def test_the_advance_cannot_change_once_its_repayment_is_scheduled():
    conv = convention()
    conv.schedule_repayment(date(2027, 1, 1), 4, 12, date(2025, 1, 1))
    with pytest.raises(DomainRuleViolation) as refused:
        conv.amend(1, date(2025, 2, 1), "advance reduced",
                   award=AwardSplit(grant=Money.of("200000.00"), advance=Money.of("40000.00")))
    assert refused.value.field == "advance"


def test_an_amended_award_of_zero_is_refused():
    conv = Convention(**{**_signing_kwargs(), "number": "CONV-Z"})
    with pytest.raises(DomainRuleViolation) as refused:
        conv.amend(1, date(2025, 1, 10), "cancel", award=AwardSplit())
    assert refused.value.field == "amount"


def _signing_kwargs() -> dict[str, Any]:
    conv = convention()
    return {
        "number": conv.number, "application_reference": conv.application_reference,
        "scheme_code": conv.scheme_code, "beneficiary": conv.beneficiary, "site": conv.site,
        "programme": conv.programme, "award": conv.award, "size_at_signature": conv.size_at_signature,
        "innovation": conv.innovation, "signed_on": conv.signed_on,
    }


# ---------------------------------------------------------------- numbers, dates, status


def test_numbers_strictly_increase():
    conv = convention()
    extend(conv, number=2)
    with pytest.raises(DomainRuleViolation) as refused:
        conv.amend(2, date(2025, 7, 1), "again", jobs=13)
    assert (refused.value.field, refused.value.value) == ("number", 2)
    conv.amend(5, date(2025, 7, 1), "gaps are allowed", jobs=13)
    assert [a.number for a in conv.amendments] == [2, 5]


def test_number_zero_is_invalid():
    with pytest.raises(InvalidValue) as refused:
        convention().amend(0, date(2025, 7, 1), "zero", jobs=13)
    assert refused.value.field == "number"


def test_an_amendment_before_the_signature_is_refused():
    with pytest.raises(DateOutOfOrder) as refused:
        convention().amend(1, date(2024, 4, 1), "too early", jobs=13)
    assert (refused.value.field, refused.value.value) == ("on", "2024-04-01")


def test_an_amendment_before_the_previous_one_is_refused_the_same_day_is_allowed():
    conv = convention()
    extend(conv, on=date(2025, 6, 1))
    with pytest.raises(DateOutOfOrder):
        conv.amend(2, date(2025, 5, 31), "backdated", jobs=13)
    conv.amend(2, date(2025, 6, 1), "same day", jobs=13)
    assert conv.amendment_in_force is not None
    assert conv.amendment_in_force.number == 2


def test_an_extension_ending_before_the_programme_start_is_refused():
    with pytest.raises(DateOutOfOrder) as refused:
        convention().amend(1, date(2025, 6, 1), "typo", programme_end=date(2024, 2, 1))
    assert refused.value.field == "programme_end"


def test_an_amendment_that_changes_nothing_is_refused():
    conv = convention()
    with pytest.raises(DomainRuleViolation) as refused:
        conv.amend(1, date(2025, 6, 1), "restated", programme_end=date(2025, 12, 31), jobs=12)
    assert refused.value.field == "do"
    assert conv.collect_events() == []


def in_breach() -> Convention:
    conv = convention()
    conv.complete_programme(date(2025, 12, 31))
    conv.record_fact(MonitoringFact(FactKind.HEADCOUNT, date(2027, 3, 1), jobs=9))
    conv.assess_clawback(date(2027, 6, 30), DEFAULT_POLICY)
    assert conv.status is ConventionStatus.IN_BREACH
    return conv


def test_an_amendment_after_an_established_breach_is_refused():
    conv = in_breach()
    conv.collect_events()
    with pytest.raises(InvalidTransition) as refused:
        conv.amend(1, date(2027, 7, 1), "rescue", jobs=9)
    assert "breach" in str(refused.value)
    assert conv.collect_events() == []


def test_an_amendment_after_closing_is_refused():
    conv = in_breach()
    conv.issue_recovery_order("TR-1", Money.of("18750.00"), date(2027, 7, 10))
    conv.repay("R-1", Money.of("18750.00"), date(2027, 8, 1))
    conv.close(date(2027, 9, 1))
    with pytest.raises(InvalidTransition) as refused:
        conv.amend(1, date(2027, 9, 2), "too late", jobs=9)
    assert "closed" in str(refused.value)


def test_an_amendment_of_a_fulfilled_convention_is_refused():
    conv = convention()
    conv.complete_programme(date(2025, 12, 31))
    conv.assess_clawback(date(2032, 4, 3), DEFAULT_POLICY)
    assert conv.status is ConventionStatus.FULFILLED
    with pytest.raises(InvalidTransition):
        conv.amend(1, date(2032, 4, 4), "too late", jobs=9)


# ---------------------------------------------------------------- events and history


def test_the_amended_event_records_the_amendment_and_the_terms_before_and_after():
    conv = convention()
    extend(conv)
    (amended,) = conv.collect_events()
    assert type(amended).__qualname__ == "Convention.Amended"
    state = cast("Any", amended)
    assert state.amendment.kinds == (AmendmentKind.PROGRAMME_EXTENSION,)
    assert (state.before.amendment, state.after.amendment) == (0, 1)
    assert state.before.obligations.programme_end == date(2025, 12, 31)
    assert state.after.obligations.programme_end == date(2026, 6, 30)
    assert state.after.obligations.signed_on == SIGNED


def test_site_and_commitments_reflect_the_terms_in_force():
    conv = convention()
    conv.amend(1, date(2025, 1, 10), "move to Albi", site=Site("Albi", "81", OTHER_SIRET),
               jobs=15, investment=Money.of("950000.00"))
    assert conv.site.commune == "Albi"
    assert (conv.terms.jobs, conv.terms.investment) == (15, Money.of("950000.00"))
    assert conv.terms_in_force.amendment == 1
    assert conv.amendments[0].kinds == (AmendmentKind.SITE_CHANGE, AmendmentKind.COMMITMENTS_CHANGE)
    assert conv.terms_history[0].site.commune == "Toulouse"


def test_replaying_the_events_gives_the_same_terms():
    conv = convention()
    events = []
    extend(conv)
    conv.amend(2, date(2025, 9, 1), "more", jobs=14, award=AwardSplit(grant=Money.of("220000.00"),
                                                                       advance=Money.of("50000.00")))
    conv.complete_programme(date(2026, 5, 31))
    events.extend(conv.collect_events())
    rebuilt = convention()
    for domain_event in events:
        rebuilt = cast("Convention", domain_event.mutate(rebuilt))
    assert rebuilt.terms == conv.terms
    assert rebuilt.terms_history == conv.terms_history
    assert rebuilt.amendments == conv.amendments
    assert rebuilt.windows == conv.windows


# ---------------------------------------------------------------- clawback


def test_the_assessment_uses_the_amended_commitments_and_names_the_amendment_in_force():
    conv = convention()
    conv.amend(1, date(2025, 1, 10), "fewer jobs", jobs=10)
    conv.complete_programme(date(2025, 12, 31))
    conv.record_fact(MonitoringFact(FactKind.HEADCOUNT, date(2027, 3, 1), jobs=9))

    assessment = conv.assess_clawback(date(2027, 6, 30), DEFAULT_POLICY)

    # (10 − 9) / 10 × 75 000 instead of (12 − 9) / 12 × 75 000.
    assert assessment.total_due == Money.of("7500.00")
    assert assessment.terms.jobs == 10
    assert "avenant no. 1 signed 2025-01-10" in assessment.explanation


def test_an_assessment_dated_before_the_amendment_uses_the_original_terms():
    conv = convention()
    conv.complete_programme(date(2025, 12, 31))
    conv.amend(1, date(2027, 9, 1), "fewer jobs", jobs=10)
    conv.record_fact(MonitoringFact(FactKind.HEADCOUNT, date(2027, 3, 1), jobs=9))

    assessment = conv.assess_clawback(date(2027, 6, 30), DEFAULT_POLICY)

    assert assessment.terms.jobs == 12
    assert assessment.total_due == Money.of("18750.00")
    assert "avenant" not in assessment.explanation


def test_an_unamended_assessment_explanation_is_unchanged():
    conv = convention()
    conv.complete_programme(date(2025, 12, 31))
    facts = conv.clawback_facts()
    expected = DEFAULT_POLICY.assess(facts, date(2027, 6, 30))
    assert conv.assess_clawback(date(2027, 6, 30), DEFAULT_POLICY) == expected
