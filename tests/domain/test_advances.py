# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Repayable-advance schedules and late instalments (RULES.md §5)."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidflow.domain.advances import InstalmentState, instalment_status, repayment_schedule
from aidflow.domain.clawback import DatedAmount
from aidflow.domain.errors import InvalidValue
from aidflow.domain.values import Money
from aidflow.testing import strategies as ast


def test_advance_splits_into_equal_instalments_with_the_remainder_last():
    schedule = repayment_schedule(Money.of("50000.00"), date(2027, 1, 31), instalments=3, every_months=6)

    assert [(i.number, i.due_on, i.amount) for i in schedule] == [
        (1, date(2027, 1, 31), Money.of("16666.66")),
        (2, date(2027, 7, 31), Money.of("16666.66")),
        (3, date(2028, 1, 31), Money.of("16666.68")),
    ]


def test_due_dates_clamp_to_month_end_without_drifting():
    schedule = repayment_schedule(Money.of("400.00"), date(2027, 1, 31), instalments=4, every_months=1)

    assert [i.due_on for i in schedule] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]


def test_single_instalment_is_the_whole_amount():
    (only,) = repayment_schedule(Money.of("1234.56"), date(2027, 1, 1), instalments=1, every_months=12)

    assert only.amount == Money.of("1234.56")


@pytest.mark.parametrize(("instalments", "every_months"), [(0, 6), (3, 0), (-1, 6)])
def test_schedule_needs_at_least_one_instalment_and_one_month(instalments, every_months):
    with pytest.raises(InvalidValue, match="must be a whole number of at least 1"):
        repayment_schedule(
            Money.of("100.00"), date(2027, 1, 1), instalments=instalments, every_months=every_months
        )


@given(ast.money(), st.integers(min_value=1, max_value=60), st.integers(min_value=1, max_value=12))
def test_instalments_always_sum_to_the_advance(amount, instalments, every_months):
    schedule = repayment_schedule(amount, date(2027, 1, 31), instalments, every_months)

    assert Money.total(i.amount for i in schedule) == amount
    assert len(schedule) == instalments
    assert all(a.due_on < b.due_on for a, b in pairwise(schedule))
    assert (
        max(i.amount for i in schedule).amount - min(i.amount for i in schedule).amount
        < instalments * Money.of("0.01").amount
    )


SCHEDULE = repayment_schedule(Money.of("3000.00"), date(2027, 1, 31), instalments=3, every_months=6)


def test_unpaid_instalment_past_its_due_date_is_late():
    statuses = instalment_status(SCHEDULE, [], date(2027, 2, 1))

    assert [s.state for s in statuses] == [
        InstalmentState.LATE,
        InstalmentState.UPCOMING,
        InstalmentState.UPCOMING,
    ]
    assert statuses[0].late
    assert statuses[0].outstanding == Money.of("1000.00")


def test_an_instalment_due_today_is_not_yet_late():
    statuses = instalment_status(SCHEDULE, [], date(2027, 1, 31))

    assert statuses[0].state is InstalmentState.UPCOMING


def test_receipts_settle_the_earliest_instalments_first():
    received = [
        DatedAmount(date(2027, 7, 20), Money.of("300.00")),
        DatedAmount(date(2027, 1, 25), Money.of("1500.00")),
    ]

    statuses = instalment_status(SCHEDULE, received, date(2027, 8, 15))

    assert [(s.state, s.paid, s.settled_on) for s in statuses] == [
        (InstalmentState.SETTLED, Money.of("1000.00"), date(2027, 1, 25)),
        (InstalmentState.LATE, Money.of("800.00"), None),
        (InstalmentState.UPCOMING, Money.zero(), None),
    ]
    assert statuses[1].outstanding == Money.of("200.00")


def test_a_settlement_after_the_due_date_is_paid_late():
    received = [DatedAmount(date(2027, 3, 1), Money.of("1000.00"))]

    (first, *_) = instalment_status(SCHEDULE, received, date(2027, 3, 1))

    assert first.state is InstalmentState.SETTLED
    assert first.paid_late


def test_receipts_after_the_evaluation_date_are_ignored():
    received = [DatedAmount(date(2027, 3, 1), Money.of("1000.00"))]

    (first, *_) = instalment_status(SCHEDULE, received, date(2027, 2, 15))

    assert first.late


def test_zero_instalments_are_settled():
    schedule = repayment_schedule(Money.of("0.02"), date(2027, 1, 1), instalments=3, every_months=1)

    statuses = instalment_status(schedule, [], date(2028, 1, 1))

    assert [s.state for s in statuses] == [
        InstalmentState.SETTLED,
        InstalmentState.SETTLED,
        InstalmentState.LATE,
    ]


@given(ast.money(max_value="100000.00"), st.integers(min_value=1, max_value=24), st.data())
def test_allocated_money_never_exceeds_what_was_received_or_what_is_due(amount, instalments, data):
    schedule = repayment_schedule(amount, date(2027, 1, 31), instalments, 3)
    received = data.draw(
        ast.payment_schedules(Money.of("200000.00"), between=(date(2026, 1, 1), date(2034, 1, 1)))
    )
    on = data.draw(ast.dates_between(date(2026, 1, 1), date(2034, 1, 1)))

    statuses = instalment_status(schedule, received, on)

    paid = sum(s.paid.amount for s in statuses)
    known = sum(r.amount.amount for r in received if r.on <= on)
    assert paid == min(known, amount.amount)
    for status in statuses:
        assert status.paid + status.outstanding == status.instalment.amount
        assert status.late == (status.instalment.due_on < on and not status.outstanding.is_zero())
