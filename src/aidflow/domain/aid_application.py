"""The aid application aggregate: from submission to award, rejection or withdrawal."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from attrs import field, frozen
from eventsourcing.domain import Aggregate, event

from aidflow.domain.errors import CeilingExceeded, DateOutOfOrder, DomainRuleViolation, InvalidTransition
from aidflow.domain.identity import application_id
from aidflow.domain.scheme import SchemeTerms
from aidflow.domain.values import AwardSplit, Beneficiary, Money, Programme, Site


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    AWARDED = "awarded"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    SIGNED = "signed"


OPEN_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.ELIGIBLE, ApplicationStatus.INELIGIBLE)
"""Statuses in which the application is not yet decided."""


def _reasons(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(values)


@frozen
class Origin:
    """Where an application came from when a call for projects opened it (RULES.md §2)."""

    call: str
    project: str
    partner_role: str | None = None


@frozen
class Decision:
    """Who decided, and under which act (commission permanente, deliberation number and date)."""

    body: str
    deliberation: str
    decided_on: date


@frozen
class Award:
    """The award decision: amount, split across instruments, and the decision act."""

    split: AwardSplit
    decision: Decision

    @property
    def amount(self) -> Money:
        return self.split.total


@frozen
class Rejection:
    decision: Decision
    reasons: tuple[str, ...] = field(converter=_reasons)


class AidApplication(Aggregate):
    """An application for aid under a scheme.

    The application records what the applicant asked for and what the Region decided.
    Once awarded, a convention is signed from it (``Convention``), and the application
    then only records the convention number.
    """

    @staticmethod
    def create_id(reference: str) -> UUID:
        return application_id(reference)

    @event("Submitted")
    def __init__(
        self,
        reference: str,
        scheme_code: str,
        beneficiary: Beneficiary,
        site: Site,
        requested: Money,
        programme: Programme,
        submitted_on: date,
        origin: Origin | None = None,
    ) -> None:
        self.reference = reference
        self.origin = origin
        self.scheme_code = scheme_code
        self.beneficiary = beneficiary
        self.site = site
        self.requested = requested
        self.programme = programme
        self.submitted_on = submitted_on
        self.status = ApplicationStatus.SUBMITTED
        self.award: Award | None = None
        self.rejection: Rejection | None = None
        self.withdrawn_on: date | None = None
        self.withdrawal_reason: str | None = None
        self.convention_number: str | None = None
        self.signed_on: date | None = None

    # ------------------------------------------------------------------ guards

    def _check_undecided(self, action: str, on: date) -> None:
        if self.status not in OPEN_STATUSES:
            msg = f"cannot {action} application {self.reference}: it is {self.status.value}"
            raise InvalidTransition(msg, field="do", value=action)
        if on < self.submitted_on:
            msg = (
                f"cannot {action} on {on.isoformat()}, before the submission on "
                f"{self.submitted_on.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())

    # ----------------------------------------------------------------- commands

    def withdraw(self, on: date, reason: str | None = None) -> None:
        self._check_undecided("withdraw", on)
        self._withdrawn(on=on, reason=reason)

    @event("Withdrawn")
    def _withdrawn(self, on: date, reason: str | None) -> None:
        self.status = ApplicationStatus.WITHDRAWN
        self.withdrawn_on = on
        self.withdrawal_reason = reason

    def decide_award(self, split: AwardSplit, decision: Decision, terms: SchemeTerms) -> None:
        """Award ``split`` under the scheme ``terms`` in force on the decision date.

        Raises CeilingExceeded when the amount exceeds the request or a scheme ceiling.
        """
        self._check_undecided("award", decision.decided_on)
        if self.status is ApplicationStatus.INELIGIBLE:
            msg = f"application {self.reference} is ineligible: it can only be rejected or re-checked"
            raise InvalidTransition(msg, field="do", value="award")
        amount = split.total
        if amount.is_zero():
            msg = "an award must be of a positive amount"
            raise DomainRuleViolation(msg, field="amount", value=str(amount))
        if amount > self.requested:
            msg = f"awarded amount {amount} exceeds the amount requested {self.requested}"
            raise CeilingExceeded(msg, field="amount", value=str(amount))
        terms.check_award(split)
        self._awarded(award=Award(split, decision))

    @event("Awarded")
    def _awarded(self, award: Award) -> None:
        self.award = award
        self.status = ApplicationStatus.AWARDED

    def decide_rejection(self, decision: Decision, reasons: tuple[str, ...]) -> None:
        self._check_undecided("reject", decision.decided_on)
        if not reasons or not all(r.strip() for r in reasons):
            msg = "a rejection must state at least one reason"
            raise DomainRuleViolation(msg, field="reasons", value=list(reasons))
        self._rejected(rejection=Rejection(decision, reasons))

    @event("Rejected")
    def _rejected(self, rejection: Rejection) -> None:
        self.rejection = rejection
        self.status = ApplicationStatus.REJECTED

    def check_can_sign(self, on: date) -> Award:
        """Return the award if a convention may be signed on ``on``; raise otherwise."""
        if self.status is not ApplicationStatus.AWARDED or self.award is None:
            msg = f"cannot sign a convention for application {self.reference}: it is {self.status.value}"
            raise InvalidTransition(msg, field="do", value="sign")
        if on < self.award.decision.decided_on:
            msg = (
                f"cannot sign on {on.isoformat()}, before the award decision on "
                f"{self.award.decision.decided_on.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())
        return self.award

    def record_convention(self, number: str, on: date) -> None:
        self.check_can_sign(on)
        self._convention_signed(number=number, on=on)

    @event("ConventionSigned")
    def _convention_signed(self, number: str, on: date) -> None:
        self.convention_number = number
        self.signed_on = on
        self.status = ApplicationStatus.SIGNED
