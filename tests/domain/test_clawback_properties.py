# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Laws of the default clawback policy, one property each (RULES.md §4, STYLE.md G13)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from aidflow.domain.clawback import DEFAULT_POLICY, ClawbackFacts
from aidflow.domain.dates import add_years
from aidflow.domain.obligations import (
    FactKind,
    MonitoringFact,
    ObligationId,
    obligation_windows,
    window_of,
)
from aidflow.domain.values import CompanySize, Money
from aidflow.testing import strategies as ast

SMES = (CompanySize.MICRO, CompanySize.SMALL, CompanySize.MEDIUM)
NON_SMES = (CompanySize.ETI, CompanySize.LARGE)


@st.composite
def scenarios(draw: st.DrawFn, /, **terms_options: Any) -> tuple[ClawbackFacts, date]:
    """Terms, complete clawback facts and an assessment date within the monitoring horizon."""
    terms = draw(ast.convention_terms(**terms_options))
    facts = draw(ast.clawback_facts(terms))
    start, end = ast.monitoring_horizon(terms)
    # Half the time assess after every window has ended, so that most facts are known.
    as_of = draw(st.just(end) | ast.dates_between(start, end))
    return facts, as_of


@given(scenarios())
def test_total_is_between_zero_and_paid_minus_repaid(scenario):
    facts, as_of = scenario

    result = DEFAULT_POLICY.assess(facts, as_of)

    ceiling = max(result.paid.amount - result.repaid.amount, Decimal(0))
    assert Decimal(0) <= result.total_due.amount <= ceiling
    assert result.total_due <= result.paid


@given(scenarios())
def test_total_is_zero_when_no_breach_is_established(scenario):
    facts, as_of = scenario

    result = DEFAULT_POLICY.assess(facts, as_of)

    if not result.in_breach:
        assert result.total_due == Money.zero()


@given(ast.convention_terms(), st.data())
def test_no_fact_no_breach(terms, data):
    payments = data.draw(ast.payment_schedules(Money.of("500000.00")))
    as_of = data.draw(ast.dates_between(*ast.monitoring_horizon(terms)))

    result = DEFAULT_POLICY.assess(ClawbackFacts(terms, payments=payments), as_of)

    assert result.breaches == ()
    assert result.total_due == Money.zero()


@given(ast.convention_terms(), st.data())
def test_facts_outside_every_window_never_create_a_breach(terms, data):
    windows = obligation_windows(terms)
    first = min(w.start for w in windows)
    last = max(w.until for w in windows)
    horizon_start, horizon_end = ast.monitoring_horizon(terms)
    before = data.draw(ast.monitoring_timelines(terms, between=(horizon_start, first - timedelta(days=1))))
    after = data.draw(ast.monitoring_timelines(terms, between=(last + timedelta(days=1), horizon_end)))
    payments = data.draw(ast.payment_schedules(Money.of("500000.00")))

    result = DEFAULT_POLICY.assess(ClawbackFacts(terms, payments=payments, facts=before + after), horizon_end)

    assert result.breaches == ()
    assert result.total_due == Money.zero()


@given(scenarios())
def test_every_breach_is_dated_within_its_obligation_window(scenario):
    facts, as_of = scenario

    result = DEFAULT_POLICY.assess(facts, as_of)

    for breach in result.breaches:
        window = window_of(facts.terms, breach.obligation)
        assert window is not None
        assert window.contains(breach.on)
        assert breach.on <= as_of


@given(ast.convention_terms(), st.data())
def test_total_does_not_decrease_as_the_jobs_shortfall_grows(terms, data):
    terms = attrs.evolve(terms, jobs=max(terms.jobs, 1))
    o2 = window_of(terms, ObligationId.O2)
    assert o2 is not None
    on = data.draw(ast.dates_between(terms.programme_end, o2.until))
    more = data.draw(st.integers(min_value=0, max_value=terms.jobs + 5))
    fewer = data.draw(st.integers(min_value=0, max_value=more))
    others = data.draw(ast.monitoring_timelines(terms))
    payments = data.draw(ast.payment_schedules(Money.of("500000.00")))
    as_of = data.draw(ast.dates_between(on, ast.monitoring_horizon(terms)[1]))

    def total(jobs: int) -> Money:
        declared = MonitoringFact(FactKind.HEADCOUNT, on, jobs=jobs)
        return DEFAULT_POLICY.assess(ClawbackFacts(terms, payments, (), (*others, declared)), as_of).total_due

    assert total(fewer) >= total(more)


@given(ast.convention_terms(), st.data())
def test_jobs_amount_is_paid_times_the_worst_shortfall_ratio(terms, data):
    terms = attrs.evolve(terms, jobs=max(terms.jobs, 1))
    o2 = window_of(terms, ObligationId.O2)
    assert o2 is not None
    declarations = data.draw(
        ast.monitoring_timelines(
            terms, kinds=(FactKind.HEADCOUNT,), between=(terms.programme_end, o2.until), max_size=6
        )
    )
    payments = data.draw(ast.payment_schedules(Money.of("500000.00"), between=(terms.signed_on, o2.until)))

    result = DEFAULT_POLICY.assess(ClawbackFacts(terms, payments, (), declarations), o2.until)

    declared = [f.jobs for f in declarations if f.jobs is not None]
    worst = min(declared, default=terms.jobs)
    if worst >= terms.jobs:
        assert result.breaches == ()
    else:
        exact = result.paid.amount * (terms.jobs - worst) / terms.jobs
        expected = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        (breach,) = result.breaches
        assert breach.amount.amount == expected
        assert result.total_due.amount == expected


@given(ast.convention_terms(), st.sampled_from(CompanySize), st.data())
def test_o1_o2_period_follows_the_size_at_signature_only(terms, other_size, data):
    facts = data.draw(ast.clawback_facts(terms))
    as_of = data.draw(ast.dates_between(*ast.monitoring_horizon(terms)))
    resized = attrs.evolve(terms, size_at_signature=other_size)
    years = 3 if other_size in SMES else 5

    o2 = window_of(resized, ObligationId.O2)
    assert o2 is not None
    assert o2.until == add_years(terms.programme_end, years)
    if other_size.is_sme == terms.size_at_signature.is_sme:
        before = DEFAULT_POLICY.assess(facts, as_of)
        after = DEFAULT_POLICY.assess(attrs.evolve(facts, terms=resized), as_of)
        assert attrs.evolve(after, terms=terms) == before


@given(scenarios(), st.randoms(use_true_random=False))
def test_same_facts_in_any_order_give_the_same_assessment(scenario, random):
    facts, as_of = scenario
    shuffled = {
        "payments": list(facts.payments),
        "repayments": list(facts.repayments),
        "facts": list(facts.facts),
        "decisions": list(facts.decisions),
    }
    for items in shuffled.values():
        random.shuffle(items)

    reordered = ClawbackFacts(facts.terms, **shuffled)

    assert DEFAULT_POLICY.assess(reordered, as_of).to_dict() == DEFAULT_POLICY.assess(facts, as_of).to_dict()


@given(scenarios())
def test_total_is_the_largest_established_amount_capped_and_net_of_repayments(scenario):
    facts, as_of = scenario

    result = DEFAULT_POLICY.assess(facts, as_of)

    largest = max((b.amount.amount for b in result.breaches if b.established), default=Decimal(0))
    expected = max(min(result.paid.amount, largest) - result.repaid.amount, Decimal(0))
    assert result.total_due.amount == expected


@given(st.sampled_from(CompanySize).flatmap(lambda size: st.tuples(st.just(size), ast.company_figures(size))))
def test_company_figures_strategy_draws_the_requested_size(drawn):
    size, figures = drawn

    assert figures.size is size
