"""The convention aggregate: the contract signed with the beneficiary, and its money."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from uuid import UUID

from attrs import evolve, field, frozen
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
from aidflow.domain.errors import (
    CeilingExceeded,
    DateOutOfOrder,
    DomainRuleViolation,
    InvalidTransition,
    InvalidValue,
)
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


# ------------------------------------------------------------------ amendments (ADR 0007)


class AmendmentKind(StrEnum):
    """What an avenant changes (DOSSIER.md step ``amend``)."""

    PROGRAMME_EXTENSION = "programme_extension"
    AMOUNT_CHANGE = "amount_change"
    SITE_CHANGE = "site_change"
    COMMITMENTS_CHANGE = "commitments_change"


def _amendment_number(_instance: object, _attribute: object, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"an amendment number is a whole number from 1, got {value!r}"
        raise InvalidValue(msg, field="number", value=value)


def _reason(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        msg = "an amendment states its reason"
        raise InvalidValue(msg, field="reason", value=value)


def _optional_jobs(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        msg = f"jobs must be a non-negative whole number, got {value!r}"
        raise InvalidValue(msg, field="jobs", value=value)


@frozen
class Amendment:
    """An avenant to the convention: numbered, signed on a date, with its reason.

    Every change is optional (None = unchanged), but an amendment changes at least one
    term in force (checked by :meth:`Convention.amend`). ADR 0007.

    Attributes:
        number: the avenant's number; numbers strictly increase along a convention.
        signed_on: date the amendment was signed.
        reason: why the parties amend the convention.
        programme_end: the new planned end of the programme (an extension).
        award: the new award and its split (increase or decrease, never below what was paid).
        site: the new aided site.
        jobs: the new number of jobs committed on the site.
        investment: the new total aided investment.
    """

    number: int = field(validator=_amendment_number)
    signed_on: date = field()
    reason: str = field(validator=_reason)
    programme_end: date | None = None
    award: AwardSplit | None = None
    site: Site | None = None
    jobs: int | None = field(default=None, validator=_optional_jobs)
    investment: Money | None = None

    @property
    def kinds(self) -> tuple[AmendmentKind, ...]:
        """What this amendment changes, in a fixed order."""
        kinds = []
        if self.programme_end is not None:
            kinds.append(AmendmentKind.PROGRAMME_EXTENSION)
        if self.award is not None:
            kinds.append(AmendmentKind.AMOUNT_CHANGE)
        if self.site is not None:
            kinds.append(AmendmentKind.SITE_CHANGE)
        if self.jobs is not None or self.investment is not None:
            kinds.append(AmendmentKind.COMMITMENTS_CHANGE)
        return tuple(kinds)


@frozen
class TermsInForce:
    """The convention's terms as in force after an amendment (0 = as signed).

    Attributes:
        amendment: number of the last amendment applied, 0 for the convention as signed.
        programme: the programme with its planned end, investment and jobs.
        award: the award and its split.
        site: the aided site.
        obligations: the terms the obligation windows were computed from at that moment.
    """

    amendment: int
    programme: Programme
    award: AwardSplit
    site: Site
    obligations: ConventionTerms


def effective_programme_end(
    planned_end: date, completion: Completion | None, amendments: Sequence[Amendment]
) -> date:
    """The programme end O1/O2 are computed from (RULES.md §4; ADR 0007).

    The planned end (as amended) until completion is recorded; then the actual end,
    unless an amendment that sets the programme end was signed strictly after the
    completion date: the later legal act wins, and the amended planned end applies.
    """
    if completion is None:
        return planned_end
    later = any(a.programme_end is not None and a.signed_on > completion.on for a in amendments)
    return planned_end if later else completion.on


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
        self.amendments: list[Amendment] = []
        self.terms_history: list[TermsInForce] = []

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
        """The actual end once completion is recorded, else the planned end (RULES.md §4).

        An amendment setting the programme end signed after the completion date wins (ADR 0007).
        """
        return effective_programme_end(self.programme.end, self.completion, self.amendments)

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

    def clawback_facts(self, as_of: date | None = None) -> ClawbackFacts:
        """Everything a clawback policy reads, in a deterministic order.

        With ``as_of``, the terms are those in force on that date (amendments signed on or
        before it, ADR 0007); without it, the terms in force now.
        """
        return ClawbackFacts(
            terms=self.terms if as_of is None else self.terms_on(as_of),
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
        has ended with no breach (a waived one counts as none) fulfils the convention.
        """
        self._check_monitoring("assess_clawback", as_of)
        assessment = self.citing_terms(policy.assess(self.clawback_facts(as_of), as_of))
        cancelled = None
        fulfilled = False
        if assessment.in_breach and self.status is ConventionStatus.SIGNED:
            cancelled = self.awarded.minus_floor_zero(self.paid)
        elif (
            self.status is ConventionStatus.SIGNED
            and not any(b.established or b.pending for b in assessment.breaches)
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
        self._repayment_scheduled(schedule=tuple(schedule), on=on)

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

    # ------------------------------------------------------------ amendments

    @property
    def amendment_in_force(self) -> Amendment | None:
        """The latest amendment signed, or None for a convention as signed."""
        return self.amendments[-1] if self.amendments else None

    @property
    def terms_in_force(self) -> TermsInForce:
        """The programme, award, site and obligation terms in force now (ADR 0007)."""
        latest = self.amendment_in_force
        return TermsInForce(
            amendment=latest.number if latest else 0,
            programme=self.programme,
            award=self.award,
            site=self.site,
            obligations=self.terms,
        )

    def amendments_on(self, day: date) -> list[Amendment]:
        """The amendments signed on or before ``day`` (a prefix: signature dates never decrease)."""
        return [a for a in self.amendments if a.signed_on <= day]

    def terms_on(self, day: date) -> ConventionTerms:
        """The obligation terms in force on ``day``: the amendments signed by then apply.

        O3-O7 always run from the ORIGINAL signature date; O1/O2 from the programme end in
        force (RULES.md §4, ADR 0007). A recorded completion counts whatever its date, as in
        :attr:`terms`.
        """
        in_force = self.amendments_on(day)
        programme = self.terms_history[len(in_force)].programme if self.terms_history else self.programme
        return evolve(
            self.terms,
            programme_end=effective_programme_end(programme.end, self.completion, in_force),
            jobs=programme.jobs,
            investment=programme.investment,
        )

    def windows_on(self, day: date) -> tuple[ObligationWindow, ...]:
        """The obligation windows computed from the terms in force on ``day``."""
        return obligation_windows(self.terms_on(day))

    def terms_note(self, day: date | None = None) -> str:
        """Which terms are in force (on ``day``, else now), in words, naming the amendment."""
        in_force = self.amendments if day is None else self.amendments_on(day)
        terms = self.terms if day is None else self.terms_on(day)
        basis = f"convention {self.number} signed {self.signed_on.isoformat()}"
        if in_force:
            latest = in_force[-1]
            basis += f" as amended by avenant no. {latest.number} signed {latest.signed_on.isoformat()}"
        return (
            f"terms in force: {basis} (programme {terms.programme_start.isoformat()}.."
            f"{terms.programme_end.isoformat()}, {terms.jobs} jobs, investment {terms.investment})"
        )

    def citing_terms(self, assessment: ClawbackAssessment) -> ClawbackAssessment:
        """``assessment`` whose explanation names the amendment in force on its date, if any."""
        if not self.amendments_on(assessment.as_of):
            return assessment
        note = self.terms_note(assessment.as_of)
        return evolve(assessment, explanation=f"{assessment.explanation}; {note}")

    def amend(
        self,
        number: int,
        signed_on: date,
        reason: str,
        *,
        programme_end: date | None = None,
        award: AwardSplit | None = None,
        site: Site | None = None,
        jobs: int | None = None,
        investment: Money | None = None,
    ) -> Amendment:
        """Sign an avenant changing the programme end, the award, the site or the commitments.

        Refused after an established breach, once fulfilled or closed; numbers strictly
        increase; the signature date is on or after the convention's and the previous
        amendment's; the award never goes below what was paid (ADR 0007).

        Raises:
            InvalidTransition: the convention is in breach, fulfilled or closed.
            DomainRuleViolation: a number not above the last one, a change that changes
                nothing, an award below the amount paid, an advance changed under a schedule.
            DateOutOfOrder: a date before the signature, the previous amendment or the start.
        """
        self._check_amendable(number, signed_on)
        amendment = Amendment(number, signed_on, reason, programme_end, award, site, jobs, investment)
        programme = self.programme
        if programme_end is not None and programme_end < programme.start:
            msg = (
                f"the amended programme end {programme_end.isoformat()} is before the programme "
                f"start {programme.start.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="programme_end", value=programme_end.isoformat())
        if award is not None:
            self._check_amended_award(award)
        new_programme = Programme(
            programme.start,
            programme.end if programme_end is None else programme_end,
            programme.investment if investment is None else investment,
            programme.jobs if jobs is None else jobs,
        )
        before = self.terms_in_force
        obligations = evolve(
            self.terms,
            programme_end=effective_programme_end(
                new_programme.end, self.completion, [*self.amendments, amendment]
            ),
            jobs=new_programme.jobs,
            investment=new_programme.investment,
        )
        after = TermsInForce(
            amendment=number,
            programme=new_programme,
            award=self.award if award is None else award,
            site=self.site if site is None else site,
            obligations=obligations,
        )
        if (before.programme, before.award, before.site, before.obligations) == (
            after.programme, after.award, after.site, after.obligations
        ):
            msg = f"amendment no. {number} changes none of the terms in force of convention {self.number}"
            raise DomainRuleViolation(msg, field="do", value="amend")
        self._amended(amendment=amendment, before=before, after=after)
        return amendment

    def _check_amendable(self, number: int, signed_on: date) -> None:
        if self.status is not ConventionStatus.SIGNED:
            why = {
                ConventionStatus.IN_BREACH: "a breach is established",
                ConventionStatus.FULFILLED: "it is fulfilled",
                ConventionStatus.CLOSED: f"it was closed on {self.closed_on}",
            }[self.status]
            msg = f"convention {self.number} cannot be amended: {why}"
            raise InvalidTransition(msg, field="do", value="amend")
        if signed_on < self.signed_on:
            msg = (
                f"amendment signed on {signed_on.isoformat()} is before the convention's "
                f"signature on {self.signed_on.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="on", value=signed_on.isoformat())
        latest = self.amendment_in_force
        if latest is None:
            return
        if isinstance(number, int) and not isinstance(number, bool) and number <= latest.number:
            msg = f"amendment numbers strictly increase: no. {number} follows no. {latest.number}"
            raise DomainRuleViolation(msg, field="number", value=number)
        if signed_on < latest.signed_on:
            msg = (
                f"amendment signed on {signed_on.isoformat()} is before amendment no. {latest.number} "
                f"signed on {latest.signed_on.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="on", value=signed_on.isoformat())

    def _check_amended_award(self, award: AwardSplit) -> None:
        if award.total.is_zero():
            msg = "an amended award must be positive (an aid withdrawn entirely is not an amendment)"
            raise DomainRuleViolation(msg, field="amount", value=str(award.total))
        if award.total < self.paid:
            msg = f"the amended award {award.total} is below the {self.paid} already paid"
            raise DomainRuleViolation(msg, field="amount", value=str(award.total))
        if self.repayment_schedule and award.advance != self.award.advance:
            msg = (
                f"the repayable advance {self.award.advance} already has a repayment schedule: "
                "it cannot be changed by amendment"
            )
            raise DomainRuleViolation(msg, field="advance", value=str(award.advance))

    @event("Amended")
    def _amended(self, amendment: Amendment, before: TermsInForce, after: TermsInForce) -> None:
        if not self.terms_history:
            self.terms_history.append(before)
        self.terms_history.append(after)
        self.amendments.append(amendment)
        self.programme = after.programme
        self.award = after.award
        self.site = after.site
