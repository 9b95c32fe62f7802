# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Retention obligations of a convention and the monitoring calendar (RULES.md §4).

The Occitanie deliberation AP/2022-11/03 of 25 November 2022 (SRDEII 2022-2028,
Action 27, "Clauses de remboursement des aides versées",
002_8b3eb659ad96bcac.txt L3412-3448) requires every convention to keep the aided
jobs, investments and activity on the aided site for given periods. This module
turns a convention's terms into dated obligation windows O1..O7, describes the
monitoring facts that may breach them, and computes the headcount declaration
calendar. It is pure: no clock, no I/O; every function takes its dates.

Choices where RULES.md §4 leaves room (aidflow defaults, documented here):

* **Windows** are inclusive at both ends. O6 ("programme") runs from
  ``programme_start`` to ``programme_end``, both included.
* **Declaration calendar**: the k-th anniversary is ``add_years(programme_end, k)``
  computed from ``programme_end`` itself (never chained, so 29 February does not
  drift to 28 February for good), for k = 1, 2, … while the anniversary is on or
  before the O2 window end. The last anniversary is therefore the O2 ``until``
  itself; its declaration is still due, even though ``due_by`` falls after the
  window. ``due_by`` is ``add_months(anniversary, 3)`` (month-end clamped).
* A declaration **satisfies** an anniversary when it is dated within
  ``[anniversary, due_by]``, both included, and on or before the evaluation date
  (a declaration dated after ``on`` is not yet known). The three-month periods never
  overlap, so one declaration satisfies at most one anniversary. A declaration made
  before the anniversary satisfies nothing: it is information.
* States at ``on``: ``made`` (satisfied), ``upcoming`` (``on`` < anniversary),
  ``due`` (anniversary ≤ ``on`` ≤ ``due_by``, not yet made), ``overdue``
  (``on`` > ``due_by``, never made). Overdue is an alert, not a breach.

Not modelled here: amendments (the caller passes the amended terms), the
calculation of amounts (see :mod:`aidflow.domain.clawback`), declarations other
than headcount (e.g. investment inventories), and the Region's checks on site.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from attrs import Attribute, field, frozen

from aidflow.domain.dates import add_months, add_years
from aidflow.domain.errors import InvalidValue
from aidflow.domain.values import CompanySize, LegalReference, Money, as_date, optional_money, to_money

SOURCE_FILE = "002_8b3eb659ad96bcac.txt"
"""The seed file holding deliberation AP/2022-11/03 (line numbers below refer to it)."""

DELIBERATION = "Délibération AP/2022-11/03 — SRDEII, Action 27"
"""Title of the legal basis of every obligation (plenary assembly of 25 November 2022)."""

SME_RETENTION_YEARS = 3
"""O1/O2 after the programme for PME (micro, small, medium): "3 ans … pour les PME" (L3420-3424)."""

NON_SME_RETENTION_YEARS = 5
"""O1/O2 after the programme for ETI and large companies: "5 ans pour les ETI et les Grandes
Entreprises" (L3420-3424)."""

ACTIVITY_YEARS = 8
"""O3 (and aidflow's default for O4, O5, O7): "8 ans à compter de la date de signature" (L3424-3428)."""

DECLARATION_GRACE_MONTHS = 3
"""aidflow default: a yearly headcount declaration is due within 3 months of each anniversary."""


def source(lines: str) -> LegalReference:
    """Cite line range ``lines`` (e.g. ``"L3420-3424"``) of the deliberation AP/2022-11/03."""
    return LegalReference(DELIBERATION, article=f"{SOURCE_FILE} {lines}")


# ------------------------------------------------------------------ obligations


class ObligationId(StrEnum):
    """The seven retention obligations of RULES.md §4."""

    O1 = "O1"
    O2 = "O2"
    O3 = "O3"
    O4 = "O4"
    O5 = "O5"
    O6 = "O6"
    O7 = "O7"


class Wording(StrEnum):
    """How the source words the consequence of a breach.

    ``mandatory``: "devront" / "conduira" — repayment follows from the breach.
    ``discretionary``: "pourra" — the Region decides whether, and how much, to claw back.
    """

    MANDATORY = "mandatory"
    DISCRETIONARY = "discretionary"


def _references(values: Iterable[LegalReference]) -> tuple[LegalReference, ...]:
    refs = tuple(values)
    if not refs:
        msg = "an obligation needs at least one legal reference"
        raise InvalidValue(msg, field="references", value=refs)
    return refs


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@frozen
class Obligation:
    """One retention obligation as data: what it requires, its wording and its legal basis.

    Attributes:
        id: O1..O7.
        description: what the beneficiary must do, in English.
        wording: mandatory or discretionary consequence of a breach.
        lines: the source line range, e.g. ``"L3420-3424"`` (used in explanations).
        references: at least one legal citation.
        innovation_only: applies only to conventions under an innovation scheme.
        unmodelled: conditions of the source that aidflow does not check.
    """

    id: ObligationId = field(converter=ObligationId)
    description: str
    wording: Wording = field(converter=Wording)
    lines: str
    references: tuple[LegalReference, ...] = field(converter=_references)
    innovation_only: bool = False
    unmodelled: tuple[str, ...] = field(default=(), converter=_strings)


OBLIGATIONS: Mapping[ObligationId, Obligation] = MappingProxyType(
    {
        ObligationId.O1: Obligation(
            ObligationId.O1,
            "Keep the aided investments on the aided site during the programme and for 3 years "
            "after it (PME) or 5 years (ETI, large companies).",
            Wording.MANDATORY,
            "L3420-3424",
            (source("L3420-3424"),),
            unmodelled=(
                "which assets are 'aided' and their book value: the caller declares the value disposed of",
                "replacement of a disposed asset by an equivalent one on the site",
            ),
        ),
        ObligationId.O2: Obligation(
            ObligationId.O2,
            "Keep the aided jobs on the aided site during the programme and for 3 years after it "
            "(PME) or 5 years (ETI, large companies).",
            Wording.MANDATORY,
            "L3420-3424",
            (source("L3420-3424"),),
            unmodelled=(
                "FTE versus headcount: the declared figure is taken as given",
                "jobs between two declarations: only declared headcounts are known",
            ),
        ),
        ObligationId.O3: Obligation(
            ObligationId.O3,
            "Keep the activity on the aided site for 8 years from the signature of the convention.",
            Wording.MANDATORY,
            "L3424-3428",
            (source("L3424-3428"),),
            unmodelled=("partial reductions of activity short of cessation",),
        ),
        ObligationId.O4: Obligation(
            ObligationId.O4,
            "No capital operation affecting the control of the company (aidflow default period: "
            "8 years from signature).",
            Wording.DISCRETIONARY,
            "L3428-3432",
            (source("L3428-3432"),),
            unmodelled=("what amounts to 'control': the caller declares the operation",),
        ),
        ObligationId.O5: Obligation(
            ObligationId.O5,
            "No operation moving the supported establishment (aidflow default period: 8 years "
            "from signature).",
            Wording.DISCRETIONARY,
            "L3428-3432",
            (source("L3428-3432"),),
            unmodelled=("moves within the region are treated like any other move; the Region decides",),
        ),
        ObligationId.O6: Obligation(
            ObligationId.O6,
            "Innovation schemes: carry out the R&D programme only in establishments in Occitanie, "
            "only with the partners and subcontractors of the approved financing plan, with staff "
            "working in Occitanie.",
            Wording.DISCRETIONARY,
            "L3434-3442",
            (source("L3434-3442"),),
            innovation_only=True,
            unmodelled=(
                "the source states a commitment without a consequence: aidflow treats it as discretionary",
                "the share of R&D done outside the region: any declared instance is a breach",
            ),
        ),
        ObligationId.O7: Obligation(
            ObligationId.O7,
            "Innovation schemes: never renounce exploiting the results industrially in Occitanie "
            "nor hand their exploitation to a third party (aidflow default period: 8 years from "
            "signature).",
            Wording.MANDATORY,
            "L3442-3448",
            (source("L3442-3448"),),
            innovation_only=True,
            unmodelled=("the source sets no period: aidflow's default is 8 years from signature",),
        ),
    }
)
"""The obligation catalogue (RULES.md §4, deliberation AP/2022-11/03 L3412-3448)."""


# ------------------------------------------------------------------ terms and windows


def _non_negative_int(_instance: object, attribute: Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{attribute.name} must be a non-negative whole number, got {value!r}"
        raise InvalidValue(msg, field=attribute.name, value=value)


def _bool(_instance: object, attribute: Attribute[bool], value: bool) -> None:
    if not isinstance(value, bool):
        msg = f"{attribute.name} must be true or false, got {value!r}"
        raise InvalidValue(msg, field=attribute.name, value=value)


@frozen
class ConventionTerms:
    """What a convention fixes that the obligation windows depend on.

    Attributes:
        signed_on: date the convention was signed.
        size_at_signature: the company size recorded at signature; it alone decides
            the 3- or 5-year O1/O2 period (RULES.md §1).
        programme_start: start of the aided programme.
        programme_end: actual end once completion is recorded, else the planned end.
        jobs: jobs committed on the aided site.
        investment: total aided investment.
        innovation: the scheme is an innovation scheme (O6 and O7 apply).
    """

    signed_on: date = field(converter=as_date)
    size_at_signature: CompanySize = field(converter=CompanySize)
    programme_start: date = field(converter=as_date)
    programme_end: date = field(converter=as_date)
    jobs: int = field(validator=_non_negative_int)
    investment: Money = field(converter=to_money)
    innovation: bool = field(default=False, validator=_bool)

    def __attrs_post_init__(self) -> None:
        if self.programme_end < self.programme_start:
            msg = (
                f"programme_end {self.programme_end.isoformat()} is before programme_start "
                f"{self.programme_start.isoformat()}"
            )
            raise InvalidValue(msg, field="programme_end", value=self.programme_end.isoformat())

    @property
    def retention_years(self) -> int:
        """Years O1/O2 run after the programme: 3 for PME, 5 for ETI and large (L3420-3424)."""
        return SME_RETENTION_YEARS if self.size_at_signature.is_sme else NON_SME_RETENTION_YEARS


@frozen
class ObligationWindow:
    """The dated period during which one obligation binds, both ends included.

    Attributes:
        id: the obligation.
        start: first day bound.
        until: last day bound (``anchor + N years``).
        wording: mandatory or discretionary.
        references: the legal basis.
    """

    id: ObligationId
    start: date
    until: date
    wording: Wording
    references: tuple[LegalReference, ...]

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls within the window (both ends included)."""
        return self.start <= day <= self.until

    @property
    def days(self) -> int:
        """Days in the window, ``(until − start).days`` as RULES.md §4 counts them."""
        return (self.until - self.start).days

    @property
    def obligation(self) -> Obligation:
        """The catalogue entry of this window's obligation."""
        return OBLIGATIONS[self.id]


def _window(obligation: ObligationId, start: date, until: date) -> ObligationWindow:
    spec = OBLIGATIONS[obligation]
    return ObligationWindow(obligation, start, until, spec.wording, spec.references)


def obligation_windows(terms: ConventionTerms) -> tuple[ObligationWindow, ...]:
    """Return the windows of every obligation that applies to a convention, in O1..O7 order.

    RULES.md §4 table, deliberation AP/2022-11/03 L3420-3448:

    * O1, O2: ``programme_start`` → ``programme_end`` + 3 years (micro, small, medium)
      or + 5 years (ETI, large), by the size at signature (L3420-3424).
    * O3: ``signed_on`` → + 8 years (L3424-3428).
    * O4, O5: ``signed_on`` → + 8 years, aidflow default; the source sets no period (L3428-3432).
    * O6: the programme, ``programme_start`` → ``programme_end``; innovation schemes only (L3434-3442).
    * O7: ``signed_on`` → + 8 years, aidflow default; innovation schemes only (L3442-3448).

    Years are added with :func:`aidflow.domain.dates.add_years` (29 February → 28 February).

    Not modelled: suspension or extension of a window by amendment other than through
    the amended ``programme_end`` the caller passes in.
    """
    retention_end = add_years(terms.programme_end, terms.retention_years)
    eight_years = add_years(terms.signed_on, ACTIVITY_YEARS)
    windows = [
        _window(ObligationId.O1, terms.programme_start, retention_end),
        _window(ObligationId.O2, terms.programme_start, retention_end),
        _window(ObligationId.O3, terms.signed_on, eight_years),
        _window(ObligationId.O4, terms.signed_on, eight_years),
        _window(ObligationId.O5, terms.signed_on, eight_years),
    ]
    if terms.innovation:
        windows.append(_window(ObligationId.O6, terms.programme_start, terms.programme_end))
        windows.append(_window(ObligationId.O7, terms.signed_on, eight_years))
    return tuple(windows)


def window_of(terms: ConventionTerms, obligation: ObligationId) -> ObligationWindow | None:
    """Return the window of ``obligation`` for these terms, or None if it does not apply."""
    for window in obligation_windows(terms):
        if window.id is obligation:
            return window
    return None


# ------------------------------------------------------------------ monitoring facts


class FactKind(StrEnum):
    """What monitoring may learn about an aided site (DOSSIER.md steps)."""

    HEADCOUNT = "headcount"
    INVESTMENT_DISPOSED = "investment_disposed"
    ACTIVITY_CEASED = "activity_ceased"
    RELOCATED = "relocated"
    CONTROL_CHANGED = "control_changed"
    RD_OUTSIDE_REGION = "rd_outside_region"
    EXPLOITATION_RENOUNCED = "exploitation_renounced"


FACT_OBLIGATION: Mapping[FactKind, ObligationId] = MappingProxyType(
    {
        FactKind.INVESTMENT_DISPOSED: ObligationId.O1,
        FactKind.HEADCOUNT: ObligationId.O2,
        FactKind.ACTIVITY_CEASED: ObligationId.O3,
        FactKind.CONTROL_CHANGED: ObligationId.O4,
        FactKind.RELOCATED: ObligationId.O5,
        FactKind.RD_OUTSIDE_REGION: ObligationId.O6,
        FactKind.EXPLOITATION_RENOUNCED: ObligationId.O7,
    }
)
"""The obligation each kind of fact bears on."""


def _optional_jobs(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"jobs must be a non-negative whole number, got {value!r}"
        raise InvalidValue(msg, field="jobs", value=value)
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


@frozen
class MonitoringFact:
    """A dated fact learnt while monitoring a convention.

    ``jobs`` is required for (and only for) a headcount declaration; ``value`` for
    (and only for) an investment disposal; ``destination`` is only meaningful for a
    relocation and is optional there.

    Attributes:
        kind: what happened.
        on: the business date it happened (or, for headcount, the declaration date).
        jobs: jobs on the aided site, for a headcount declaration.
        value: value of the aided assets disposed of or moved off site.
        destination: where the establishment moved, if known.
    """

    kind: FactKind = field(converter=FactKind)
    on: date = field(converter=as_date)
    jobs: int | None = field(default=None, converter=_optional_jobs)
    value: Money | None = field(default=None, converter=optional_money)
    destination: str | None = field(default=None, converter=_optional_text)

    def __attrs_post_init__(self) -> None:
        if (self.kind is FactKind.HEADCOUNT) != (self.jobs is not None):
            msg = f"jobs is required for a headcount declaration and only for it (kind {self.kind.value})"
            raise InvalidValue(msg, field="jobs", value=self.jobs)
        if (self.kind is FactKind.INVESTMENT_DISPOSED) != (self.value is not None):
            msg = f"value is required for an investment disposal and only for it (kind {self.kind.value})"
            raise InvalidValue(msg, field="value", value=None if self.value is None else str(self.value))
        if self.destination is not None and self.kind is not FactKind.RELOCATED:
            msg = f"destination is only meaningful for a relocation (kind {self.kind.value})"
            raise InvalidValue(msg, field="destination", value=self.destination)

    @property
    def obligation(self) -> ObligationId:
        """The obligation this fact bears on."""
        return FACT_OBLIGATION[self.kind]

    def sort_key(self) -> tuple[date, str, int, str, str]:
        """A total order on facts, so that results never depend on recording order."""
        return (
            self.on,
            self.kind.value,
            -1 if self.jobs is None else self.jobs,
            "" if self.value is None else f"{self.value.amount:020.2f}",
            self.destination or "",
        )


# ------------------------------------------------------------------ declaration calendar


class DeclarationState(StrEnum):
    """State of one yearly headcount declaration at an evaluation date."""

    MADE = "made"
    DUE = "due"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"


@frozen
class DueDeclaration:
    """One yearly headcount declaration of the monitoring calendar.

    Attributes:
        anniversary: the k-th anniversary of ``programme_end``.
        due_by: last day to declare (anniversary + 3 months).
        state: made, due, overdue or upcoming at the evaluation date.
        made_on: the date of the declaration that satisfied it, if any.
    """

    anniversary: date
    due_by: date
    state: DeclarationState
    made_on: date | None = None

    @property
    def is_overdue(self) -> bool:
        """An alert for the Region's services; never a breach by itself (RULES.md §4)."""
        return self.state is DeclarationState.OVERDUE


def declarations_due(
    terms: ConventionTerms, declared_on: Iterable[date], on: date
) -> tuple[DueDeclaration, ...]:
    """Return the yearly headcount declaration calendar and its state at ``on``.

    aidflow default (RULES.md §4, last bullet; the sources are silent): one headcount
    declaration per year after ``programme_end``, within 3 months of each anniversary,
    until the O2 window ends. See the module docstring for the exact inclusive bounds.

    Args:
        terms: the convention terms (amended ``programme_end`` if any).
        declared_on: dates of the headcount declarations received, in any order.
        on: the evaluation date; declarations dated after it are ignored.

    Not modelled: extensions granted by the Region, declarations of other figures.
    """
    known = sorted({day for day in declared_on if day <= on})
    window_end = add_years(terms.programme_end, terms.retention_years)
    calendar: list[DueDeclaration] = []
    year = 1
    while (anniversary := add_years(terms.programme_end, year)) <= window_end:
        due_by = add_months(anniversary, DECLARATION_GRACE_MONTHS)
        made_on = next((day for day in known if anniversary <= day <= due_by), None)
        if made_on is not None:
            state = DeclarationState.MADE
        elif on < anniversary:
            state = DeclarationState.UPCOMING
        elif on <= due_by:
            state = DeclarationState.DUE
        else:
            state = DeclarationState.OVERDUE
        calendar.append(DueDeclaration(anniversary, due_by, state, made_on))
        year += 1
    return tuple(calendar)
