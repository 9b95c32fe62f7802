"""The convention aggregate: the contract signed with the beneficiary, and its money."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from attrs import field, frozen
from eventsourcing.domain import Aggregate, event

from aidflow.domain.advances import Instalment, InstalmentStatus, instalment_status, repayment_schedule
from aidflow.domain.aid_application import Origin
from aidflow.domain.clawback import (
    DISCRETIONARY,
    BreachDecision,
    ClawbackAssessment,
    ClawbackFacts,
    ClawbackPolicy,
    DatedAmount,
)
from aidflow.domain.errors import CeilingExceeded, DateOutOfOrder, DomainRuleViolation, InvalidTransition
from aidflow.domain.identity import convention_id
from aidflow.domain.obligations import (
    ConventionTerms,
    DueDeclaration,
    FactKind,
    MonitoringFact,
    ObligationWindow,
    declarations_due,
    obligation_windows,
)
from aidflow.domain.values import (
    AwardSplit,
    Beneficiary,
    CompanySize,
    Money,
    PaymentKind,
    Programme,
    Site,
)

DEFAULT_SIZE_WITHOUT_FIGURES = CompanySize.SMALL
"""aidflow default: a beneficiary without company figures (association, public body, research
organisation) keeps O1/O2 for 3 years after the programme, as a PME does (RULES.md is silent)."""


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
class MoneyMovement:
    """A recovery order (titre de recette), a repayment or an instalment received, by reference."""

    ref: str
    amount: Money
    on: date


@frozen
class Waiver:
    """A remise: the Region waives (part of) what a beneficiary owes."""

    amount: Money
    on: date
    deliberation: str


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
        self.facts: list[MonitoringFact] = []
        self.decisions: list[BreachDecision] = []
        self.assessments: list[ClawbackAssessment] = []
        self.cancelled_balance: Money | None = None
        self.recovery_orders: dict[str, MoneyMovement] = {}
        self.repayments: dict[str, MoneyMovement] = {}
        self.waivers: list[Waiver] = []
        self.repayment_schedule: tuple[Instalment, ...] = ()
        self.repayment_scheduled_on: date | None = None
        self.instalments_received: dict[str, MoneyMovement] = {}
        self.closed_on: date | None = None

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
    def repaid(self) -> Money:
        return Money.total(r.amount for r in self.repayments.values())

    @property
    def ordered(self) -> Money:
        return Money.total(o.amount for o in self.recovery_orders.values())

    @property
    def waived(self) -> Money:
        return Money.total(w.amount for w in self.waivers)

    @property
    def outstanding(self) -> Money:
        """What recovery orders still claim: ordered − repaid − waived, never below 0."""
        return self.ordered.minus_floor_zero(self.repaid + self.waived)

    @property
    def terms(self) -> ConventionTerms:
        """The terms the obligation windows are computed from (RULES.md §4)."""
        return ConventionTerms(
            signed_on=self.signed_on,
            size_at_signature=self.size_at_signature or DEFAULT_SIZE_WITHOUT_FIGURES,
            programme_start=self.programme.start,
            programme_end=self.programme_end,
            jobs=self.programme.jobs,
            investment=self.programme.investment,
            innovation=self.innovation,
        )

    @property
    def windows(self) -> tuple[ObligationWindow, ...]:
        return obligation_windows(self.terms)

    @property
    def last_window_end(self) -> date:
        return max(w.until for w in self.windows)

    @property
    def latest_assessment(self) -> ClawbackAssessment | None:
        return self.assessments[-1] if self.assessments else None

    def clawback_facts(self) -> ClawbackFacts:
        """Everything a clawback policy reads, in a deterministic order."""
        return ClawbackFacts(
            terms=self.terms,
            payments=tuple(DatedAmount(p.on, p.amount) for p in self.payments.values()),
            repayments=tuple(DatedAmount(r.on, r.amount) for r in self.repayments.values()),
            facts=tuple(self.facts),
            decisions=tuple(self.decisions),
        )

    def declarations(self, on: date) -> tuple[DueDeclaration, ...]:
        """The yearly headcount declarations and their state on ``on`` (RULES.md §4)."""
        declared = [f.on for f in self.facts if f.kind is FactKind.HEADCOUNT]
        return declarations_due(self.terms, declared, on)

    def instalments(self, on: date) -> tuple[InstalmentStatus, ...]:
        received = [DatedAmount(r.on, r.amount) for r in self.instalments_received.values()]
        return tuple(instalment_status(self.repayment_schedule, received, on))

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

    # ------------------------------------------------------------- monitoring

    def _check_monitoring(self, action: str, on: date) -> None:
        if self.status is ConventionStatus.CLOSED:
            msg = f"cannot {action}: convention {self.number} was closed on {self.closed_on}"
            raise InvalidTransition(msg, field="do", value=action)
        if on < self.signed_on:
            msg = f"{action} on {on.isoformat()} is before the signature on {self.signed_on.isoformat()}"
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())

    def record_fact(self, fact: MonitoringFact) -> bool:
        """Record a monitoring fact; the same fact twice has no second effect (returns False)."""
        if fact in self.facts:
            return False
        self._check_monitoring(fact.kind.value, fact.on)
        innovation_only = (FactKind.RD_OUTSIDE_REGION, FactKind.EXPLOITATION_RENOUNCED)
        if fact.kind in innovation_only and not self.innovation:
            msg = f"{fact.kind.value} only applies to innovation schemes; {self.scheme_code} is not one"
            raise DomainRuleViolation(msg, field="do", value=fact.kind.value)
        recorder = {
            FactKind.HEADCOUNT: self._headcount_declared,
            FactKind.INVESTMENT_DISPOSED: self._investment_disposed,
            FactKind.ACTIVITY_CEASED: self._activity_ceased,
            FactKind.RELOCATED: self._relocated,
            FactKind.CONTROL_CHANGED: self._control_changed,
            FactKind.RD_OUTSIDE_REGION: self._rd_outside_region,
            FactKind.EXPLOITATION_RENOUNCED: self._exploitation_renounced,
        }[fact.kind]
        recorder(fact=fact)
        return True

    def _add_fact(self, fact: MonitoringFact) -> None:
        self.facts.append(fact)

    @event("HeadcountDeclared")
    def _headcount_declared(self, fact: MonitoringFact) -> None:
        self._add_fact(fact)

    @event("InvestmentDisposed")
    def _investment_disposed(self, fact: MonitoringFact) -> None:
        self._add_fact(fact)

    @event("ActivityCeased")
    def _activity_ceased(self, fact: MonitoringFact) -> None:
        self._add_fact(fact)

    @event("Relocated")
    def _relocated(self, fact: MonitoringFact) -> None:
        self._add_fact(fact)

    @event("ControlChanged")
    def _control_changed(self, fact: MonitoringFact) -> None:
        self._add_fact(fact)

    @event("RdOutsideRegion")
    def _rd_outside_region(self, fact: MonitoringFact) -> None:
        self._add_fact(fact)

    @event("ExploitationRenounced")
    def _exploitation_renounced(self, fact: MonitoringFact) -> None:
        self._add_fact(fact)

    def decide_breach(self, decision: BreachDecision) -> None:
        """Record the Region's decision on a discretionary breach (O4, O5, O6)."""
        self._check_monitoring("decide_breach", decision.on)
        if decision.obligation not in DISCRETIONARY:  # pragma: no cover - BreachDecision checks it
            msg = f"{decision.obligation.value} is not discretionary"
            raise DomainRuleViolation(msg, field="obligation", value=decision.obligation.value)
        if not any(f.obligation is decision.obligation and f.on <= decision.on for f in self.facts):
            msg = (
                f"no fact recorded on or before {decision.on.isoformat()} bears on "
                f"{decision.obligation.value}: there is no breach to decide"
            )
            raise DomainRuleViolation(msg, field="obligation", value=decision.obligation.value)
        if decision in self.decisions:
            return
        self._breach_decided(decision=decision)

    @event("BreachDecided")
    def _breach_decided(self, decision: BreachDecision) -> None:
        self.decisions.append(decision)

    def assess_clawback(self, as_of: date, policy: ClawbackPolicy) -> ClawbackAssessment:
        """Assess what is due as of ``as_of`` under ``policy`` and record the assessment.

        An established breach puts the convention in breach: no further payment, and the
        undisbursed balance is cancelled (RULES.md §4). An assessment after every window
        has ended with no breach fulfils the convention.
        """
        self._check_monitoring("assess_clawback", as_of)
        assessment = policy.assess(self.clawback_facts(), as_of)
        cancelled = None
        fulfilled = False
        if assessment.in_breach and self.status is ConventionStatus.SIGNED:
            cancelled = self.awarded.minus_floor_zero(self.paid)
        elif (
            self.status is ConventionStatus.SIGNED
            and not assessment.breaches
            and as_of > self.last_window_end
        ):
            fulfilled = True
        self._clawback_assessed(assessment=assessment, cancelled=cancelled, fulfilled=fulfilled)
        return assessment

    @event("ClawbackAssessed")
    def _clawback_assessed(
        self, assessment: ClawbackAssessment, cancelled: Money | None, fulfilled: bool
    ) -> None:
        self.assessments.append(assessment)
        if cancelled is not None:
            self.status = ConventionStatus.IN_BREACH
            self.cancelled_balance = cancelled
        if fulfilled:
            self.status = ConventionStatus.FULFILLED

    # --------------------------------------------------------------- recovery

    def issue_recovery_order(self, ref: str, amount: Money, on: date) -> bool:
        """Issue a titre de recette; the same reference twice has no second effect."""
        existing = self.recovery_orders.get(ref)
        if existing is not None:
            self._check_same(existing, MoneyMovement(ref, amount, on), "recovery order")
            return False
        self._check_monitoring("issue_recovery_order", on)
        latest = self.latest_assessment
        if self.status is not ConventionStatus.IN_BREACH or latest is None:
            msg = (
                "no recovery order without an established breach: "
                f"convention {self.number} is {self.status.value}"
            )
            raise InvalidTransition(msg, field="do", value="issue_recovery_order")
        if amount.is_zero():
            msg = "a recovery order must be of a positive amount"
            raise DomainRuleViolation(msg, field="amount", value=str(amount))
        claimable = latest.total_due + latest.repaid
        if self.ordered + amount > claimable:
            msg = (
                f"recovery orders would total {self.ordered + amount}, more than the "
                f"{claimable} assessed as due on {latest.as_of.isoformat()} (before repayments)"
            )
            raise CeilingExceeded(msg, field="amount", value=str(amount))
        self._recovery_order_issued(order=MoneyMovement(ref, amount, on))
        return True

    @event("RecoveryOrderIssued")
    def _recovery_order_issued(self, order: MoneyMovement) -> None:
        self.recovery_orders[order.ref] = order

    def repay(self, ref: str, amount: Money, on: date) -> bool:
        """Record a repayment received; the same reference twice has no second effect."""
        existing = self.repayments.get(ref)
        if existing is not None:
            self._check_same(existing, MoneyMovement(ref, amount, on), "repayment")
            return False
        self._check_monitoring("repay", on)
        if amount.is_zero():
            msg = "a repayment must be of a positive amount"
            raise DomainRuleViolation(msg, field="amount", value=str(amount))
        if self.repaid + amount > self.paid:
            msg = f"repayments would total {self.repaid + amount}, more than the {self.paid} paid"
            raise CeilingExceeded(msg, field="amount", value=str(amount))
        self._repaid(repayment=MoneyMovement(ref, amount, on))
        return True

    @event("RepaymentReceived")
    def _repaid(self, repayment: MoneyMovement) -> None:
        self.repayments[repayment.ref] = repayment

    def waive(self, amount: Money, on: date, deliberation: str) -> None:
        """Record a remise: the Region waives part or all of what recovery orders still claim."""
        self._check_monitoring("waive", on)
        if amount.is_zero() or amount > self.outstanding:
            msg = f"a waiver must be positive and at most the {self.outstanding} outstanding"
            raise CeilingExceeded(msg, field="amount", value=str(amount))
        self._waived(waiver=Waiver(amount, on, deliberation))

    @event("Waived")
    def _waived(self, waiver: Waiver) -> None:
        self.waivers.append(waiver)

    def close(self, on: date) -> None:
        """Close a fulfilled convention, or one in breach whose recovery is settled."""
        self._check_monitoring("close", on)
        settled = self.status is ConventionStatus.IN_BREACH and self.outstanding.is_zero() and (
            self.latest_assessment is not None
            and (self.repaid + self.waived) >= self.latest_assessment.total_due
        )
        if self.status is not ConventionStatus.FULFILLED and not settled:
            in_breach = self.status is ConventionStatus.IN_BREACH
            owed = f" with {self.outstanding} outstanding" if in_breach else ""
            msg = f"convention {self.number} cannot be closed while {self.status.value}{owed}"
            raise InvalidTransition(msg, field="do", value="close")
        self._closed(on=on)

    @event("Closed")
    def _closed(self, on: date) -> None:
        self.status = ConventionStatus.CLOSED
        self.closed_on = on

    # ------------------------------------------------------- repayable advance

    def schedule_repayment(self, first_due: date, instalments: int, every_months: int, on: date) -> None:
        """Set the repayment schedule of the repayable advance (RULES.md §5)."""
        self._check_monitoring("schedule_repayment", on)
        if self.award.advance.is_zero():
            msg = f"convention {self.number} has no repayable advance to schedule"
            raise DomainRuleViolation(msg, field="do", value="schedule_repayment")
        if self.repayment_schedule:
            msg = f"convention {self.number} already has a repayment schedule"
            raise InvalidTransition(msg, field="do", value="schedule_repayment")
        if first_due <= on:
            msg = (
                f"the first instalment ({first_due.isoformat()}) must fall after the deferral "
                f"starting {on.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="first_due", value=first_due.isoformat())
        schedule = repayment_schedule(self.award.advance, first_due, instalments, every_months)
        self._repayment_scheduled(schedule=schedule, on=on)

    @event("RepaymentScheduled")
    def _repayment_scheduled(self, schedule: tuple[Instalment, ...], on: date) -> None:
        self.repayment_schedule = tuple(schedule)
        self.repayment_scheduled_on = on

    def receive_instalment(self, ref: str, amount: Money, on: date) -> bool:
        """Record an advance instalment received; idempotent by reference."""
        existing = self.instalments_received.get(ref)
        if existing is not None:
            self._check_same(existing, MoneyMovement(ref, amount, on), "instalment")
            return False
        self._check_monitoring("receive_instalment", on)
        if not self.repayment_schedule:
            msg = f"convention {self.number} has no repayment schedule"
            raise InvalidTransition(msg, field="do", value="receive_instalment")
        due = Money.total(i.amount for i in self.repayment_schedule)
        received = Money.total(r.amount for r in self.instalments_received.values())
        if amount.is_zero() or received + amount > due:
            msg = f"instalments would total {received + amount}, more than the {due} scheduled"
            raise CeilingExceeded(msg, field="amount", value=str(amount))
        self._instalment_received(instalment=MoneyMovement(ref, amount, on))
        return True

    @event("InstalmentReceived")
    def _instalment_received(self, instalment: MoneyMovement) -> None:
        self.instalments_received[instalment.ref] = instalment

    @staticmethod
    def _check_same(existing: MoneyMovement, new: MoneyMovement, what: str) -> None:
        if existing != new:
            msg = (
                f"{what} reference {existing.ref!r} is already recorded with amount {existing.amount} "
                f"on {existing.on.isoformat()}"
            )
            raise DomainRuleViolation(msg, field="ref", value=existing.ref)
