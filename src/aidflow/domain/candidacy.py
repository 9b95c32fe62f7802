# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""The candidacy aggregate: one project's answer to a call, from submission to decision.

A candidacy is submitted by a lead (chef de file, member 0) with its partners, each
with a role and a share of the budget and of the requested aid
(``seeds-000-001-003-004.md §2.1``). It is submitted and amended until its wave's
deadline (a late one is refused), withdrawn while undecided, scored by a jury on the
call's weighted criteria, then retained (with the granted amount, its split among
members and an optional label with an expiry date) or not retained, with reasons
(``seeds-000-001-003-004.md §2.4``). A retained project then opens one aid application
per funded member (``RULES.md §2``: "Each partner that receives aid goes through its
own eligibility and convention"); the candidacy records their references.

The call's rules are checked by the commands, which receive the :class:`CallTerms`;
event bodies only record facts (STYLE G3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from attrs import field, frozen
from eventsourcing.domain import Aggregate, event

from aidflow.domain.aid_application import Decision
from aidflow.domain.call import (
    CallTerms,
    CompositionRefused,
    CriterionScore,
    Partner,
    weighted_score,
)
from aidflow.domain.errors import DateOutOfOrder, DomainRuleViolation, InvalidTransition, InvalidValue
from aidflow.domain.identity import natural_id
from aidflow.domain.values import CENT, DateRange, Money


def candidacy_id(reference: str) -> UUID:
    """The candidacy's id: UUID5 of ``candidacy:<project reference>`` (ADR 0002)."""
    return natural_id("candidacy", reference)


class CandidacyStatus(StrEnum):
    SUBMITTED = "submitted"
    SCORED = "scored"
    RETAINED = "retained"
    NOT_RETAINED = "not_retained"
    WITHDRAWN = "withdrawn"


UNDECIDED = (CandidacyStatus.SUBMITTED, CandidacyStatus.SCORED)


def _tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(values)


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _money_tuple(values: Iterable[Any]) -> tuple[Money, ...]:
    return tuple(v if isinstance(v, Money) else Money(v) for v in values)


@frozen
class Scoring:
    """A jury's score sheet: one score per criterion of the call, by a body, on a date."""

    body: str
    on: date
    scores: tuple[CriterionScore, ...] = field(converter=_tuple)


@frozen
class Label:
    """A label granted to a retained project (e.g. « lauréat AMI CMA »), valid until ``expires_on``.

    Labels are time-bounded entitlements (``seeds-000-001-003-004.md §7`` item 7:
    CMQ 2 years, STTP structures 5 years). None = no expiry.
    """

    name: str
    granted_on: date
    expires_on: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.granted_on <= day and (self.expires_on is None or day <= self.expires_on)


@frozen
class Selection:
    """The retention decision: the granted amount (« subvention maximum »), its split, reasons, label."""

    decision: Decision
    granted: Money
    shares: tuple[Money, ...] = field(converter=_money_tuple)
    reasons: tuple[str, ...] = field(default=(), converter=_strings)
    label: Label | None = None


@frozen
class MemberApplication:
    """The aid application a funded member opened (lineage: project → application)."""

    member: int
    reference: str


def member_reference(project: str, index: int) -> str:
    """The deterministic reference of member ``index``'s application: ``<project>-<index>`` (0 = lead)."""
    return f"{project}-{index}"


def split_pro_rata(granted: Money, requested: Sequence[Money]) -> tuple[Money, ...]:
    """Split ``granted`` among members in proportion to their requested aid, to the cent.

    Largest-remainder rounding: every share is first rounded down to the cent, then the
    missing cents go one by one to the largest remainders (ties: the lower index). The
    shares add up to ``granted`` exactly and none exceeds the member's request when
    ``granted`` ≤ the total requested.
    """
    total = sum((r.amount for r in requested), Decimal(0))
    if total == 0:
        return tuple(Money.zero() for _ in requested)
    exact = [granted.amount * r.amount / total for r in requested]
    floors = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    missing = int((granted.amount - sum(floors, Decimal(0))) / CENT)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:missing]:
        floors[i] += CENT
    return tuple(Money(f) for f in floors)


class Candidacy(Aggregate):
    """A project submitted to a call by a lead (member 0) and its partners."""

    @staticmethod
    def create_id(reference: str) -> UUID:
        return candidacy_id(reference)

    # ------------------------------------------------------------ factory

    @classmethod
    def submit(
        cls,
        terms: CallTerms,
        *,
        reference: str,
        call_code: str,
        wave: str | None,
        strand: str,
        title: str,
        members: Sequence[Partner],
        submitted_on: date,
        period: DateRange | None = None,
        derived_from: str | None = None,
    ) -> Candidacy:
        """Check the candidacy against the call's terms, then record it.

        Raises:
            DeadlinePassed: ``submitted_on`` is outside its wave's window.
            CompositionRefused: admission or consortium rules fail (all of them reported).
            RateOutOfBounds: requested ÷ budget is outside the strand's bounds.
        """
        terms.check_within_window(wave, submitted_on, "submit a candidacy")
        _check_project(terms, strand, title, members)
        return cls(
            reference=reference,
            call_code=call_code,
            wave=wave,
            strand=strand,
            title=title,
            members=tuple(members),
            period=period,
            derived_from=derived_from,
            priorities=terms.priorities_met(members),
            submitted_on=submitted_on,
        )

    @event("Submitted")
    def __init__(
        self,
        reference: str,
        call_code: str,
        wave: str | None,
        strand: str,
        title: str,
        members: tuple[Partner, ...],
        period: DateRange | None,
        derived_from: str | None,
        priorities: tuple[str, ...],
        submitted_on: date,
    ) -> None:
        self.reference = reference
        self.call_code = call_code
        self.wave = wave
        self.strand = strand
        self.title = title
        self.members = tuple(members)
        self.period = period
        self.derived_from = derived_from
        self.priorities = tuple(priorities)
        self.submitted_on = submitted_on
        self.status = CandidacyStatus.SUBMITTED
        self.amended_on: date | None = None
        self.scorings: list[Scoring] = []
        self.selection: Selection | None = None
        self.rejection: tuple[Decision, tuple[str, ...]] | None = None
        self.withdrawn_on: date | None = None
        self.withdrawal_reason: str | None = None
        self.applications: tuple[MemberApplication, ...] = ()
        self.applications_opened_on: date | None = None

    # ------------------------------------------------------------ queries

    @property
    def lead(self) -> Partner:
        return self.members[0]

    @property
    def budget(self) -> Money:
        return Money.total(m.budget for m in self.members)

    @property
    def requested(self) -> Money:
        return Money.total(m.requested for m in self.members)

    @property
    def granted(self) -> Money | None:
        return None if self.selection is None else self.selection.granted

    @property
    def scoring(self) -> Scoring | None:
        """The latest score sheet (a jury may score again until it decides)."""
        return self.scorings[-1] if self.scorings else None

    def score(self, terms: CallTerms) -> Decimal | None:
        """The weighted score of the latest sheet on the call's criteria (derived)."""
        sheet = self.scoring
        return None if sheet is None else weighted_score(terms.criteria, sheet.scores)

    # ------------------------------------------------------------ guards

    def _check_undecided(self, action: str, on: date) -> None:
        if self.status not in UNDECIDED:
            msg = f"cannot {action} candidacy {self.reference}: it is {self.status.value}"
            raise InvalidTransition(msg, field="do", value=action)
        if on < self.submitted_on:
            msg = (
                f"cannot {action} on {on.isoformat()}, before the submission on "
                f"{self.submitted_on.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())

    # ------------------------------------------------------------ commands

    def amend(
        self, terms: CallTerms, on: date, title: str, members: Sequence[Partner], period: DateRange | None
    ) -> None:
        """Replace the title, members and period, until the wave's deadline (rules checked again)."""
        self._check_undecided("amend", on)
        terms.check_within_window(self.wave, on, "amend a candidacy")
        _check_project(terms, self.strand, title, members)
        self._amended(
            on=on, title=title, members=tuple(members), period=period,
            priorities=terms.priorities_met(members),
        )

    @event("Amended")
    def _amended(
        self, on: date, title: str, members: tuple[Partner, ...], period: DateRange | None,
        priorities: tuple[str, ...],
    ) -> None:
        self.title = title
        self.members = tuple(members)
        self.period = period
        self.priorities = tuple(priorities)
        self.amended_on = on

    def withdraw(self, on: date, reason: str | None = None) -> None:
        self._check_undecided("withdraw", on)
        self._withdrawn(on=on, reason=reason)

    @event("Withdrawn")
    def _withdrawn(self, on: date, reason: str | None) -> None:
        self.status = CandidacyStatus.WITHDRAWN
        self.withdrawn_on = on
        self.withdrawal_reason = reason

    def record_scores(self, terms: CallTerms, body: str, on: date, scores: Mapping[str, Decimal]) -> None:
        """Record a full score sheet: every criterion of the call, each within [0, max_score]."""
        self._check_undecided("score", on)
        terms.check_decision_date(self.wave, on, "score a candidacy")
        if not terms.criteria:
            msg = "this call has no selection criteria to score"
            raise DomainRuleViolation(msg, field="scores", value=dict(scores))
        codes = [c.code for c in terms.criteria]
        unknown = sorted(set(scores) - set(codes))
        if unknown:
            msg = f"unknown criteria {', '.join(unknown)} (criteria: {', '.join(codes)})"
            raise InvalidValue(msg, field=f"scores.{unknown[0]}", value=unknown[0])
        missing = [code for code in codes if code not in scores]
        if missing:
            msg = f"every criterion must be scored; missing: {', '.join(missing)}"
            raise InvalidValue(msg, field=f"scores.{missing[0]}", value=None)
        for code in codes:
            value = scores[code]
            if not Decimal(0) <= value <= terms.max_score:
                msg = f"score {value} for {code} is outside 0–{terms.max_score}"
                raise InvalidValue(msg, field=f"scores.{code}", value=str(value))
        sheet = Scoring(body, on, tuple(CriterionScore(code, scores[code]) for code in codes))
        self._scored(scoring=sheet)

    @event("Scored")
    def _scored(self, scoring: Scoring) -> None:
        self.scorings.append(scoring)
        self.status = CandidacyStatus.SCORED

    def check_retain(
        self, terms: CallTerms, decision: Decision, granted: Money, shares: Sequence[Money] | None,
        label: Label | None,
    ) -> tuple[Money, ...]:
        """Check a retention and return the members' shares (pro rata of their requests by default).

        The granted amount is positive, at most the amount requested, and its rate on
        the project budget is within the strand's bounds.
        """
        self._check_undecided("retain", decision.decided_on)
        terms.check_decision_date(self.wave, decision.decided_on, "retain a candidacy")
        if granted.is_zero():
            msg = "a retained project must be granted a positive amount"
            raise DomainRuleViolation(msg, field="granted", value=str(granted))
        if granted > self.requested:
            msg = f"granted amount {granted} exceeds the amount requested {self.requested}"
            raise DomainRuleViolation(msg, field="granted", value=str(granted))
        terms.strand(self.strand).check_rate("granted amount", granted, self.budget, "granted")
        if shares is None:
            split = split_pro_rata(granted, [m.requested for m in self.members])
        else:
            split = tuple(shares)
            if len(split) != len(self.members):
                msg = f"give one share per member ({len(self.members)}), got {len(split)}"
                raise InvalidValue(msg, field="shares", value=len(split))
            if Money.total(split) != granted:
                msg = f"the shares add up to {Money.total(split)}, not to the granted {granted}"
                raise InvalidValue(msg, field="shares", value=str(Money.total(split)))
            for index, (share, member) in enumerate(zip(split, self.members, strict=True)):
                if share > member.requested:
                    msg = f"{member.name}'s share {share} exceeds its requested aid {member.requested}"
                    raise DomainRuleViolation(msg, field=f"shares[{index}]", value=str(share))
        if label is not None and label.expires_on is not None and label.expires_on < label.granted_on:
            msg = (
                f"label expiry {label.expires_on.isoformat()} is before its grant "
                f"{label.granted_on.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="label.expires_on", value=label.expires_on.isoformat())
        return split

    def retain(self, selection: Selection) -> None:
        """Record a retention checked by :meth:`check_retain` (the call commits the envelope)."""
        self._check_undecided("retain", selection.decision.decided_on)
        self._retained(selection=selection)

    @event("Retained")
    def _retained(self, selection: Selection) -> None:
        self.selection = selection
        self.status = CandidacyStatus.RETAINED

    def reject(self, terms: CallTerms, decision: Decision, reasons: Sequence[str]) -> None:
        """Record that the project is not retained, with at least one reason."""
        self._check_undecided("reject", decision.decided_on)
        terms.check_decision_date(self.wave, decision.decided_on, "decide on a candidacy")
        if not reasons or not all(r.strip() for r in reasons):
            msg = "a decision not to retain a project must state at least one reason"
            raise DomainRuleViolation(msg, field="reasons", value=list(reasons))
        self._not_retained(decision=decision, reasons=tuple(reasons))

    @event("NotRetained")
    def _not_retained(self, decision: Decision, reasons: tuple[str, ...]) -> None:
        self.rejection = (decision, tuple(reasons))
        self.status = CandidacyStatus.NOT_RETAINED

    def funded_members(self) -> list[tuple[int, Partner, Money]]:
        """The members with a positive share of the granted amount, with their index and share."""
        if self.selection is None:
            return []
        return [
            (index, member, share)
            for index, (member, share) in enumerate(zip(self.members, self.selection.shares, strict=True))
            if not share.is_zero()
        ]

    def check_can_open_applications(self, on: date) -> None:
        if self.status is not CandidacyStatus.RETAINED or self.selection is None:
            msg = (
                f"candidacy {self.reference} is {self.status.value}: "
                "only a retained project opens applications"
            )
            raise InvalidTransition(msg, field="do", value="open_applications")
        if self.applications:
            msg = f"candidacy {self.reference} already opened its members' applications"
            raise InvalidTransition(msg, field="do", value="open_applications")
        if on < self.selection.decision.decided_on:
            msg = (
                f"cannot open applications on {on.isoformat()}, before the selection on "
                f"{self.selection.decision.decided_on.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())

    def record_applications(self, on: date, applications: Sequence[MemberApplication]) -> None:
        self.check_can_open_applications(on)
        self._applications_opened(on=on, applications=tuple(applications))

    @event("ApplicationsOpened")
    def _applications_opened(self, on: date, applications: tuple[MemberApplication, ...]) -> None:
        self.applications = tuple(applications)
        self.applications_opened_on = on


def _check_project(terms: CallTerms, strand_code: str, title: str, members: Sequence[Partner]) -> None:
    """The checks shared by submission and amendment: strand, title, composition, rates."""
    strand = terms.strand(strand_code)
    if not title.strip():
        msg = "a project needs a title"
        raise InvalidValue(msg, field="title", value=title)
    if not members:
        msg = "a candidacy needs a lead"
        raise InvalidValue(msg, field="lead", value=None)
    failures = terms.composition_failures(members)
    if failures:
        raise CompositionRefused(failures)
    budget = Money.total(m.budget for m in members)
    requested = Money.total(m.requested for m in members)
    if requested.is_zero():
        msg = "a candidacy must request a positive amount of aid"
        raise DomainRuleViolation(msg, field="lead.requested", value=str(requested))
    strand.check_rate("requested aid", requested, budget, "lead.requested")
