# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""The Call aggregate and its terms: waves, strands, admission, consortium rules, envelope."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from aidflow.domain.call import (
    Call,
    DeadlinePassed,
    EnvelopeExceeded,
    MemberRequirement,
    RateOutOfBounds,
    Strand,
    Wave,
    rate,
    weighted_score,
)
from aidflow.domain.call import CriterionScore as Score
from aidflow.domain.errors import DateOutOfOrder, InvalidTransition, InvalidValue
from aidflow.domain.identity import call_id
from aidflow.domain.values import CompanySize, Money
from calls_data import COMPANY, LAB, a_lab, partner, terms

# ------------------------------------------------------------------ terms


def test_a_wave_opens_the_day_after_the_previous_deadline():
    call_terms = terms()
    assert call_terms.window("W1") == (date(2024, 1, 15), date(2024, 3, 31))
    assert call_terms.window("W2") == (date(2024, 4, 1), date(2024, 9, 30))


def test_a_call_without_waves_uses_its_own_dates():
    call_terms = terms(waves=())
    assert call_terms.window(None) == (date(2024, 1, 15), date(2024, 9, 30))
    with pytest.raises(InvalidValue) as refused:
        call_terms.window("W1")
    assert refused.value.field == "wave"


def test_a_call_with_waves_requires_a_known_wave():
    with pytest.raises(InvalidValue, match="name one") as missing:
        terms().window(None)
    assert missing.value.field == "wave"
    with pytest.raises(InvalidValue, match="unknown wave 'W9'") as unknown:
        terms().window("W9")
    assert unknown.value.value == "W9"


def test_waves_must_be_in_deadline_order_within_the_call():
    with pytest.raises(InvalidValue) as refused:
        terms(waves=(Wave("W1", "1", date(2024, 5, 1)), Wave("W2", "2", date(2024, 4, 1))))
    assert refused.value.field == "waves[1].deadline"
    with pytest.raises(InvalidValue) as outside:
        terms(waves=(Wave("W1", "1", date(2024, 12, 1)),))
    assert (outside.value.field, outside.value.value) == ("waves[0].deadline", "2024-12-01")


def test_strand_bounds_are_fractions_with_min_below_max():
    with pytest.raises(InvalidValue, match="0 ≤ min ≤ max ≤ 1"):
        Strand("S", "s", Decimal("0.6"), Decimal("0.5"))
    with pytest.raises(InvalidValue):
        Strand("S", "s", Decimal(0), Decimal("1.5"))
    with pytest.raises(InvalidValue, match="decimal"):
        Strand("S", "s", 0.1, 0.5)  # type: ignore[arg-type]  # floats are refused


def test_codes_are_unique_and_a_call_has_a_strand_and_a_legal_basis():
    with pytest.raises(InvalidValue, match="appears twice"):
        terms(strands=(Strand("A", "a"), Strand("A", "b")))
    with pytest.raises(InvalidValue) as no_strand:
        terms(strands=())
    assert no_strand.value.field == "strands"
    with pytest.raises(InvalidValue) as no_basis:
        terms(legal_basis=())
    assert no_basis.value.field == "legal_basis"


def test_the_rate_is_derived_exactly_from_amounts():
    assert rate(Money.of("5000000.00"), Money.of("8700000.00")) == Decimal(5_000_000) / Decimal(8_700_000)
    assert rate(Money.of("1.00"), Money.zero()) is None


def test_a_strand_refuses_a_rate_outside_its_bounds_with_the_derived_percentage():
    strand = Strand("COLLAB", "c", Decimal("0.10"), Decimal("0.50"))
    strand.check_rate("aid", Money.of("50.00"), Money.of("100.00"), "granted")  # 50 %: the bound is included
    with pytest.raises(RateOutOfBounds, match=r"50\.01 %") as refused:
        strand.check_rate("aid", Money.of("50.01"), Money.of("100.00"), "granted")
    assert (refused.value.field, refused.value.value) == ("granted", "50.01")
    with pytest.raises(RateOutOfBounds, match=r"9\.99 %"):
        strand.check_rate("aid", Money.of("9.99"), Money.of("100.00"), "granted")


def test_every_composition_failure_is_reported_not_just_the_first():
    members = [partner(kind=LAB, size=None, department=None, name="Lead lab"),
               partner(size=CompanySize.LARGE, name="Big Co")]
    failures = terms().composition_failures(members)
    assert {(f.rule, f.field) for f in failures} == {
        ("admission.company_sizes", "partners[0].size"),
        ("consortium.lead_kinds", "lead.kind"),
        ("consortium.lead_in_region", "lead.department"),
        ("consortium.required", "partners"),
    }
    assert sum(1 for f in failures if f.rule == "consortium.required") == 1  # only the SME is missing


def test_a_complete_consortium_passes_and_its_priorities_are_derived():
    members = [partner(), a_lab()]
    call_terms = terms()
    assert call_terms.composition_failures(members) == []
    assert call_terms.priorities_met(members) == ("OUT",)
    in_toulouse = [partner(commune="toulouse"), a_lab()]
    assert call_terms.priorities_met(in_toulouse) == ()


def test_member_counts_are_checked():
    failures = terms().composition_failures([partner()])
    assert [f.rule for f in failures] == ["consortium.members", "consortium.required"]
    assert failures[0].value == 1


def test_a_requirement_can_name_a_role():
    esn = MemberRequirement("ESN", (COMPANY,), roles=("ESN",))
    assert esn.matches(partner(role="esn"))
    assert not esn.matches(partner(role="regional SME"))


def test_a_partner_cannot_request_more_than_its_budget_share():
    with pytest.raises(InvalidValue) as refused:
        partner(budget=Money.of("100.00"), requested=Money.of("100.01"))
    assert (refused.value.field, refused.value.value) == ("requested", "100.01")


def test_a_declared_size_must_agree_with_the_figures():
    with pytest.raises(InvalidValue) as refused:
        partner(size=CompanySize.MICRO, figures={"staff": 42, "turnover": "6200000.00",
                                                 "balance_sheet": "3900000.00"})
    assert refused.value.field == "size"
    assert partner(size=None, figures={"staff": 42, "turnover": "6200000.00",
                                       "balance_sheet": "3900000.00"}).effective_size is CompanySize.SMALL


def test_weighted_score_is_the_weighted_mean():
    criteria = terms().criteria
    assert weighted_score(criteria, (Score("INNOVATION", Decimal(16)), Score("IMPACT", Decimal(12)))) == 15


# ------------------------------------------------------------------ aggregate


def published() -> Call:
    call = Call(code="AAP-1", terms=terms(), published_on=date(2024, 1, 15))
    call.collect_events()
    return call


def test_a_call_has_a_deterministic_id():
    assert published().id == call_id("AAP-1")


def test_a_candidacy_after_its_wave_deadline_is_refused_and_nothing_is_pending():
    call = published()
    with pytest.raises(DeadlinePassed) as refused:
        call.receive("P1", "W1", date(2024, 4, 1))
    assert (refused.value.field, refused.value.value) == ("on", "2024-04-01")
    assert "deadline of wave W1 was 2024-03-31" in refused.value.message
    assert call.collect_events() == []
    call.receive("P1", "W1", date(2024, 3, 31))  # the deadline day is included
    assert [type(e).__name__ for e in call.collect_events()] == ["CandidacyReceived"]


def test_a_candidacy_before_its_wave_opens_is_refused():
    with pytest.raises(DeadlinePassed, match="opens on 2024-04-01"):
        published().receive("P1", "W2", date(2024, 3, 31))


def test_a_project_applies_once():
    call = published()
    call.receive("P1", "W1", date(2024, 3, 1))
    with pytest.raises(InvalidTransition):
        call.receive("P1", "W2", date(2024, 5, 1))


def test_the_retained_total_never_exceeds_the_envelope():
    call = published()
    for project, wave, day in (("P1", "W1", date(2024, 3, 1)), ("P2", "W2", date(2024, 5, 1)),
                               ("P3", "W2", date(2024, 5, 2))):
        call.receive(project, wave, day)
    call.commit("P1", Money.of("600000.00"), date(2024, 4, 20))
    call.commit("P2", Money.of("300000.00"), date(2024, 10, 1))
    call.collect_events()
    with pytest.raises(EnvelopeExceeded) as refused:
        call.commit("P3", Money.of("100000.01"), date(2024, 10, 1))
    assert (refused.value.field, refused.value.value) == ("granted", "100000.01")
    assert "remaining 100000.00" in refused.value.message
    assert call.collect_events() == []
    call.commit("P3", Money.of("100000.00"), date(2024, 10, 1))
    assert call.retained_total == call.terms.envelope
    assert call.remaining == Money.zero()


def test_a_wave_envelope_caps_its_wave():
    call = published()
    call.receive("P1", "W1", date(2024, 3, 1))
    with pytest.raises(EnvelopeExceeded, match="wave W1"):
        call.commit("P1", Money.of("600000.01"), date(2024, 4, 20))


def test_retention_comes_after_the_wave_deadline():
    call = published()
    call.receive("P1", "W1", date(2024, 3, 1))
    with pytest.raises(DateOutOfOrder) as refused:
        call.commit("P1", Money.of("1.00"), date(2024, 3, 30))
    assert refused.value.field == "on"


def test_a_project_is_retained_once_and_only_if_it_applied():
    call = published()
    with pytest.raises(InvalidTransition):
        call.commit("P1", Money.of("1.00"), date(2024, 4, 1))
    call.receive("P1", "W1", date(2024, 3, 1))
    call.commit("P1", Money.of("1.00"), date(2024, 4, 1))
    with pytest.raises(InvalidTransition):
        call.commit("P1", Money.of("1.00"), date(2024, 4, 1))


def test_replaying_the_events_rebuilds_the_same_call():
    call = Call(code="AAP-1", terms=terms(), published_on=date(2024, 1, 15))
    call.receive("P1", "W1", date(2024, 3, 1))
    call.commit("P1", Money.of("250000.00"), date(2024, 4, 1))
    rebuilt = None
    for domain_event in call.collect_events():
        rebuilt = domain_event.mutate(rebuilt)
    assert isinstance(rebuilt, Call)
    assert (rebuilt.terms, rebuilt.received, rebuilt.retained) == (call.terms, call.received, call.retained)
