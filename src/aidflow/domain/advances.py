# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Repayment schedule of a repayable advance (avance remboursable, RULES.md §5).

A repayable advance is repaid on a schedule: a deferral, then instalments. This is
separate from clawback (:mod:`aidflow.domain.clawback`). The sources fix no schedule
(e.g. the CEA's repayable part, 002_8b3eb659ad96bcac.txt L482-483, L2900-2908): the
convention does, and the caller passes its figures in.

aidflow defaults:

* The amount is split into equal instalments rounded down to the cent; the remainder
  goes on the last instalment, so the instalments always sum to the amount.
* The k-th due date is ``add_months(first_due, k × every_months)``, computed from the
  first due date (never chained), so a 31st clamps to the month's end without drifting.
* Money received is allocated to the earliest instalment not yet settled (first in,
  first out); only receipts dated on or before the evaluation date count. An
  instalment is **late** when its due date has passed (``due_on < on``) and it is not
  fully paid. Money received beyond the whole schedule is not represented here.

Not modelled: interest, early repayment discounts, rescheduling (the caller builds a
new schedule from an amendment), conversion of an advance into a grant on failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from attrs import frozen

from aidflow.domain.clawback import DatedAmount
from aidflow.domain.dates import add_months
from aidflow.domain.errors import InvalidValue
from aidflow.domain.values import CENT, Money


@frozen
class Instalment:
    """One instalment of a repayment schedule.

    Attributes:
        number: 1-based rank in the schedule.
        due_on: the date it falls due.
        amount: the amount due.
    """

    number: int
    due_on: date
    amount: Money


def repayment_schedule(
    amount: Money, first_due_after_deferral: date, instalments: int, every_months: int
) -> tuple[Instalment, ...]:
    """Split ``amount`` into ``instalments`` instalments every ``every_months`` months.

    Args:
        amount: the advance to repay.
        first_due_after_deferral: due date of the first instalment (end of the deferral).
        instalments: number of instalments, at least 1.
        every_months: months between two instalments, at least 1.

    Returns:
        The instalments in due order; they sum to ``amount`` exactly, the remainder of
        the split to the cent being on the last one.

    Raises:
        InvalidValue: ``instalments`` or ``every_months`` is below 1.
    """
    for name, value in (("instalments", instalments), ("every_months", every_months)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            msg = f"{name} must be a whole number of at least 1, got {value!r}"
            raise InvalidValue(msg, field=name, value=value)
    share = (amount.amount / Decimal(instalments)).quantize(CENT, rounding=ROUND_DOWN)
    last = amount.amount - share * (instalments - 1)
    return tuple(
        Instalment(
            number=k + 1,
            due_on=add_months(first_due_after_deferral, k * every_months),
            amount=Money(last if k == instalments - 1 else share),
        )
        for k in range(instalments)
    )


class InstalmentState(StrEnum):
    """State of an instalment at an evaluation date."""

    SETTLED = "settled"
    UPCOMING = "upcoming"
    LATE = "late"


@frozen
class InstalmentStatus:
    """How much of an instalment is paid at an evaluation date.

    Attributes:
        instalment: the scheduled instalment.
        paid: the part of it covered by money received.
        outstanding: what remains to pay.
        settled_on: date of the receipt that completed it, if settled.
        state: settled, upcoming (not yet past due) or late.
    """

    instalment: Instalment
    paid: Money
    outstanding: Money
    settled_on: date | None
    state: InstalmentState

    @property
    def late(self) -> bool:
        """Past its due date and not fully paid."""
        return self.state is InstalmentState.LATE

    @property
    def paid_late(self) -> bool:
        """Settled, but after its due date."""
        return self.settled_on is not None and self.settled_on > self.instalment.due_on


def instalment_status(
    schedule: Iterable[Instalment], received: Iterable[DatedAmount], on: date
) -> tuple[InstalmentStatus, ...]:
    """Allocate money received to the schedule, first in first out, and flag late instalments.

    Args:
        schedule: the instalments (any order; they are taken by due date, then number).
        received: repayments received (any order); those dated after ``on`` are ignored.
        on: the evaluation date. An instalment due on ``on`` itself is not yet late.

    Returns:
        One status per instalment, in due order.
    """
    ordered = sorted(schedule, key=lambda i: (i.due_on, i.number))
    receipts = sorted(r for r in received if r.on <= on)
    statuses: list[InstalmentStatus] = []
    cursor = 0
    available = Decimal("0.00")
    receipt_day: date | None = None
    for instalment in ordered:
        needed = instalment.amount.amount
        paid = Decimal("0.00")
        while True:
            take = min(available, needed - paid)
            paid += take
            available -= take
            if paid == needed or cursor == len(receipts):
                break
            available += receipts[cursor].amount.amount
            receipt_day = receipts[cursor].on
            cursor += 1
        settled = paid == needed
        settled_on = receipt_day if settled and needed > 0 else None
        if settled:
            state = InstalmentState.SETTLED
        elif instalment.due_on < on:
            state = InstalmentState.LATE
        else:
            state = InstalmentState.UPCOMING
        statuses.append(InstalmentStatus(instalment, Money(paid), Money(needed - paid), settled_on, state))
    return tuple(statuses)
