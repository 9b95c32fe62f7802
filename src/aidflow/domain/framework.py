# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Framework conventions (conventions-cadres): parties, articles, term, governance, child contracts.

A convention-cadre sets shared orientations between two or more parties for a term,
names the governance bodies that steer it, and is declined into child contracts. The
model follows the convention-cadre signed on 6 September 2016 between the académies
de Montpellier and Toulouse and the Region (``seeds-000-001-003-004.md §3.1``):

* a **framework, programmatic** document « de la date de sa signature jusqu'en 2021 »
  (``004_303e0234a63aebae.txt L54-58``): a term that runs from the signature "until a
  year" — aidflow reads "jusqu'en 2021" as *through 31 December 2021* (the text is
  silent on the day; documented default);
* numbered articles with titles and sub-articles (``004_303e0234a63aebae.txt L67-564``);
* « un comité de pilotage rassemblant les parties signataires de cette convention est
  réuni au moins une fois par an » (``004_303e0234a63aebae.txt L561-564``): a governance
  body with a minimum meeting frequency, read as "never more than 12 months without a
  meeting" (aidflow default), and meetings recorded as events;
* « pourra être déclinée de manière opérationnelle au travers de contrats d'objectifs
  tripartites (Région/Rectorat/Lycée) » (``004_303e0234a63aebae.txt L556-559``): child
  contracts of declared kinds, which never outlive their framework without an explicit
  renewal (or an amendment of its term).

The seed has no renewal, amendment or termination clause (``seeds-000-001-003-004.md
§3.1`` "Missing from S004"); aidflow supports them as other conventions need them
(FORPRO'SUP "renewed every 3 years", ``003_*.txt L1867-1872``): renewal tacit or
explicit with a period, numbered amendments, termination by notice or by term.

Choices (aidflow defaults):

* **Tacit renewal** rolls the term over by its period, anchored on the recorded end
  (``end + k × period``, never chained), unless the framework was terminated; child
  contracts count only the *recorded* end (signature term, explicit renewals and
  amendments), never a tacit roll-over that has not happened yet.
* A **termination by notice** takes effect on ``effective_on``; child contracts that ran
  longer end with their framework (:meth:`Framework.child_end`). A **termination by term**
  is a notice of non-renewal: it takes effect at the current end and, for a tacitly
  renewed framework, must come at least ``notice_months`` before it.
* A meeting, a child contract, an amendment or an explicit renewal needs the framework
  in force on its date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from attrs import Attribute, field, frozen
from eventsourcing.domain import Aggregate, event

from aidflow.domain.dates import add_months
from aidflow.domain.errors import DateOutOfOrder, DomainRuleViolation, InvalidTransition, InvalidValue
from aidflow.domain.identity import natural_id
from aidflow.domain.values import as_date, optional_date

SEED = "004_303e0234a63aebae.txt"
"""The seed holding the convention-cadre Région–académies of 6 September 2016."""


def framework_id(reference: str) -> UUID:
    """UUID5 of a framework convention's reference (ADR 0002)."""
    return natural_id("framework", reference)


class ChildOutlivesFramework(DomainRuleViolation):
    """A child contract would end after its framework (without an explicit renewal)."""


# ------------------------------------------------------------------ vocabulary


class PartyRole(StrEnum):
    """How a party takes part (``seeds-000-001-003-004.md §3.3``)."""

    SIGNATORY = "signatory"
    CO_CONTRACTOR = "co_contractor"
    LEAD = "lead"
    PARTNER = "partner"
    BENEFICIARY = "beneficiary"
    FUNDER = "funder"


class RenewalMode(StrEnum):
    """``none``: non-renewable; ``explicit``: only by a signed act; ``tacit``: rolls over unless notice."""

    NONE = "none"
    EXPLICIT = "explicit"
    TACIT = "tacit"


class TerminationKind(StrEnum):
    NOTICE = "notice"
    TERM = "term"


class FrameworkStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_FORCE = "in_force"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class AlertKind(StrEnum):
    COMMITTEE_OVERDUE = "committee_overdue"
    TERM_APPROACHING = "term_approaching"


# ------------------------------------------------------------------ converters


def _text(_instance: object, attribute: Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        msg = f"{attribute.name} must not be empty"
        raise InvalidValue(msg, field=attribute.name, value=value)


def _optional_text(_instance: object, attribute: Attribute[str | None], value: str | None) -> None:
    if value is not None:
        _text(_instance, attribute, value)  # type: ignore[arg-type] # same check, narrowed value


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(values)


def _optional_positive(_instance: object, attribute: Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        msg = f"{attribute.name} must be a whole number from 1, got {value!r}"
        raise InvalidValue(msg, field=attribute.name, value=value)


def _positive(_instance: object, attribute: Attribute[int], value: int) -> None:
    _optional_positive(_instance, attribute, value)  # type: ignore[arg-type] # same check


def _nonempty_strings(
    _instance: object, attribute: Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    if not value or any(not v.strip() for v in value):
        msg = f"{attribute.name} needs at least one non-empty entry"
        raise InvalidValue(msg, field=attribute.name, value=list(value))


# ------------------------------------------------------------------ values


@frozen
class Party:
    """A party to the framework: an organisation, its role, who signs for it."""

    organisation: str = field(validator=_text)
    role: PartyRole = field(converter=PartyRole)
    represented_by: str | None = field(default=None, validator=_optional_text)


@frozen
class Article:
    """A numbered article (``"6"``, ``"2.1"``) with its title, text and source lines."""

    number: str = field(validator=_text)
    title: str = field(validator=_text)
    text: str = ""
    source: str | None = None


@frozen
class FrameworkTerm:
    """The framework's term, both ends included, with its wording in the text."""

    start: date = field(converter=as_date)
    end: date = field(converter=as_date)
    wording: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            msg = f"the term ends on {self.end.isoformat()}, before its start {self.start.isoformat()}"
            raise InvalidValue(msg, field="term.end", value=self.end.isoformat())


@frozen
class RenewalClause:
    """How the framework may be renewed: mode, period, notice (months) and how many times."""

    mode: RenewalMode = field(default=RenewalMode.EXPLICIT, converter=RenewalMode)
    period_months: int | None = field(default=None, validator=_optional_positive)
    notice_months: int | None = field(default=None, validator=_optional_positive)
    max_renewals: int | None = field(default=None, validator=_optional_positive)

    def __attrs_post_init__(self) -> None:
        if self.mode is RenewalMode.TACIT and self.period_months is None:
            msg = "a tacit renewal needs its period (period_months)"
            raise InvalidValue(msg, field="renewal.period_months", value=None)


@frozen
class GovernanceBody:
    """A governance body (e.g. the steering committee) and its minimum meeting frequency.

    Attributes:
        code: short identifier used by meetings (``COPIL``).
        name: the body's name in the text.
        members: organisations that sit on it.
        every_months: at most this many months without a meeting; None = no minimum.
        mandate: what it does, as the text says.
        source: where the text sets it up.
    """

    code: str = field(validator=_text)
    name: str = field(validator=_text)
    members: tuple[str, ...] = field(default=(), converter=_strings)
    every_months: int | None = field(default=None, validator=_optional_positive)
    mandate: str = ""
    source: str | None = None


@frozen
class ChildKind:
    """A kind of child contract the framework may be declined into (with its usual parties)."""

    kind: str = field(validator=_text)
    label: str = field(validator=_text)
    parties: tuple[str, ...] = field(default=(), converter=_strings)
    source: str | None = None


@frozen
class Meeting:
    """A governance body's meeting: date, attendees' organisations, decisions."""

    body: str = field(validator=_text)
    on: date = field(converter=as_date)
    attendees: tuple[str, ...] = field(converter=_strings, validator=_nonempty_strings)
    decisions: tuple[str, ...] = field(default=(), converter=_strings)


@frozen
class ChildContract:
    """A contract that declines the framework (e.g. a tripartite objectives contract)."""

    reference: str = field(validator=_text)
    title: str = field(validator=_text)
    kind: str = field(validator=_text)
    parties: tuple[str, ...] = field(converter=_strings, validator=_nonempty_strings)
    signed_on: date = field(converter=as_date)
    start: date = field(converter=as_date)
    end: date = field(converter=as_date)

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            msg = f"the child contract ends on {self.end}, before its start {self.start}"
            raise InvalidValue(msg, field="end", value=self.end.isoformat())


@frozen
class FrameworkAmendment:
    """An avenant to the framework: a new end, articles added or replaced, bodies, parties.

    Articles replace the article of the same number (or are added); bodies replace the
    body of the same code (or are added); parties are added.
    """

    number: int = field(validator=_positive)
    signed_on: date = field(converter=as_date)
    reason: str = field(validator=_text)
    end: date | None = field(default=None, converter=optional_date)
    articles: tuple[Article, ...] = field(default=(), converter=_tuple)
    bodies: tuple[GovernanceBody, ...] = field(default=(), converter=_tuple)
    parties: tuple[Party, ...] = field(default=(), converter=_tuple)


@frozen
class Renewal:
    """An explicit renewal: signed on ``on``, the term now runs until ``until``."""

    on: date = field(converter=as_date)
    until: date = field(converter=as_date)
    previous_end: date = field(converter=as_date)
    deliberation: str | None = None


@frozen
class Termination:
    """The framework ends on ``effective_on``: by notice given on ``on``, or at its term."""

    kind: TerminationKind = field(converter=TerminationKind)
    on: date = field(converter=as_date)
    effective_on: date = field(converter=as_date)
    reason: str = ""


@frozen
class FrameworkAlert:
    """Something to act on: a committee overdue, a term approaching."""

    kind: AlertKind
    framework: str
    due: date
    message: str
    body: str | None = None


# ------------------------------------------------------------------ the aggregate


class Framework(Aggregate):
    """A framework convention (convention-cadre) and what happens under it."""

    @staticmethod
    def create_id(reference: str) -> UUID:
        return framework_id(reference)

    @classmethod
    def sign(
        cls,
        reference: str,
        kind: str,
        title: str,
        object_: str,
        parties: tuple[Party, ...],
        articles: tuple[Article, ...],
        term: FrameworkTerm,
        renewal: RenewalClause,
        bodies: tuple[GovernanceBody, ...],
        signed_on: date,
        *,
        child_kinds: tuple[ChildKind, ...] = (),
        subtitle: str | None = None,
        signed_at: str | None = None,
        witnesses: tuple[str, ...] = (),
        original_copies: int | None = None,
    ) -> Framework:
        """Sign a framework convention after checking its parts.

        Raises:
            InvalidValue: fewer than two parties, a party, article, body or child kind twice,
                a term that ends before the signature.
        """
        _check_unique("parties", [p.organisation for p in parties], "organisation")
        if len(parties) < 2:  # noqa: PLR2004 - a convention binds at least two parties
            msg = f"a framework convention binds two or more parties, got {len(parties)}"
            raise InvalidValue(msg, field="parties", value=len(parties))
        _check_unique("articles", [a.number for a in articles], "number")
        _check_unique("governance", [b.code for b in bodies], "code")
        _check_unique("child_kinds", [k.kind for k in child_kinds], "kind")
        if term.end < signed_on:
            msg = f"the term ends on {term.end.isoformat()}, before the signature on {signed_on.isoformat()}"
            raise InvalidValue(msg, field="term.end", value=term.end.isoformat())
        if not title.strip() or not object_.strip():
            msg = "a framework convention has a title and an object"
            raise InvalidValue(msg, field="title" if not title.strip() else "object", value="")
        return cls(
            reference=reference, kind=kind, title=title, object_=object_, parties=tuple(parties),
            articles=tuple(articles), term=term, renewal=renewal, bodies=tuple(bodies),
            signed_on=signed_on, child_kinds=tuple(child_kinds), subtitle=subtitle,
            signed_at=signed_at, witnesses=tuple(witnesses), original_copies=original_copies,
        )

    @event("Signed")
    def __init__(
        self,
        reference: str,
        kind: str,
        title: str,
        object_: str,
        parties: tuple[Party, ...],
        articles: tuple[Article, ...],
        term: FrameworkTerm,
        renewal: RenewalClause,
        bodies: tuple[GovernanceBody, ...],
        signed_on: date,
        child_kinds: tuple[ChildKind, ...],
        subtitle: str | None,
        signed_at: str | None,
        witnesses: tuple[str, ...],
        original_copies: int | None,
    ) -> None:
        self.reference = reference
        self.kind = kind
        self.title = title
        self.object = object_
        self.parties = tuple(parties)
        self.articles = tuple(articles)
        self.term = term
        self.renewal = renewal
        self.bodies = tuple(bodies)
        self.signed_on = signed_on
        self.child_kinds = tuple(child_kinds)
        self.subtitle = subtitle
        self.signed_at = signed_at
        self.witnesses = tuple(witnesses)
        self.original_copies = original_copies
        self.end = term.end
        self.meetings: list[Meeting] = []
        self.children: dict[str, ChildContract] = {}
        self.amendments: list[FrameworkAmendment] = []
        self.renewals: list[Renewal] = []
        self.termination: Termination | None = None

    # ------------------------------------------------------------------ queries

    def body(self, code: str) -> GovernanceBody | None:
        return next((b for b in self.bodies if b.code == code), None)

    def ends_on(self, day: date) -> date:
        """The last day in force as seen on ``day``: tacit roll-overs up to ``day``, termination.

        Once terminated, the framework ends on the termination's effective date, which
        :meth:`terminate` checked against the end in force then (roll-overs included).
        """
        if self.termination is not None:
            return self.termination.effective_on
        end = self.end
        clause = self.renewal
        if clause.mode is RenewalMode.TACIT and clause.period_months:
            rolls = 0
            allowed = clause.max_renewals
            while end < day and (allowed is None or rolls + len(self.renewals) < allowed):
                rolls += 1
                end = add_months(self.end, clause.period_months * rolls)
        return end

    def status_on(self, day: date) -> FrameworkStatus:
        if day < self.term.start:
            return FrameworkStatus.NOT_STARTED
        if day <= self.ends_on(day):
            return FrameworkStatus.IN_FORCE
        if self.termination is not None and self.termination.kind is TerminationKind.NOTICE:
            return FrameworkStatus.TERMINATED
        return FrameworkStatus.EXPIRED

    def in_force_on(self, day: date) -> bool:
        return self.status_on(day) is FrameworkStatus.IN_FORCE

    def child_end(self, child: ChildContract) -> date:
        """A child's last day: its own end, or its framework's if the framework was terminated sooner."""
        if self.termination is None:
            return child.end
        return min(child.end, self.termination.effective_on)

    def last_meeting(self, code: str, on: date) -> Meeting | None:
        held = [m for m in self.meetings if m.body == code and m.on <= on]
        return max(held, key=lambda m: m.on) if held else None

    def committee_due(self, body: GovernanceBody, on: date) -> date | None:
        """The date by which ``body`` must next meet, as seen on ``on`` (None: no minimum)."""
        if body.every_months is None:
            return None
        last = self.last_meeting(body.code, on)
        since = last.on if last else max(self.term.start, self.signed_on)
        return add_months(since, body.every_months)

    def alerts(self, on: date, within_days: int) -> tuple[FrameworkAlert, ...]:
        """Committees that have not met within their frequency; a term reached within ``within_days``.

        Only a framework in force on ``on`` raises alerts.
        """
        if not self.in_force_on(on):
            return ()
        found: list[FrameworkAlert] = []
        for body in self.bodies:
            due = self.committee_due(body, on)
            if due is not None and due < on:
                last = self.last_meeting(body.code, on)
                since = f"last met on {last.on.isoformat()}" if last else "has never met"
                found.append(FrameworkAlert(
                    AlertKind.COMMITTEE_OVERDUE, self.reference, due,
                    f"{body.name} ({body.code}) {since}: a meeting was due by {due.isoformat()} "
                    f"(at least every {body.every_months} months)",
                    body.code,
                ))
        end = self.ends_on(on)
        left = (end - on).days
        if left <= within_days:
            message = f"{self.title} reaches its term on {end.isoformat()} ({left} days)"
            if self.renewal.mode is RenewalMode.TACIT and self.termination is None:
                notice = self.renewal.notice_months or 0
                message += (
                    f"; renewed tacitly for {self.renewal.period_months} months unless notice is given"
                    + (f" by {add_months(end, -notice).isoformat()}" if notice else "")
                )
            found.append(FrameworkAlert(AlertKind.TERM_APPROACHING, self.reference, end, message))
        return tuple(found)

    # ----------------------------------------------------------------- commands

    def _check_in_force(self, action: str, on: date) -> None:
        if on < self.signed_on:
            msg = f"{action} on {on.isoformat()} is before the signature on {self.signed_on.isoformat()}"
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())
        status = self.status_on(on)
        if status is not FrameworkStatus.IN_FORCE:
            msg = f"cannot {action} on {on.isoformat()}: framework {self.reference} is {status.value} then"
            raise InvalidTransition(msg, field="on", value=on.isoformat())

    def record_meeting(self, meeting: Meeting) -> bool:
        """Record a governance body's meeting; the same meeting twice has no second effect."""
        if meeting in self.meetings:
            return False
        if self.body(meeting.body) is None:
            known = ", ".join(b.code for b in self.bodies) or "none"
            msg = f"no governance body {meeting.body!r} in framework {self.reference} (bodies: {known})"
            raise DomainRuleViolation(msg, field="body", value=meeting.body)
        self._check_in_force("record a meeting", meeting.on)
        self._meeting_held(meeting=meeting)
        return True

    @event("MeetingHeld")
    def _meeting_held(self, meeting: Meeting) -> None:
        self.meetings.append(meeting)

    def link_child(self, child: ChildContract) -> None:
        """Link a child contract; it never outlives the framework's recorded end.

        Raises:
            ChildOutlivesFramework: the child ends after the framework's end (renew it first).
        """
        if child.reference in self.children:
            msg = f"child contract {child.reference!r} is already linked to framework {self.reference}"
            raise DomainRuleViolation(msg, field="reference", value=child.reference)
        if self.child_kinds and child.kind not in {k.kind for k in self.child_kinds}:
            kinds = ", ".join(k.kind for k in self.child_kinds)
            msg = f"framework {self.reference} is declined into {kinds}, not {child.kind!r}"
            raise DomainRuleViolation(msg, field="kind", value=child.kind)
        self._check_in_force("link a child contract", child.signed_on)
        if child.start < child.signed_on:
            msg = f"the child starts on {child.start.isoformat()}, before its signature on {child.signed_on}"
            raise DateOutOfOrder(msg, field="start", value=child.start.isoformat())
        limit = self.end if self.termination is None else min(self.end, self.termination.effective_on)
        if child.end > limit:
            msg = (
                f"child contract {child.reference} would end on {child.end.isoformat()}, after its framework "
                f"{self.reference} ({limit.isoformat()}): a child never outlives its framework without an "
                "explicit renewal"
            )
            raise ChildOutlivesFramework(msg, field="end", value=child.end.isoformat())
        self._child_linked(child=child)

    @event("ChildLinked")
    def _child_linked(self, child: ChildContract) -> None:
        self.children[child.reference] = child

    def amend(self, amendment: FrameworkAmendment) -> None:
        """Sign an amendment: numbers strictly increase, dates never go back, a child never outlives."""
        self._check_in_force("amend", amendment.signed_on)
        latest = self.amendments[-1] if self.amendments else None
        if latest is not None and amendment.number <= latest.number:
            msg = f"amendment numbers strictly increase: no. {amendment.number} follows no. {latest.number}"
            raise DomainRuleViolation(msg, field="number", value=amendment.number)
        if latest is not None and amendment.signed_on < latest.signed_on:
            msg = (
                f"amendment signed on {amendment.signed_on.isoformat()} is before amendment "
                f"no. {latest.number} signed on {latest.signed_on.isoformat()}"
            )
            raise DateOutOfOrder(msg, field="on", value=amendment.signed_on.isoformat())
        if amendment.end is None and not (amendment.articles or amendment.bodies or amendment.parties):
            msg = "an amendment changes at least one of end, articles, governance, parties"
            raise DomainRuleViolation(msg, field="do", value="amend")
        if amendment.end is not None:
            self._check_new_end(amendment.end, amendment.signed_on, "end")
        _check_unique("articles", [a.number for a in amendment.articles], "number")
        _check_unique("governance", [b.code for b in amendment.bodies], "code")
        known = {p.organisation for p in self.parties}
        for index, party in enumerate(amendment.parties):
            if party.organisation in known:
                msg = f"{party.organisation!r} is already a party to framework {self.reference}"
                where = f"parties.{index}.organisation"
                raise DomainRuleViolation(msg, field=where, value=party.organisation)
        self._amended(amendment=amendment)

    def _check_new_end(self, end: date, on: date, name: str) -> None:
        if end < on or end < self.term.start:
            msg = f"the new end {end.isoformat()} is before {max(on, self.term.start).isoformat()}"
            raise DateOutOfOrder(msg, field=name, value=end.isoformat())
        outliving = sorted((c.end, c.reference) for c in self.children.values() if c.end > end)
        if outliving:
            child_end, reference = outliving[-1]
            msg = (
                f"the new end {end.isoformat()} is before the end of child contract {reference} "
                f"({child_end.isoformat()}): a child never outlives its framework"
            )
            raise ChildOutlivesFramework(msg, field=name, value=end.isoformat())

    @event("Amended")
    def _amended(self, amendment: FrameworkAmendment) -> None:
        self.amendments.append(amendment)
        replaced = {a.number for a in amendment.articles}
        self.articles = tuple(
            sorted(
                [a for a in self.articles if a.number not in replaced] + list(amendment.articles),
                key=lambda a: _article_key(a.number),
            )
        )
        codes = {b.code for b in amendment.bodies}
        self.bodies = tuple([b for b in self.bodies if b.code not in codes] + list(amendment.bodies))
        self.parties = (*self.parties, *amendment.parties)
        self.end = amendment.end or self.end

    def renew(self, on: date, until: date, deliberation: str | None = None) -> None:
        """Renew explicitly: the recorded end moves to ``until`` (children may then run until it).

        Raises:
            InvalidTransition: the framework is non-renewable, terminated, or not in force on ``on``.
            DomainRuleViolation: the clause's maximum number of renewals is reached.
            DateOutOfOrder: ``until`` is not after the current end.
        """
        if self.renewal.mode is RenewalMode.NONE:
            msg = f"framework {self.reference} is non-renewable"
            raise InvalidTransition(msg, field="do", value="renew")
        if self.termination is not None:
            msg = (
                f"framework {self.reference} was terminated (effective {self.termination.effective_on}); "
                "a terminated framework is not renewed"
            )
            raise InvalidTransition(msg, field="do", value="renew")
        self._check_in_force("renew", on)
        limit = self.renewal.max_renewals
        if limit is not None and len(self.renewals) >= limit:
            msg = f"framework {self.reference} may be renewed {limit} times; it already was"
            raise DomainRuleViolation(msg, field="do", value="renew")
        current = self.ends_on(on)
        if until <= current:
            msg = f"a renewal runs past the current end {current.isoformat()}, got {until.isoformat()}"
            raise DateOutOfOrder(msg, field="until", value=until.isoformat())
        self._renewed(renewal=Renewal(on, until, current, deliberation))

    @event("Renewed")
    def _renewed(self, renewal: Renewal) -> None:
        self.renewals.append(renewal)
        self.end = renewal.until

    def terminate(
        self, kind: TerminationKind, on: date, effective_on: date | None = None, reason: str = ""
    ) -> Termination:
        """Terminate by notice (effective on ``effective_on``) or at the term (non-renewal).

        Raises:
            InvalidTransition: already terminated, or not in force on ``on``.
            DateOutOfOrder: a notice shorter than the clause's, an effective date after the end,
                a non-renewal given too late.
        """
        if self.termination is not None:
            msg = f"framework {self.reference} was already terminated on {self.termination.effective_on}"
            raise InvalidTransition(msg, field="do", value="terminate")
        self._check_in_force("terminate", on)
        end = self.ends_on(on)
        notice = self.renewal.notice_months
        if kind is TerminationKind.TERM:
            latest = add_months(end, -notice) if notice and self.renewal.mode is RenewalMode.TACIT else end
            if on > latest:
                msg = (
                    f"notice of non-renewal on {on.isoformat()} is too late: due by {latest.isoformat()} "
                    f"({notice} months before the term {end.isoformat()})"
                )
                raise DateOutOfOrder(msg, field="on", value=on.isoformat())
            effective = end
        else:
            if effective_on is None:
                msg = "a termination by notice states its effective date"
                raise DomainRuleViolation(msg, field="effective_on", value=None)
            earliest = add_months(on, notice) if notice else on
            if effective_on < earliest or effective_on > end:
                msg = (
                    f"termination effective on {effective_on.isoformat()} must fall within "
                    f"{earliest.isoformat()}..{end.isoformat()} (notice then the current term)"
                )
                raise DateOutOfOrder(msg, field="effective_on", value=effective_on.isoformat())
            effective = effective_on
        termination = Termination(kind, on, effective, reason)
        self._terminated(termination=termination)
        return termination

    @event("Terminated")
    def _terminated(self, termination: Termination) -> None:
        self.termination = termination


def _check_unique(name: str, keys: list[str], key: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(keys):
        if value in seen:
            msg = f"{name}: {key} {value!r} appears twice"
            raise InvalidValue(msg, field=f"{name}.{index}.{key}", value=value)
        seen.add(value)


def _article_key(number: str) -> tuple[tuple[int, str], ...]:
    """Sort "2", "2.1", "10" as numbers where they are numbers; words ("Préambule") first."""
    return tuple((int(part), "") if part.isdigit() else (-1, part) for part in number.split("."))
