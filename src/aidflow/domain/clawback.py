# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Clawback of paid aid after a breach of the retention obligations (RULES.md §4).

The deliberation AP/2022-11/03 (SRDEII, Action 27, 002_8b3eb659ad96bcac.txt L3412-3448)
says *what* must be kept and that paid aid ("aides versées", L3412) is then repaid, but
gives no formula. :class:`DefaultClawbackPolicy` is aidflow's documented default,
replaceable through the :class:`ClawbackPolicy` protocol; every
:class:`ClawbackAssessment` records the policy name and version that produced it.

The assessment is a pure function of :class:`ClawbackFacts` and an ``as_of`` date:
only payments, repayments, facts and decisions dated on or before ``as_of`` count,
and the result never depends on the order the facts were recorded in.

Choices where RULES.md §4 leaves room (documented defaults):

* One breach per obligation. Its ``on`` is the date of the fact that decides its
  amount: the worst headcount declaration for O2 (earliest among equals), the first
  in-window fact for every other obligation (O1 sums every disposal in the window).
* O1 with a total aided investment of 0.00: any disposal of a positive value is the
  whole investment (ratio capped at 1, hence amount P).
* A mandatory breach is established even when its amount is 0.00 (nothing paid yet,
  or activity ceased on the window's last day): the breach still stops further
  payments (RULES.md §4), it just adds nothing to the total.
* Decisions on a discretionary breach: only decisions dated within
  ``[breach.on, as_of]`` count (a decision cannot predate the breach it decides);
  the latest one prevails. Two different decisions on the same obligation and day
  are a :class:`ConflictingDecisions` error, never resolved silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, localcontext
from typing import Any, Protocol, runtime_checkable

from attrs import field, frozen

from aidflow.domain.errors import DomainRuleViolation, InvalidValue
from aidflow.domain.obligations import (
    OBLIGATIONS,
    ConventionTerms,
    FactKind,
    MonitoringFact,
    ObligationId,
    ObligationWindow,
    Wording,
    obligation_windows,
)
from aidflow.domain.values import Money, as_date, optional_money, to_money

DISCRETIONARY = (ObligationId.O4, ObligationId.O5, ObligationId.O6)
"""Obligations whose breach waits for the Region's decision ("pourra", L3428-3432; O6 by default)."""


class ConflictingDecisions(DomainRuleViolation):
    """Two different decisions on the same discretionary breach bear the same date."""


# ------------------------------------------------------------------ inputs


def breach_status(*, established: bool, waived: bool) -> str:
    """A breach's status word: ``established`` (counts towards the total), ``waived`` by the
    Region, or ``pending`` (a discretionary breach awaiting the Region's decision). Also for
    recorded assessments, read back as dicts."""
    if established:
        return "established"
    return "waived" if waived else "pending"


@frozen(order=True)
class DatedAmount:
    """An amount of money paid or received on a business date."""

    on: date = field(converter=as_date)
    amount: Money = field(converter=to_money)


@frozen
class BreachDecision:
    """The Region's decision on a discretionary breach (O4, O5 or O6).

    Exactly one of ``amount`` (the amount the Region claws back) or ``waived=True``.

    Attributes:
        obligation: O4, O5 or O6.
        on: date of the decision.
        amount: amount decided; capped at the paid amount when assessed.
        waived: the Region waives the clawback: the breach is not counted.
    """

    obligation: ObligationId = field(converter=ObligationId)
    on: date = field(converter=as_date)
    amount: Money | None = field(default=None, converter=optional_money)
    waived: bool = False

    def __attrs_post_init__(self) -> None:
        if self.obligation not in DISCRETIONARY:
            msg = f"only a discretionary breach (O4, O5, O6) awaits a decision, got {self.obligation.value}"
            raise InvalidValue(msg, field="obligation", value=self.obligation.value)
        if self.waived == (self.amount is not None):
            msg = (
                f"a decision on {self.obligation.value} gives either an amount or waive=true, "
                f"got amount={self.amount} waived={self.waived}"
            )
            raise InvalidValue(msg, field="amount", value=None if self.amount is None else str(self.amount))


def _dated_amounts(values: Iterable[Any]) -> tuple[DatedAmount, ...]:
    return tuple(sorted(v if isinstance(v, DatedAmount) else DatedAmount(*v) for v in values))


def _facts(values: Iterable[MonitoringFact]) -> tuple[MonitoringFact, ...]:
    return tuple(sorted(values, key=MonitoringFact.sort_key))


def _decision_key(decision: BreachDecision) -> tuple[date, str, bool, Decimal]:
    amount = Decimal(-1) if decision.amount is None else decision.amount.amount
    return (decision.on, decision.obligation.value, decision.waived, amount)


def _decisions(values: Iterable[BreachDecision]) -> tuple[BreachDecision, ...]:
    return tuple(sorted(values, key=_decision_key))


@frozen
class ClawbackFacts:
    """Everything a clawback assessment reads, normalised into a deterministic order.

    Attributes:
        terms: the convention terms (amended if an amendment was signed).
        payments: payments made to the beneficiary.
        repayments: amounts already repaid (on recovery orders or spontaneously).
        facts: monitoring facts, in any order.
        decisions: the Region's decisions on discretionary breaches.
    """

    terms: ConventionTerms
    payments: tuple[DatedAmount, ...] = field(default=(), converter=_dated_amounts)
    repayments: tuple[DatedAmount, ...] = field(default=(), converter=_dated_amounts)
    facts: tuple[MonitoringFact, ...] = field(default=(), converter=_facts)
    decisions: tuple[BreachDecision, ...] = field(default=(), converter=_decisions)


# ------------------------------------------------------------------ results


@frozen
class Breach:
    """One obligation breached, with the amount it puts at stake.

    Attributes:
        obligation: O1..O7.
        on: the date of the fact that decides the amount.
        amount: the amount due for this breach (0.00 while pending or once waived).
        established: counts towards the total (mandatory, or decided by the Region).
        explanation: the computation in words, citing the source lines.
        proposed: for a discretionary breach, the amount proposed to the Region (P).
        waived: the Region waived this discretionary breach.
    """

    obligation: ObligationId = field(converter=ObligationId)
    on: date = field(converter=as_date)
    amount: Money = field(converter=to_money)
    established: bool = field()
    explanation: str = field()
    proposed: Money | None = field(default=None, converter=optional_money)
    waived: bool = False

    @property
    def pending(self) -> bool:
        """A discretionary breach still awaiting the Region's decision."""
        return not self.established and not self.waived

    @property
    def status(self) -> str:
        """``established``, ``waived`` or ``pending`` (see :func:`breach_status`)."""
        return breach_status(established=self.established, waived=self.waived)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready primitives (DOSSIER.md ``clawback.breaches`` items, plus extras)."""
        return {
            "obligation": self.obligation.value,
            "on": self.on.isoformat(),
            "amount": str(self.amount),
            "established": self.established,
            "explanation": self.explanation,
            "proposed": None if self.proposed is None else str(self.proposed),
            "waived": self.waived,
        }


def _breaches(values: Iterable[Breach]) -> tuple[Breach, ...]:
    return tuple(values)


@frozen
class ClawbackAssessment:
    """The outcome of a clawback assessment as of a date.

    Attributes:
        as_of: the assessment date.
        policy: name of the policy that computed it.
        policy_version: its version.
        paid: P, total paid on or before ``as_of``.
        repaid: R, total repaid on or before ``as_of``.
        breaches: one per breached obligation, in O1..O7 order.
        total_due: ``max(0, min(P, largest established amount) − R)``.
        terms: the convention terms assessed.
        explanation: the total's computation in words.
    """

    as_of: date = field(converter=as_date)
    policy: str = field()
    policy_version: str = field()
    paid: Money = field(converter=to_money)
    repaid: Money = field(converter=to_money)
    breaches: tuple[Breach, ...] = field(converter=_breaches)
    total_due: Money = field()
    terms: ConventionTerms = field()
    explanation: str = field()

    @property
    def in_breach(self) -> bool:
        """At least one breach is established (no further payment may be made)."""
        return any(b.established for b in self.breaches)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready primitives matching DOSSIER.md's ``clawback`` result (plus extras)."""
        return {
            "as_of": self.as_of.isoformat(),
            "total_due": str(self.total_due),
            "policy": f"{self.policy}/{self.policy_version}",
            "paid": str(self.paid),
            "repaid": str(self.repaid),
            "breaches": [breach.to_dict() for breach in self.breaches],
            "explanation": self.explanation,
        }


@runtime_checkable
class ClawbackPolicy(Protocol):
    """A replaceable clawback formula. Assessments record ``name`` and ``version``."""

    @property
    def name(self) -> str:
        """Stable policy name, e.g. ``"aidflow-default"``."""
        ...

    @property
    def version(self) -> str:
        """Version of the formula; change it whenever a result could change."""
        ...

    def assess(self, facts: ClawbackFacts, as_of: date) -> ClawbackAssessment:
        """Assess the clawback due as of ``as_of``; pure, no clock."""
        ...


# ------------------------------------------------------------------ the default policy


def _share(paid: Money, numerator: Decimal | int, denominator: Decimal | int) -> Money:
    """``paid × numerator ÷ denominator``, rounded to the cent half up.

    Multiplies before dividing in a wide context so that a result exactly on a half
    cent is computed exactly and rounded up, whatever the caller's decimal context.
    """
    with localcontext() as ctx:
        ctx.prec = 60
        exact = paid.amount * Decimal(numerator) / Decimal(denominator)
    return Money.rounded(exact)


def _ratio_text(numerator: Decimal | int, denominator: Decimal | int) -> str:
    with localcontext() as ctx:
        ctx.prec = 60
        ratio = Decimal(numerator) / Decimal(denominator)
    shown = ratio.quantize(Decimal("0.0001"))
    return f"= {shown.normalize():f}" if shown == ratio else f"≈ {shown:f}"


def _span(window: ObligationWindow) -> str:
    return f"{window.start.isoformat()}..{window.until.isoformat()}"


def _src(obligation: ObligationId) -> str:
    return f"({OBLIGATIONS[obligation].lines})"


@frozen
class DefaultClawbackPolicy:
    """aidflow's default clawback formula, ``aidflow-default/1`` (RULES.md §4).

    Legal basis: deliberation AP/2022-11/03 of 25 November 2022, SRDEII 2022-2028,
    Action 27 (002_8b3eb659ad96bcac.txt L3412-3448); valid for conventions signed
    under that schema. The sources give no formula: this one is aidflow's default.

    * P = paid on or before ``as_of``; R = repaid on or before ``as_of``; facts and
      decisions count only when dated on or before ``as_of``, and only inside their
      obligation's window (a fact outside every window never creates a breach).
    * O2 (L3420-3424): among headcount declarations dated within
      [programme_end, O2 window end], the worst shortfall (J − D) / J; amount P × ratio.
      Declarations before programme_end are information.
    * O1 (L3420-3424): P × cumulative value disposed ÷ total aided investment, at most P.
    * O3 (L3424-3428): activity ceased on C: P × (until − C).days ÷ (until − signed_on).days.
    * O4, O5 (L3428-3432), O6 (L3434-3442): pending with a proposed amount P until the
      Region decides; a decided amount counts (capped at P); a waiver counts 0.
    * O7 (L3442-3448): P.
    * Each amount is rounded to the cent, half up. Total due =
      ``max(0, min(P, largest established amount) − R)``.

    Not modelled: interest on late repayment, partial waivers ("remise") after a
    recovery order (the caller records them as repayments), cancellation of the
    undisbursed balance (the Convention aggregate's job), clawback of amounts still
    to be paid, state-aid recovery rules (Regulation (EU) 2015/1589).
    """

    @property
    def name(self) -> str:
        """``"aidflow-default"``."""
        return "aidflow-default"

    @property
    def version(self) -> str:
        """``"1"``."""
        return "1"

    def assess(self, facts: ClawbackFacts, as_of: date) -> ClawbackAssessment:
        """Assess the clawback due on ``facts`` as of ``as_of`` (see the class docstring)."""
        paid = Money.total(p.amount for p in facts.payments if p.on <= as_of)
        repaid = Money.total(r.amount for r in facts.repayments if r.on <= as_of)
        known = [f for f in facts.facts if f.on <= as_of]
        decisions = [d for d in facts.decisions if d.on <= as_of]
        breaches: list[Breach] = []
        for window in obligation_windows(facts.terms):
            in_window = [f for f in known if f.obligation is window.id and window.contains(f.on)]
            breach = self._breach(window, in_window, facts.terms, paid, decisions)
            if breach is not None:
                breaches.append(breach)
        total, explanation = self._total(breaches, paid, repaid, as_of)
        return ClawbackAssessment(
            as_of=as_of,
            policy=self.name,
            policy_version=self.version,
            paid=paid,
            repaid=repaid,
            breaches=tuple(breaches),
            total_due=total,
            terms=facts.terms,
            explanation=explanation,
        )

    # -- one function per obligation -------------------------------------------------

    def _breach(
        self,
        window: ObligationWindow,
        in_window: Sequence[MonitoringFact],
        terms: ConventionTerms,
        paid: Money,
        decisions: Sequence[BreachDecision],
    ) -> Breach | None:
        if not in_window:
            return None
        if window.id is ObligationId.O1:
            return _investments(window, in_window, terms, paid)
        if window.id is ObligationId.O2:
            return _jobs(window, in_window, terms, paid)
        if window.id is ObligationId.O3:
            return _activity(window, in_window[0], paid)
        if window.wording is Wording.DISCRETIONARY:
            return _discretionary(window, in_window[0], paid, decisions)
        return _mandatory_full(window, in_window[0], paid)

    def _total(
        self, breaches: Sequence[Breach], paid: Money, repaid: Money, as_of: date
    ) -> tuple[Money, str]:
        established = [b for b in breaches if b.established]
        pending = [b.obligation.value for b in breaches if b.pending]
        head = (
            f"as of {as_of.isoformat()}: P = paid {paid}, R = repaid {repaid} "
            f"(clawback applies to paid aid, L3412)"
        )
        tail = f"; pending the Region's decision, not counted: {', '.join(pending)}" if pending else ""
        if not established:
            return Money.zero(), f"{head}; no established breach: total due 0.00{tail}"
        largest = max(established, key=lambda b: b.amount.amount)
        capped = min(paid.amount, largest.amount.amount)
        total = Money(max(capped - repaid.amount, Decimal("0.00")))
        return total, (
            f"{head}; largest established breach {largest.obligation.value} {largest.amount}; "
            f"total due = max(0, min({paid}, {largest.amount}) − {repaid}) = {total} "
            f"({self.name}/{self.version}){tail}"
        )


def _investments(
    window: ObligationWindow, disposals: Sequence[MonitoringFact], terms: ConventionTerms, paid: Money
) -> Breach | None:
    """O1: P × cumulative disposed value ÷ total aided investment, at most P (L3420-3424)."""
    values: list[tuple[date, Money]] = [
        (f.on, f.value) for f in disposals if f.value is not None and not f.value.is_zero()
    ]
    if not values:
        return None
    disposed = Money.total(v for _, v in values)
    invested = terms.investment
    parts = " + ".join(f"{v} on {on.isoformat()}" for on, v in values)
    head = f"aided assets disposed of within {_span(window)}: {parts} = {disposed} of {invested} invested"
    if invested.is_zero() or disposed.amount >= invested.amount:
        amount = paid
        text = f"{head}: at least the whole investment, amount = paid {paid}"
    else:
        amount = _share(paid, disposed.amount, invested.amount)
        ratio = _ratio_text(disposed.amount, invested.amount)
        text = f"{head} {ratio} × paid {paid} = {amount}"
    return Breach(
        ObligationId.O1, values[0][0], amount, established=True, explanation=f"{text} {_src(window.id)}"
    )


def counts_for_jobs(fact: MonitoringFact, terms: ConventionTerms) -> bool:
    """Whether a headcount declaration is held against the jobs commitment (O2): declared on
    or after the programme end (L3420-3424); earlier ones are shown, never a breach."""
    return fact.jobs is not None and fact.on >= terms.programme_end


def _jobs(
    window: ObligationWindow, declarations: Sequence[MonitoringFact], terms: ConventionTerms, paid: Money
) -> Breach | None:
    """O2: P × worst shortfall (J − D) / J after programme_end (L3420-3424)."""
    committed = terms.jobs
    short = [
        (f.jobs, f.on)
        for f in declarations
        if counts_for_jobs(f, terms) and f.jobs is not None and f.jobs < committed
    ]
    if not short:
        return None
    declared, on = min(short)
    shortfall = committed - declared
    amount = _share(paid, shortfall, committed)
    text = (
        f"jobs {declared} declared on {on.isoformat()} < {committed} committed: shortfall "
        f"{shortfall}/{committed} {_ratio_text(shortfall, committed)} × paid {paid} = {amount} "
        f"{_src(window.id)}"
    )
    if len(short) > 1:
        text = (
            f"worst of {len(short)} shortfall declarations within "
            f"{terms.programme_end.isoformat()}..{window.until.isoformat()}: {text}"
        )
    return Breach(ObligationId.O2, on, amount, established=True, explanation=text)


def _activity(window: ObligationWindow, ceased: MonitoringFact, paid: Money) -> Breach:
    """O3: P × (until − C).days ÷ (until − signed_on).days, prorata temporis (L3424-3428)."""
    remaining = (window.until - ceased.on).days
    amount = _share(paid, remaining, window.days)
    text = (
        f"activity ceased on {ceased.on.isoformat()}, {remaining} of {window.days} days before the "
        f"window end {window.until.isoformat()} (prorata temporis) {_ratio_text(remaining, window.days)} "
        f"× paid {paid} = {amount} {_src(window.id)}"
    )
    return Breach(ObligationId.O3, ceased.on, amount, established=True, explanation=text)


_WHAT: dict[FactKind, str] = {
    FactKind.CONTROL_CHANGED: "capital operation changing control",
    FactKind.RELOCATED: "supported establishment moved",
    FactKind.RD_OUTSIDE_REGION: "R&D outside Occitanie or outside the approved partners",
    FactKind.EXPLOITATION_RENOUNCED: "exploitation of the results in Occitanie renounced or handed over",
}


def _latest_decision(
    obligation: ObligationId, since: date, decisions: Sequence[BreachDecision]
) -> BreachDecision | None:
    relevant = [d for d in decisions if d.obligation is obligation and d.on >= since]
    if not relevant:
        return None
    latest_day = max(d.on for d in relevant)
    latest = {d for d in relevant if d.on == latest_day}
    if len(latest) > 1:
        msg = (
            f"{len(latest)} different decisions on {obligation.value} dated {latest_day.isoformat()}: "
            + "; ".join(sorted("waived" if d.waived else f"amount {d.amount}" for d in latest))
        )
        raise ConflictingDecisions(msg, field="decisions", value=obligation.value)
    return latest.pop()


def _discretionary(
    window: ObligationWindow, fact: MonitoringFact, paid: Money, decisions: Sequence[BreachDecision]
) -> Breach:
    """O4, O5 (L3428-3432), O6 (L3434-3442): pending with proposed P until the Region decides."""
    where = f" to {fact.destination}" if fact.destination else ""
    head = (
        f"{_WHAT[fact.kind]}{where} on {fact.on.isoformat()} within {_span(window)}: "
        f"discretionary ('pourra'), proposed amount = paid {paid}"
    )
    decision = _latest_decision(window.id, fact.on, decisions)
    src = _src(window.id)
    if decision is None:
        text = f"{head}; pending the Region's decision {src}"
        return Breach(window.id, fact.on, Money.zero(), established=False, explanation=text, proposed=paid)
    if decision.waived or decision.amount is None:
        text = f"{head}; waived by the Region on {decision.on.isoformat()}: not counted {src}"
        return Breach(
            window.id, fact.on, Money.zero(), established=False, explanation=text, proposed=paid, waived=True
        )
    amount = min(decision.amount, paid)
    text = (
        f"{head}; the Region decided {decision.amount} on {decision.on.isoformat()}, "
        f"at most paid {paid}: {amount} {src}"
    )
    return Breach(window.id, fact.on, amount, established=True, explanation=text, proposed=paid)


def _mandatory_full(window: ObligationWindow, fact: MonitoringFact, paid: Money) -> Breach:
    """O7: the whole paid amount ("conduira la Région à demander le reversement", L3442-3448)."""
    text = (
        f"{_WHAT[fact.kind]} on {fact.on.isoformat()} within {_span(window)}: mandatory "
        f"('conduira'), amount = paid {paid} {_src(window.id)}"
    )
    return Breach(window.id, fact.on, paid, established=True, explanation=text)


DEFAULT_POLICY = DefaultClawbackPolicy()
"""The policy used when none is configured."""
