# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""The default clawback policy, branch by branch (RULES.md §4)."""

from __future__ import annotations

from datetime import date

import pytest

from aidflow.domain.clawback import (
    DEFAULT_POLICY,
    Breach,
    BreachDecision,
    ClawbackFacts,
    ClawbackPolicy,
    ConflictingDecisions,
    DatedAmount,
    DefaultClawbackPolicy,
    breach_status,
)
from aidflow.domain.errors import InvalidValue
from aidflow.domain.obligations import ConventionTerms, FactKind, MonitoringFact, ObligationId
from aidflow.domain.values import CompanySize, Money

SIGNED = date(2024, 4, 2)
PAID = Money.of("75000.00")


def terms(**changes: object) -> ConventionTerms:
    values: dict[str, object] = {
        "signed_on": SIGNED,
        "size_at_signature": CompanySize.SMALL,
        "programme_start": date(2024, 3, 1),
        "programme_end": date(2025, 12, 31),
        "jobs": 12,
        "investment": Money.of("900000.00"),
        "innovation": False,
    }
    values.update(changes)
    return ConventionTerms(**values)  # type: ignore[arg-type]  # loosely typed overrides, validated by attrs


def facts(
    *items: MonitoringFact,
    t: ConventionTerms | None = None,
    paid: str = "75000.00",
    repaid: tuple[DatedAmount, ...] = (),
    decisions: tuple[BreachDecision, ...] = (),
) -> ClawbackFacts:
    return ClawbackFacts(
        terms=t or terms(),
        payments=(DatedAmount(date(2024, 4, 15), Money.of(paid)),),
        repayments=repaid,
        facts=items,
        decisions=decisions,
    )


def headcount(on: date, jobs: int) -> MonitoringFact:
    return MonitoringFact(FactKind.HEADCOUNT, on, jobs=jobs)


def assess(f: ClawbackFacts, as_of: date = date(2027, 6, 30)):
    return DEFAULT_POLICY.assess(f, as_of)


# ------------------------------------------------------------------ the DOSSIER.md example


def test_dossier_example_claws_back_a_quarter_of_the_paid_amount():
    result = assess(facts(headcount(date(2027, 3, 1), 9)))

    assert result.total_due == Money.of("18750.00")
    assert result.to_dict() == {
        "as_of": "2027-06-30",
        "total_due": "18750.00",
        "policy": "aidflow-default/1",
        "paid": "75000.00",
        "repaid": "0.00",
        "breaches": [
            {
                "obligation": "O2",
                "on": "2027-03-01",
                "amount": "18750.00",
                "established": True,
                "explanation": (
                    "jobs 9 declared on 2027-03-01 < 12 committed: shortfall 3/12 = 0.25 × "
                    "paid 75000.00 = 18750.00 (L3420-3424)"
                ),
                "proposed": None,
                "waived": False,
            }
        ],
        "explanation": result.explanation,
    }


def test_assessment_records_policy_name_and_version():
    result = assess(facts())

    assert (result.policy, result.policy_version) == ("aidflow-default", "1")
    assert isinstance(DefaultClawbackPolicy(), ClawbackPolicy)  # structural check of the protocol


def test_no_fact_no_breach_nothing_due():
    result = assess(facts())

    assert result.breaches == ()
    assert result.total_due == Money.zero()
    assert not result.in_breach
    assert "no established breach" in result.explanation


# ------------------------------------------------------------------ O2 jobs


def test_jobs_uses_the_worst_declaration_in_the_window():
    result = assess(
        facts(
            headcount(date(2026, 3, 1), 10), headcount(date(2027, 3, 1), 6), headcount(date(2027, 5, 1), 11)
        )
    )

    (breach,) = result.breaches
    assert (breach.obligation, breach.on, breach.amount) == (
        ObligationId.O2,
        date(2027, 3, 1),
        Money.of("37500.00"),
    )
    assert breach.explanation.startswith("worst of 3 shortfall declarations within 2025-12-31..2028-12-31")


def test_declarations_before_programme_end_are_information():
    result = assess(facts(headcount(date(2025, 12, 30), 2)))

    assert result.breaches == ()


def test_declaration_on_programme_end_counts():
    result = assess(facts(headcount(date(2025, 12, 31), 6)))

    assert result.total_due == Money.of("37500.00")


def test_declaring_the_committed_jobs_is_no_breach():
    assert assess(facts(headcount(date(2027, 3, 1), 12))).breaches == ()
    assert assess(facts(headcount(date(2027, 3, 1), 40))).breaches == ()


def test_no_job_committed_never_breaches_o2():
    assert assess(facts(headcount(date(2027, 3, 1), 0), t=terms(jobs=0))).breaches == ()


def test_equal_worst_declarations_cite_the_earliest():
    result = assess(facts(headcount(date(2027, 5, 1), 6), headcount(date(2027, 3, 1), 6)))

    assert result.breaches[0].on == date(2027, 3, 1)


def test_inexact_ratio_is_shown_approximately_and_amount_rounded_half_up():
    result = assess(facts(headcount(date(2027, 3, 1), 8), paid="100.00"))

    breach = result.breaches[0]
    assert breach.amount == Money.of("33.33")
    assert "shortfall 4/12 ≈ 0.3333 × paid 100.00 = 33.33" in breach.explanation


def test_half_cent_rounds_up():
    # 1/8 × 100.04 = 12.505 → 12.51 half up (half-even would give 12.50).
    result = assess(facts(headcount(date(2027, 3, 1), 7), t=terms(jobs=8), paid="100.04"))

    assert result.total_due == Money.of("12.51")


# ------------------------------------------------------------------ O1 investments


def test_investment_disposals_add_up():
    disposed = (
        MonitoringFact(FactKind.INVESTMENT_DISPOSED, date(2027, 1, 10), value=Money.of("135000.00")),
        MonitoringFact(FactKind.INVESTMENT_DISPOSED, date(2026, 5, 1), value=Money.of("90000.00")),
    )

    result = assess(facts(*disposed, paid="200000.00"))

    (breach,) = result.breaches
    assert (breach.obligation, breach.on, breach.amount) == (
        ObligationId.O1,
        date(2026, 5, 1),
        Money.of("50000.00"),
    )
    assert "90000.00 on 2026-05-01 + 135000.00 on 2027-01-10 = 225000.00 of 900000.00 invested = 0.25" in (
        breach.explanation
    )


def test_investment_share_is_capped_at_paid():
    disposed = MonitoringFact(FactKind.INVESTMENT_DISPOSED, date(2026, 5, 1), value=Money.of("1000000.00"))

    assert assess(facts(disposed)).total_due == PAID


def test_disposal_with_no_aided_investment_is_the_whole_paid_amount():
    disposed = MonitoringFact(FactKind.INVESTMENT_DISPOSED, date(2026, 5, 1), value=Money.of("10.00"))

    assert assess(facts(disposed, t=terms(investment=Money.zero()))).total_due == PAID


def test_disposal_of_zero_value_is_no_breach():
    disposed = MonitoringFact(FactKind.INVESTMENT_DISPOSED, date(2026, 5, 1), value=Money.zero())

    assert assess(facts(disposed)).breaches == ()


def test_disposal_before_programme_start_is_outside_the_window():
    disposed = MonitoringFact(FactKind.INVESTMENT_DISPOSED, date(2024, 2, 29), value=Money.of("90000.00"))

    assert assess(facts(disposed)).breaches == ()


# ------------------------------------------------------------------ O3 activity


def test_activity_ceased_halfway_repays_half():
    ceased = MonitoringFact(FactKind.ACTIVITY_CEASED, date(2028, 4, 2))

    result = assess(facts(ceased, paid="100000.00"), date(2028, 6, 1))

    assert result.total_due == Money.of("50000.00")
    assert "1461 of 2922 days before the window end 2032-04-02" in result.breaches[0].explanation


def test_activity_ceased_on_the_last_day_is_an_established_breach_of_zero():
    result = assess(facts(MonitoringFact(FactKind.ACTIVITY_CEASED, date(2032, 4, 2))), date(2032, 4, 2))

    (breach,) = result.breaches
    assert breach.established
    assert breach.amount == Money.zero()
    assert result.in_breach


def test_activity_ceased_after_eight_years_is_no_breach():
    result = assess(facts(MonitoringFact(FactKind.ACTIVITY_CEASED, date(2032, 4, 3))), date(2033, 1, 1))

    assert result.breaches == ()


def test_earliest_cessation_counts():
    result = assess(
        facts(
            MonitoringFact(FactKind.ACTIVITY_CEASED, date(2030, 4, 2)),
            MonitoringFact(FactKind.ACTIVITY_CEASED, date(2028, 4, 2)),
            paid="100000.00",
        ),
        date(2031, 1, 1),
    )

    assert result.breaches[0].on == date(2028, 4, 2)


# ------------------------------------------------------------------ O4, O5, O6 discretionary


def test_control_change_is_pending_with_paid_as_proposal():
    result = assess(facts(MonitoringFact(FactKind.CONTROL_CHANGED, date(2026, 1, 1))))

    (breach,) = result.breaches
    assert (breach.obligation, breach.established, breach.pending) == (ObligationId.O4, False, True)
    assert (breach.amount, breach.proposed) == (Money.zero(), PAID)
    assert result.total_due == Money.zero()
    assert "pending the Region's decision, not counted: O4" in result.explanation


def test_decided_amount_counts_capped_at_paid():
    decision = BreachDecision(ObligationId.O5, date(2026, 6, 1), amount=Money.of("90000.00"))

    result = assess(
        facts(MonitoringFact(FactKind.RELOCATED, date(2026, 1, 1), destination="Lyon"), decisions=(decision,))
    )

    (breach,) = result.breaches
    assert breach.established
    assert breach.amount == PAID
    assert "supported establishment moved to Lyon on 2026-01-01" in breach.explanation


def test_waived_breach_is_not_counted():
    decision = BreachDecision(ObligationId.O4, date(2026, 6, 1), waived=True)

    result = assess(facts(MonitoringFact(FactKind.CONTROL_CHANGED, date(2026, 1, 1)), decisions=(decision,)))

    (breach,) = result.breaches
    assert (breach.established, breach.waived, breach.pending, breach.amount) == (
        False,
        True,
        False,
        Money.zero(),
    )
    assert result.total_due == Money.zero()


def test_decision_after_as_of_is_not_yet_known():
    decision = BreachDecision(ObligationId.O4, date(2027, 7, 1), amount=Money.of("1000.00"))

    result = assess(facts(MonitoringFact(FactKind.CONTROL_CHANGED, date(2026, 1, 1)), decisions=(decision,)))

    assert result.breaches[0].pending


def test_decision_before_the_breach_does_not_decide_it():
    decision = BreachDecision(ObligationId.O4, date(2025, 1, 1), waived=True)

    result = assess(facts(MonitoringFact(FactKind.CONTROL_CHANGED, date(2026, 1, 1)), decisions=(decision,)))

    assert result.breaches[0].pending


def test_latest_decision_prevails():
    decisions = (
        BreachDecision(ObligationId.O4, date(2026, 9, 1), waived=True),
        BreachDecision(ObligationId.O4, date(2026, 6, 1), amount=Money.of("1000.00")),
    )

    result = assess(facts(MonitoringFact(FactKind.CONTROL_CHANGED, date(2026, 1, 1)), decisions=decisions))

    assert result.breaches[0].waived


def test_two_different_decisions_on_the_same_day_conflict():
    decisions = (
        BreachDecision(ObligationId.O4, date(2026, 6, 1), waived=True),
        BreachDecision(ObligationId.O4, date(2026, 6, 1), amount=Money.of("1000.00")),
    )

    with pytest.raises(ConflictingDecisions, match="2 different decisions on O4 dated 2026-06-01"):
        assess(facts(MonitoringFact(FactKind.CONTROL_CHANGED, date(2026, 1, 1)), decisions=decisions))


def test_rd_outside_region_counts_only_for_innovation_schemes_during_the_programme():
    rd = MonitoringFact(FactKind.RD_OUTSIDE_REGION, date(2025, 6, 1))
    after = MonitoringFact(FactKind.RD_OUTSIDE_REGION, date(2026, 1, 1))

    assert assess(facts(rd)).breaches == ()
    assert assess(facts(after, t=terms(innovation=True))).breaches == ()
    assert assess(facts(rd, t=terms(innovation=True))).breaches[0].obligation is ObligationId.O6


def test_decision_must_be_on_a_discretionary_obligation():
    with pytest.raises(InvalidValue, match="only a discretionary breach"):
        BreachDecision(ObligationId.O2, date(2026, 6, 1), amount=Money.of("1.00"))


@pytest.mark.parametrize(("amount", "waived"), [(None, False), (Money.of("1.00"), True)])
def test_decision_gives_an_amount_or_a_waiver(amount, waived):
    with pytest.raises(InvalidValue, match="either an amount or waive=true"):
        BreachDecision(ObligationId.O4, date(2026, 6, 1), amount=amount, waived=waived)


# ------------------------------------------------------------------ O7 and totals


def test_renouncing_exploitation_repays_everything_paid():
    renounced = MonitoringFact(FactKind.EXPLOITATION_RENOUNCED, date(2029, 1, 1))

    result = assess(facts(renounced, t=terms(innovation=True)), date(2029, 2, 1))

    assert result.total_due == PAID
    assert "mandatory ('conduira')" in result.breaches[0].explanation


def test_total_is_the_largest_breach_not_the_sum():
    result = assess(
        facts(
            headcount(date(2027, 3, 1), 9),
            MonitoringFact(FactKind.INVESTMENT_DISPOSED, date(2026, 5, 1), value=Money.of("450000.00")),
        )
    )

    assert [b.amount for b in result.breaches] == [Money.of("37500.00"), Money.of("18750.00")]
    assert result.total_due == Money.of("37500.00")


def test_repayments_reduce_the_total_never_below_zero():
    fact = headcount(date(2027, 3, 1), 9)
    some = (DatedAmount(date(2027, 5, 1), Money.of("5000.00")),)
    too_much = (DatedAmount(date(2027, 5, 1), Money.of("20000.00")),)

    assert assess(facts(fact, repaid=some)).total_due == Money.of("13750.00")
    assert assess(facts(fact, repaid=too_much)).total_due == Money.zero()


def test_payments_facts_and_repayments_after_as_of_are_ignored():
    f = ClawbackFacts(
        terms=terms(),
        payments=(DatedAmount(date(2024, 4, 15), PAID), DatedAmount(date(2027, 7, 1), PAID)),
        repayments=(DatedAmount(date(2027, 7, 2), PAID),),
        facts=(headcount(date(2027, 3, 1), 9), headcount(date(2027, 7, 1), 0)),
    )

    result = assess(f)

    assert (result.paid, result.repaid, result.total_due) == (PAID, Money.zero(), Money.of("18750.00"))


def test_nothing_paid_yet_still_establishes_the_breach():
    result = assess(facts(headcount(date(2027, 3, 1), 9), paid="0.00"))

    assert result.in_breach
    assert result.total_due == Money.zero()


def test_facts_accept_plain_tuples_for_amounts():
    f = ClawbackFacts(terms=terms(), payments=[("2024-04-15", "75000.00")])

    assert f.payments == (DatedAmount(date(2024, 4, 15), PAID),)


@pytest.mark.parametrize(
    ("established", "waived", "status"),
    [(True, False, "established"), (False, True, "waived"), (False, False, "pending")],
)
def test_a_breach_status_is_one_word_for_objects_and_recorded_dicts(established, waived, status):
    breach = Breach("O4", "2027-01-01", "0.00", established, "…", waived=waived)
    assert breach.status == status
    assert breach_status(established=established, waived=waived) == status
    assert breach.pending is (status == "pending")

