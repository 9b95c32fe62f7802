# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""The Candidacy aggregate: submission before the deadline, amendment, withdrawal, scores, decisions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidflow.domain.aid_application import Decision
from aidflow.domain.call import CompositionRefused, DeadlinePassed, RateOutOfBounds
from aidflow.domain.candidacy import (
    Candidacy,
    CandidacyStatus,
    Label,
    MemberApplication,
    Selection,
    candidacy_id,
    member_reference,
    split_pro_rata,
)
from aidflow.domain.errors import DateOutOfOrder, DomainRuleViolation, InvalidTransition, InvalidValue
from aidflow.domain.values import DateRange, Money
from aidflow.testing import strategies as ast
from calls_data import a_lab, partner, terms

DECISION = Decision("commission permanente", "CP/2024-04/05.01", date(2024, 4, 20))


def scores(innovation: int, impact: int) -> dict[str, Decimal]:
    return {"INNOVATION": Decimal(innovation), "IMPACT": Decimal(impact)}


def submitted(**changes: Any) -> Candidacy:
    values: dict[str, Any] = {
        "reference": "P-01", "call_code": "AAP-1", "wave": "W1", "strand": "COLLAB",
        "title": "Jumeau numérique", "members": (partner(), a_lab()),
        "submitted_on": date(2024, 3, 1), "period": DateRange(date(2024, 6, 1), date(2026, 5, 31)),
    }
    values.update(changes)
    candidacy = Candidacy.submit(terms(), **values)
    candidacy.collect_events()
    return candidacy


# ---------------------------------------------------------------- submission


def test_a_candidacy_records_its_members_and_derives_budget_requested_and_priorities():
    candidacy = submitted()
    assert candidacy.id == candidacy_id("P-01")
    assert candidacy.status is CandidacyStatus.SUBMITTED
    assert candidacy.lead.name == "Atelier SAS"
    assert candidacy.budget == Money.of("800000.00")
    assert candidacy.requested == Money.of("100000.00")
    assert candidacy.priorities == ("OUT",)


def test_a_late_candidacy_is_refused_with_a_clear_error():
    with pytest.raises(DeadlinePassed) as refused:
        submitted(submitted_on=date(2024, 4, 1))
    assert refused.value.field == "on"
    assert refused.value.value == "2024-04-01"
    assert "the deadline of wave W1 was 2024-03-31" in refused.value.message


def test_consortium_failures_are_all_reported_at_submission():
    with pytest.raises(CompositionRefused) as refused:
        submitted(members=(a_lab(),))
    rules = [f.rule for f in refused.value.failures]
    assert rules == ["consortium.members", "consortium.lead_kinds", "consortium.required"]
    assert refused.value.message.startswith("3 consortium rule(s) not met")
    assert refused.value.field == "partners"


def test_a_request_above_the_strands_maximum_rate_is_refused():
    greedy = partner(budget=Money.of("500000.00"), requested=Money.of("500000.00"))
    with pytest.raises(RateOutOfBounds, match=r"55\.56 %") as refused:
        submitted(members=(greedy, a_lab()))
    assert refused.value.field == "lead.requested"


def test_a_candidacy_must_request_aid():
    with pytest.raises(DomainRuleViolation, match="positive amount"):
        submitted(members=(partner(requested=Money.zero()), a_lab()))


def test_an_unknown_strand_or_wave_is_refused():
    with pytest.raises(InvalidValue) as strand:
        submitted(strand="NOPE")
    assert strand.value.field == "strand"
    with pytest.raises(InvalidValue) as wave:
        submitted(wave="W9")
    assert wave.value.field == "wave"


# ----------------------------------------------------------------- amendment


def test_a_candidacy_is_amended_until_its_deadline():
    candidacy = submitted()
    bigger = partner(budget=Money.of("500000.00"))
    candidacy.amend(terms(), date(2024, 3, 31), "Jumeau numérique v2", (bigger, a_lab()), candidacy.period)
    assert (candidacy.title, candidacy.budget, candidacy.amended_on) == (
        "Jumeau numérique v2", Money.of("900000.00"), date(2024, 3, 31))
    with pytest.raises(DeadlinePassed, match="amend"):
        candidacy.amend(terms(), date(2024, 4, 1), "late", (bigger, a_lab()), None)


def test_an_amendment_is_checked_against_the_rules_again():
    candidacy = submitted()
    with pytest.raises(CompositionRefused):
        candidacy.amend(terms(), date(2024, 3, 2), "t", (partner(),), None)
    assert candidacy.collect_events() == []


# ---------------------------------------------------------------- withdrawal


def test_an_undecided_candidacy_can_be_withdrawn_once():
    candidacy = submitted()
    candidacy.withdraw(date(2024, 3, 5), "partner left")
    assert (candidacy.status, candidacy.withdrawal_reason) == (CandidacyStatus.WITHDRAWN, "partner left")
    with pytest.raises(InvalidTransition):
        candidacy.withdraw(date(2024, 3, 6))
    with pytest.raises(DateOutOfOrder):
        submitted().withdraw(date(2024, 2, 1))


# ------------------------------------------------------------------- scoring


def test_a_jury_scores_every_criterion_after_the_deadline():
    candidacy = submitted()
    candidacy.record_scores(terms(), "jury", date(2024, 4, 10), scores(16, 12))
    assert candidacy.status is CandidacyStatus.SCORED
    assert candidacy.score(terms()) == 15
    candidacy.record_scores(terms(), "jury", date(2024, 4, 11), scores(20, 0))
    assert candidacy.score(terms()) == 15  # (3 × 20 + 1 × 0) / 4: the latest sheet counts


@pytest.mark.parametrize(("scores", "field", "message"), [
    ({"INNOVATION": Decimal(16)}, "scores.IMPACT", "missing: IMPACT"),
    ({"INNOVATION": Decimal(16), "IMPACT": Decimal(1), "X": Decimal(1)}, "scores.X", "unknown criteria X"),
    ({"INNOVATION": Decimal(21), "IMPACT": Decimal(1)}, "scores.INNOVATION", "outside 0–20"),
])
def test_a_bad_score_sheet_is_refused(scores, field, message):
    candidacy = submitted()
    with pytest.raises(InvalidValue, match=message) as refused:
        candidacy.record_scores(terms(), "jury", date(2024, 4, 10), scores)
    assert refused.value.field == field
    assert candidacy.collect_events() == []


def test_scores_before_the_deadline_are_refused():
    with pytest.raises(DateOutOfOrder):
        submitted().record_scores(terms(), "jury", date(2024, 3, 30), {"INNOVATION": Decimal(1),
                                                                        "IMPACT": Decimal(1)})


# ------------------------------------------------------------------ decisions


def test_retention_splits_the_granted_amount_pro_rata_of_the_requests():
    candidacy = submitted(members=(partner(), a_lab(requested=Money.of("50000.00"))))
    shares = candidacy.check_retain(terms(), DECISION, Money.of("120000.00"), None, None)
    assert shares == (Money.of("80000.00"), Money.of("40000.00"))
    label = Label("Lauréat", date(2024, 4, 20), date(2026, 12, 31))
    candidacy.retain(Selection(DECISION, Money.of("120000.00"), shares, ("good",), label))
    assert candidacy.status is CandidacyStatus.RETAINED
    assert candidacy.granted == Money.of("120000.00")
    assert [(i, s) for i, _, s in candidacy.funded_members()] == [(0, Money.of("80000.00")),
                                                                   (1, Money.of("40000.00"))]
    assert label.valid_on(date(2026, 12, 31))
    assert not label.valid_on(date(2027, 1, 1))


@pytest.mark.parametrize(("granted", "error", "field"), [
    ("100000.01", DomainRuleViolation, "granted"),  # more than requested
    ("79999.99", RateOutOfBounds, "granted"),  # 9.99 % of 800 000, under the 10 % minimum
    ("0.00", DomainRuleViolation, "granted"),
])
def test_a_retention_outside_the_rules_is_refused(granted, error, field):
    candidacy = submitted()
    with pytest.raises(error) as refused:
        candidacy.check_retain(terms(), DECISION, Money.of(granted), None, None)
    assert refused.value.field == field


def test_explicit_shares_must_add_up_and_stay_within_each_request():
    candidacy = submitted(members=(partner(), a_lab(requested=Money.of("50000.00"))))
    granted = Money.of("150000.00")
    with pytest.raises(InvalidValue, match="add up"):
        candidacy.check_retain(terms(), DECISION, granted, [Money.of("100000.00"), Money.of("4.00")], None)
    with pytest.raises(DomainRuleViolation) as over:
        candidacy.check_retain(terms(), DECISION, granted, [Money.of("90000.00"), Money.of("60000.00")], None)
    assert over.value.field == "shares[1]"
    assert candidacy.check_retain(
        terms(), DECISION, granted, [Money.of("100000.00"), Money.of("50000.00")], None
    ) == (Money.of("100000.00"), Money.of("50000.00"))


def test_a_label_cannot_expire_before_it_is_granted():
    with pytest.raises(DateOutOfOrder):
        submitted().check_retain(terms(), DECISION, Money.of("100000.00"), None,
                                 Label("L", date(2024, 4, 20), date(2024, 4, 19)))


def test_not_retained_needs_a_reason_and_ends_the_candidacy():
    candidacy = submitted()
    with pytest.raises(DomainRuleViolation):
        candidacy.reject(terms(), DECISION, [])
    candidacy.reject(terms(), DECISION, ["weak impact"])
    assert candidacy.status is CandidacyStatus.NOT_RETAINED
    with pytest.raises(InvalidTransition):
        candidacy.withdraw(date(2024, 5, 1))


def test_only_a_retained_project_opens_applications_once():
    candidacy = submitted()
    with pytest.raises(InvalidTransition):
        candidacy.check_can_open_applications(date(2024, 5, 1))
    shares = candidacy.check_retain(terms(), DECISION, Money.of("100000.00"), None, None)
    candidacy.retain(Selection(DECISION, Money.of("100000.00"), shares))
    with pytest.raises(DateOutOfOrder):
        candidacy.check_can_open_applications(date(2024, 4, 19))
    candidacy.record_applications(date(2024, 5, 1), [MemberApplication(0, member_reference("P-01", 0))])
    assert candidacy.applications == (MemberApplication(0, "P-01-0"),)
    with pytest.raises(InvalidTransition):
        candidacy.check_can_open_applications(date(2024, 5, 2))


def test_replaying_the_events_rebuilds_the_same_candidacy():
    candidacy = Candidacy.submit(terms(), reference="P-01", call_code="AAP-1", wave="W1", strand="COLLAB",
                                 title="t", members=(partner(), a_lab()), submitted_on=date(2024, 3, 1))
    candidacy.record_scores(terms(), "jury", date(2024, 4, 10), scores(16, 12))
    shares = candidacy.check_retain(terms(), DECISION, Money.of("90000.00"), None, None)
    candidacy.retain(Selection(DECISION, Money.of("90000.00"), shares))
    rebuilt = None
    for domain_event in candidacy.collect_events():
        rebuilt = domain_event.mutate(rebuilt)
    assert isinstance(rebuilt, Candidacy)
    assert (rebuilt.members, rebuilt.scorings, rebuilt.selection, rebuilt.status) == (
        candidacy.members, candidacy.scorings, candidacy.selection, candidacy.status)


# ------------------------------------------------------------ pro rata split


@given(
    st.lists(ast.money(max_value="5000000.00"), min_size=1, max_size=8).filter(
        lambda amounts: any(not a.is_zero() for a in amounts)),
    st.decimals(min_value=0, max_value=1, places=4),
)
def test_the_pro_rata_split_adds_up_and_never_exceeds_a_request(requested, fraction):
    total = Money.total(requested)
    granted = total.times(fraction)
    shares = split_pro_rata(granted, requested)
    assert Money.total(shares) == granted
    assert all(share <= request for share, request in zip(shares, requested, strict=True))
