"""The aid application aggregate: from submission to award, rejection or withdrawal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
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
        self.eligibility: dict[str, Any] | None = None
        self.appraisal: dict[str, Any] | None = None
        self.award_cap: dict[str, Any] | None = None
        self.intensity_factor: Decimal | None = None
        self.appraisal_refused = False
        self.decisions: list[dict[str, Any]] = []
        """Every decision taken on this application, as recorded (kind, on, record)."""

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

    def record_eligibility(self, on: date, eligible: bool, record: dict[str, Any]) -> None:
        """Record the outcome of the eligibility gate (RULES.md §3), re-checkable until decided.

        ``record`` is the result's audit form: failures, rule-book version, facts, explanation.
        """
        self._check_undecided("eligibility", on)
        self._eligibility_checked(on=on, eligible=eligible, record=record)

    @event("EligibilityChecked")
    def _eligibility_checked(self, on: date, eligible: bool, record: dict[str, Any]) -> None:
        self.eligibility = record
        self.status = ApplicationStatus.ELIGIBLE if eligible else ApplicationStatus.INELIGIBLE
        self.decisions.append({"kind": "eligibility", "on": on.isoformat(), "record": record})

    def record_appraisal(self, on: date, factor: Decimal, refused: bool, record: dict[str, Any]) -> None:
        """Record the appraisal: the intensity factor (or refusal) and how it was computed."""
        self._check_undecided("appraise", on)
        if self.status is not ApplicationStatus.ELIGIBLE:
            msg = f"application {self.reference} must pass the eligibility gate before appraisal"
            raise InvalidTransition(msg, field="do", value="appraise")
        self._appraised(on=on, factor=factor, refused=refused, record=record)

    @event("Appraised")
    def _appraised(self, on: date, factor: Decimal, refused: bool, record: dict[str, Any]) -> None:
        self.appraisal = record
        self.intensity_factor = factor
        self.appraisal_refused = refused
        self.decisions.append({"kind": "appraisal", "on": on.isoformat(), "record": record})

    def check_undecided_award(self, on: date) -> None:
        """Raise unless an award may be decided on ``on`` (before caps are even computed)."""
        self._check_undecided("award", on)
        if self.status is not ApplicationStatus.ELIGIBLE:
            state = "ineligible" if self.status is ApplicationStatus.INELIGIBLE else "not checked yet"
            msg = (
                f"application {self.reference} cannot be awarded: eligibility is {state} "
                "(record an eligibility step that passes E1-E5 first)"
            )
            raise InvalidTransition(msg, field="do", value="award")

    def decide_award(
        self,
        split: AwardSplit,
        decision: Decision,
        terms: SchemeTerms,
        cap: dict[str, Any] | None = None,
    ) -> None:
        """Award ``split`` under the scheme ``terms`` in force on the decision date.

        The application must have passed the eligibility gate ("Tout défaut d'une seule de
        ces conditions conduira au rejet", 002_8b3eb659ad96bcac.txt L3363). ``cap`` is the
        record of the caps computed for this award (RULES.md §3), kept with the decision.

        Raises CeilingExceeded when the amount exceeds the request or a scheme ceiling.
        """
        self.check_undecided_award(decision.decided_on)
        amount = split.total
        if amount.is_zero():
            msg = "an award must be of a positive amount"
            raise DomainRuleViolation(msg, field="amount", value=str(amount))
        if amount > self.requested:
            msg = f"awarded amount {amount} exceeds the amount requested {self.requested}"
            raise CeilingExceeded(msg, field="amount", value=str(amount))
        terms.check_award(split)
        self._awarded(award=Award(split, decision), cap=cap)

    @event("Awarded")
    def _awarded(self, award: Award, cap: dict[str, Any] | None) -> None:
        self.award = award
        self.award_cap = cap
        self.status = ApplicationStatus.AWARDED
        self.decisions.append(
            {"kind": "award", "on": award.decision.decided_on.isoformat(), "record": cap or {}}
        )

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
        self.decisions.append({
            "kind": "rejection",
            "on": rejection.decision.decided_on.isoformat(),
            "record": {"body": rejection.decision.body, "deliberation": rejection.decision.deliberation,
                       "reasons": list(rejection.reasons)},
        })

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
