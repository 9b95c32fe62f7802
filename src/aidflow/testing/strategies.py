# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Hypothesis strategies that build aidflow domain data.

Use them in property tests of clawback policies, of obligation calendars, or of
your own code that consumes aidflow values::

    from hypothesis import given
    from aidflow.testing import strategies as ast

    @given(ast.convention_terms().flatmap(ast.clawback_facts))
    def test_total_never_exceeds_paid(facts): ...

Every strategy returns valid domain objects (they pass the value objects'
validation); none reads a clock. Hypothesis is a test-time dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from aidflow.domain.clawback import DISCRETIONARY, BreachDecision, ClawbackFacts, DatedAmount
from aidflow.domain.dates import add_years
from aidflow.domain.obligations import ACTIVITY_YEARS, ConventionTerms, FactKind, MonitoringFact
from aidflow.domain.values import CompanyFigures, CompanySize, Money

M = Decimal(1_000_000)

EARLIEST = date(2020, 1, 1)
"""Earliest signature date drawn by default (the SRDEII was adopted on 25 November 2022;
earlier dates exercise the arithmetic, not the law)."""

LATEST = date(2035, 12, 31)
"""Latest signature date drawn by default."""


def money(
    min_value: Decimal | str = "0.00", max_value: Decimal | str = "10000000.00"
) -> st.SearchStrategy[Money]:
    """Amounts of euros with 2 decimal places in ``[min_value, max_value]``; never floats."""
    return st.decimals(
        min_value=Decimal(min_value),
        max_value=Decimal(max_value),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    ).map(Money)


def dates_between(start: date, end: date) -> st.SearchStrategy[date]:
    """Dates from ``start`` to ``end``, both included."""
    return st.dates(min_value=start, max_value=end)


_STAFF_BANDS: dict[CompanySize, tuple[int, int, Decimal]] = {
    CompanySize.MICRO: (0, 9, 2 * M),
    CompanySize.SMALL: (10, 49, 10 * M),
    CompanySize.MEDIUM: (50, 249, 43 * M),
    CompanySize.ETI: (250, 4999, 1500 * M),
}
"""Staff band and a turnover bound that keeps each drawn company in its class (RULES.md §1)."""


@st.composite
def _figures_of(draw: st.DrawFn, size: CompanySize) -> CompanyFigures:
    if size is CompanySize.LARGE:
        staff = draw(st.integers(min_value=5000, max_value=250_000))
        turnover = draw(money("0.00", str(5000 * M)))
        return CompanyFigures(Decimal(staff), turnover, draw(money("0.00", str(5000 * M))))
    low, high, cap = _STAFF_BANDS[size]
    staff = draw(st.integers(min_value=low, max_value=high))
    turnover = draw(money("0.00", str(cap)))
    # The balance sheet may exceed its bound: "turnover ≤ … or balance sheet ≤ …" still holds.
    balance_sheet = draw(money("0.00", str(3 * cap)))
    return CompanyFigures(Decimal(staff), turnover, balance_sheet)


def company_figures(size: CompanySize | None = None) -> st.SearchStrategy[CompanyFigures]:
    """Company figures (staff, turnover, balance sheet) that classify as ``size``.

    Args:
        size: the size class wanted; any class when None.
    """
    if size is None:
        return st.sampled_from(list(CompanySize)).flatmap(_figures_of)
    return _figures_of(size)


@st.composite
def _terms(
    draw: st.DrawFn,
    sizes: Sequence[CompanySize],
    innovation: bool | None,
    max_jobs: int,
    signed_between: tuple[date, date],
) -> ConventionTerms:
    signed_on = draw(dates_between(*signed_between))
    programme_start = signed_on + timedelta(days=draw(st.integers(min_value=-365, max_value=365)))
    programme_end = programme_start + timedelta(days=draw(st.integers(min_value=0, max_value=4 * 366)))
    return ConventionTerms(
        signed_on=signed_on,
        size_at_signature=draw(st.sampled_from(list(sizes))),
        programme_start=programme_start,
        programme_end=programme_end,
        jobs=draw(st.integers(min_value=0, max_value=max_jobs)),
        investment=draw(money("0.00", "20000000.00")),
        innovation=draw(st.booleans()) if innovation is None else innovation,
    )


def convention_terms(
    *,
    sizes: Sequence[CompanySize] = tuple(CompanySize),
    innovation: bool | None = None,
    max_jobs: int = 200,
    signed_between: tuple[date, date] = (EARLIEST, LATEST),
) -> st.SearchStrategy[ConventionTerms]:
    """Convention terms: signature, size at signature, programme dates, jobs, investment.

    The programme starts up to a year before or after signature and lasts up to four
    years; ``programme_end`` may equal ``programme_start``.

    Args:
        sizes: the sizes at signature to draw from.
        innovation: force an innovation scheme (True), a non-innovation one (False), or draw.
        max_jobs: most jobs committed.
        signed_between: range of signature dates.
    """
    return _terms(tuple(sizes), innovation, max_jobs, signed_between)


def monitoring_horizon(terms: ConventionTerms) -> tuple[date, date]:
    """A date range covering every window of ``terms`` with over a year of margin each side."""
    first = min(terms.signed_on, terms.programme_start) - timedelta(days=400)
    last = max(add_years(terms.programme_end, 5), add_years(terms.signed_on, ACTIVITY_YEARS))
    return first, last + timedelta(days=400)


@st.composite
def _fact(draw: st.DrawFn, terms: ConventionTerms, kind: FactKind, start: date, end: date) -> MonitoringFact:
    on = draw(dates_between(start, end))
    if kind is FactKind.HEADCOUNT:
        return MonitoringFact(kind, on, jobs=draw(st.integers(min_value=0, max_value=terms.jobs + 20)))
    if kind is FactKind.INVESTMENT_DISPOSED:
        ceiling = max(terms.investment.amount, Decimal("1000.00"))
        return MonitoringFact(kind, on, value=draw(money("0.01", str(ceiling))))
    if kind is FactKind.RELOCATED:
        destination = draw(st.none() | st.sampled_from(["Barcelona", "Lyon", "Montpellier"]))
        return MonitoringFact(kind, on, destination=destination)
    return MonitoringFact(kind, on)


def monitoring_facts(
    terms: ConventionTerms,
    *,
    kinds: Sequence[FactKind] = tuple(FactKind),
    between: tuple[date, date] | None = None,
) -> st.SearchStrategy[MonitoringFact]:
    """One monitoring fact of one of ``kinds``, dated within ``between``.

    Args:
        terms: the convention the fact is about (bounds headcounts and disposed values).
        kinds: the kinds of fact to draw.
        between: dates range; by default :func:`monitoring_horizon` (inside and outside windows).
    """
    start, end = between or monitoring_horizon(terms)
    return st.sampled_from(list(kinds)).flatmap(lambda kind: _fact(terms, kind, start, end))


def monitoring_timelines(
    terms: ConventionTerms,
    *,
    kinds: Sequence[FactKind] = tuple(FactKind),
    between: tuple[date, date] | None = None,
    max_size: int = 8,
) -> st.SearchStrategy[tuple[MonitoringFact, ...]]:
    """Sequences of monitoring facts about ``terms``, in recording order (not sorted).

    Args:
        terms: the convention.
        kinds: the kinds of fact to draw.
        between: dates range; by default inside and outside every window.
        max_size: most facts in a timeline.
    """
    return st.lists(monitoring_facts(terms, kinds=kinds, between=between), max_size=max_size).map(tuple)


@st.composite
def _payments(
    draw: st.DrawFn, max_total: Money, start: date, end: date, max_size: int
) -> tuple[DatedAmount, ...]:
    remaining = max_total.amount
    count = draw(st.integers(min_value=0, max_value=max_size))
    schedule: list[DatedAmount] = []
    for _ in range(count):
        if remaining <= 0:
            break
        amount = draw(money("0.01", str(remaining)))
        remaining -= amount.amount
        schedule.append(DatedAmount(draw(dates_between(start, end)), amount))
    return tuple(schedule)


def payment_schedules(
    max_total: Money,
    *,
    between: tuple[date, date] = (EARLIEST, date(2045, 12, 31)),
    max_size: int = 5,
) -> st.SearchStrategy[tuple[DatedAmount, ...]]:
    """Dated payments (or repayments) whose amounts sum to at most ``max_total``.

    Args:
        max_total: the most the schedule may sum to (e.g. the awarded amount).
        between: range of payment dates.
        max_size: most payments.
    """
    return _payments(max_total, between[0], between[1], max_size)


@st.composite
def _decision(draw: st.DrawFn, start: date, end: date) -> BreachDecision:
    obligation = draw(st.sampled_from(DISCRETIONARY))
    on = draw(dates_between(start, end))
    if draw(st.booleans()):
        return BreachDecision(obligation, on, waived=True)
    return BreachDecision(obligation, on, amount=draw(money("0.00", "500000.00")))


def breach_decisions(
    terms: ConventionTerms, *, max_size: int = 3
) -> st.SearchStrategy[tuple[BreachDecision, ...]]:
    """The Region's decisions on discretionary breaches (O4, O5, O6), at most one per day and
    obligation (so that they never conflict), dated over :func:`monitoring_horizon`."""
    start, end = monitoring_horizon(terms)
    return st.lists(_decision(start, end), max_size=max_size, unique_by=lambda d: (d.obligation, d.on)).map(
        tuple
    )


@st.composite
def _clawback_facts(draw: st.DrawFn, terms: ConventionTerms, max_paid: Money) -> ClawbackFacts:
    start, end = monitoring_horizon(terms)
    payments = draw(payment_schedules(max_paid, between=(start, end)))
    paid = Money.total(p.amount for p in payments)
    return ClawbackFacts(
        terms=terms,
        payments=payments,
        repayments=draw(payment_schedules(paid, between=(start, end), max_size=2)),
        facts=draw(monitoring_timelines(terms)),
        decisions=draw(breach_decisions(terms)),
    )


def clawback_facts(
    terms: ConventionTerms, *, max_paid: Money | None = None
) -> st.SearchStrategy[ClawbackFacts]:
    """Complete clawback inputs for ``terms``: payments, repayments (at most what was paid),
    monitoring facts and non-conflicting decisions.

    Args:
        terms: the convention.
        max_paid: most paid in total; 1 000 000.00 by default.
    """
    return _clawback_facts(terms, max_paid or Money.of("1000000.00"))
