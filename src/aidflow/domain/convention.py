"""The convention aggregate: the contract signed with the beneficiary, and its money."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from attrs import field, frozen
from eventsourcing.domain import Aggregate, event

from aidflow.domain.aid_application import Origin
from aidflow.domain.errors import CeilingExceeded, DateOutOfOrder, DomainRuleViolation, InvalidTransition
from aidflow.domain.identity import convention_id
from aidflow.domain.values import (
    AwardSplit,
    Beneficiary,
    CompanySize,
    Money,
    PaymentKind,
    Programme,
    Site,
)


class ConventionStatus(StrEnum):
    SIGNED = "signed"
    IN_BREACH = "in_breach"
    FULFILLED = "fulfilled"
    CLOSED = "closed"


@frozen
class Payment:
    """A payment made to the beneficiary, identified by its reference."""

    ref: str
    amount: Money
    kind: PaymentKind = field(converter=PaymentKind)
    on: date = field()


@frozen
class Completion:
    """Programme completion: actual end date and what was realised (when declared)."""

    on: date
    investment_realised: Money | None = None
    jobs_created: int | None = None


class Convention(Aggregate):
    """A convention signed with the beneficiary of an awarded application.

    The company size at signature is recorded here and governs the obligation
    windows for the convention's whole life (RULES.md §1: "The size that governs a
    convention is the one recorded at signature").
    """

    @staticmethod
    def create_id(number: str) -> UUID:
        return convention_id(number)

    @event("Signed")
    def __init__(
        self,
        number: str,
        application_reference: str,
        scheme_code: str,
        beneficiary: Beneficiary,
        site: Site,
        programme: Programme,
        award: AwardSplit,
        size_at_signature: CompanySize | None,
        innovation: bool,
        signed_on: date,
        origin: Origin | None = None,
    ) -> None:
        self.number = number
        self.origin = origin
        self.application_reference = application_reference
        self.scheme_code = scheme_code
        self.beneficiary = beneficiary
        self.site = site
        self.programme = programme
        self.award = award
        self.size_at_signature = CompanySize(size_at_signature) if size_at_signature else None
        self.innovation = innovation
        self.signed_on = signed_on
        self.status = ConventionStatus.SIGNED
        self.payments: dict[str, Payment] = {}
        self.completion: Completion | None = None

    # ------------------------------------------------------------------ queries

    @property
    def awarded(self) -> Money:
        return self.award.total

    @property
    def paid(self) -> Money:
        return Money.total(p.amount for p in self.payments.values())

    def paid_on(self, day: date) -> Money:
        return Money.total(p.amount for p in self.payments.values() if p.on <= day)

    @property
    def programme_end(self) -> date:
        """The actual end once completion is recorded, else the planned end (RULES.md §4)."""
        return self.completion.on if self.completion else self.programme.end

    @property
    def balance_paid(self) -> bool:
        return any(p.kind is PaymentKind.BALANCE for p in self.payments.values())

    # ----------------------------------------------------------------- commands

    def pay(self, ref: str, amount: Money, kind: PaymentKind, on: date) -> bool:
        """Record a payment; return False (and record nothing) if ``ref`` is already recorded.

        The same reference with different content is a conflict, not a repeat.
        """
        existing = self.payments.get(ref)
        if existing is not None:
            if (existing.amount, existing.kind, existing.on) != (amount, kind, on):
                msg = (
                    f"payment reference {ref!r} is already recorded with amount {existing.amount}, "
                    f"kind {existing.kind.value}, on {existing.on.isoformat()}"
                )
                raise DomainRuleViolation(msg, field="ref", value=ref)
            return False
        if self.status is not ConventionStatus.SIGNED:
            msg = f"no payment can be made on convention {self.number}: it is {self.status.value}"
            raise InvalidTransition(msg, field="do", value="pay")
        if on < self.signed_on:
            msg = f"payment on {on.isoformat()} is before the signature on {self.signed_on.isoformat()}"
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())
        if amount.is_zero():
            msg = "a payment must be of a positive amount"
            raise DomainRuleViolation(msg, field="amount", value=str(amount))
        if self.balance_paid:
            msg = f"the balance of convention {self.number} was already paid: no further payment"
            raise InvalidTransition(msg, field="kind", value=kind.value)
        total = self.paid + amount
        if total > self.awarded:
            msg = (
                f"payment {amount} would bring the total paid to {total}, "
                f"over the awarded {self.awarded}"
            )
            raise CeilingExceeded(msg, field="amount", value=str(amount))
        self._paid(payment=Payment(ref, amount, kind, on))
        return True

    @event("PaymentRecorded")
    def _paid(self, payment: Payment) -> None:
        self.payments[payment.ref] = payment

    def complete_programme(
        self, on: date, investment_realised: Money | None = None, jobs_created: int | None = None
    ) -> None:
        if self.completion is not None:
            msg = f"the programme was already completed on {self.completion.on.isoformat()}"
            raise InvalidTransition(msg, field="do", value="complete_programme")
        if on < self.programme.start:
            msg = (
                f"completion on {on.isoformat()} is before the programme start "
                f"{self.programme.start.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())
        if jobs_created is not None and jobs_created < 0:
            msg = f"jobs_created must not be negative, got {jobs_created}"
            raise DomainRuleViolation(msg, field="jobs_created", value=jobs_created)
        self._programme_completed(completion=Completion(on, investment_realised, jobs_created))

    @event("ProgrammeCompleted")
    def _programme_completed(self, completion: Completion) -> None:
        self.completion = completion
