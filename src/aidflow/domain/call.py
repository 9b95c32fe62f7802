# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Calls for projects (AAP) and for expressions of interest (AMI) (RULES.md §2 "Calls").

A call is published with its terms (:class:`CallTerms`): kind, title, theme, legal
basis, envelope, opening date and deadline, optional waves (levées) with their own
deadlines, strands (volets) with their own funding-rate bounds, the applicant kinds it
admits, its consortium rules, its priority criteria and its weighted selection
criteria. The :class:`Call` aggregate then records the candidacies it received and
the amounts it retained, so that **the retained total never exceeds the envelope**
(nor a wave's own envelope): both are checked on the aggregate that owns the
envelope, under optimistic concurrency.

Sources: the AMI « Compétences et métiers d'avenir » (waves, strands, leads, maximum
subsidies, derived funding rates: ``seeds-000-001-003-004.md §2.1``,
``000_bd90f8cde4530014.txt L1017-1040``); consortia of regional SMEs, academic
research and digital firms (``002_8b3eb659ad96bcac.txt L21936-21940``); calls
addressing « en priorité les PME situées hors des métropoles »
(``002_8b3eb659ad96bcac.txt L2260-2262``); the generic call lifecycle
(``seeds-000-001-003-004.md §2.4``).

Rates are never stored for a project: they are derived from stored amounts
(``seeds-000-001-003-004.md §2.1``: "store both amounts and derive the rate"). Only
a strand's *bounds* are rates, because they are the rule itself.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from attrs import Attribute, field, frozen
from eventsourcing.domain import Aggregate, event

from aidflow.domain.errors import (
    CeilingExceeded,
    DateOutOfOrder,
    DomainRuleViolation,
    InvalidTransition,
    InvalidValue,
)
from aidflow.domain.identity import call_id
from aidflow.domain.values import (
    BeneficiaryKind,
    CompanyFigures,
    CompanySize,
    LegalReference,
    Money,
    Siren,
    Siret,
    _department,
    _optional_figures,
    _optional_siren,
    _optional_siret,
    as_date,
    optional_money,
    to_money,
)

OCCITANIE_DEPARTMENTS = frozenset(
    ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82")
)
"""The 13 départements of the Occitanie region (RULES.md §1 "regional"; used by
``in_region`` consortium requirements)."""

ONE = Decimal(1)
ZERO = Decimal(0)


# ------------------------------------------------------------------ errors


class DeadlinePassed(DateOutOfOrder):
    """A candidacy (or an amendment) arrived after its wave's deadline, or before the call opened."""


class CompositionRefused(DomainRuleViolation):
    """The candidacy's members break the call's admission or consortium rules.

    Attributes:
        failures: every failing rule (not just the first), as :class:`RuleFailure`.
    """

    def __init__(self, failures: Sequence[RuleFailure]) -> None:
        first = failures[0]
        lines = "; ".join(f"{f.field}: {f.message}" for f in failures)
        super().__init__(
            f"{len(failures)} consortium rule(s) not met: {lines}", field=first.field, value=first.value
        )
        self.failures = tuple(failures)


class RateOutOfBounds(DomainRuleViolation):
    """An aid amount divided by the project budget falls outside the strand's rate bounds."""


class EnvelopeExceeded(CeilingExceeded):
    """Retaining this amount would take the call (or a wave) over its envelope."""


@frozen
class RuleFailure:
    """One failing admission or consortium rule: which rule, which input field, which value."""

    rule: str
    field: str
    value: Any
    message: str


# ------------------------------------------------------------- converters


def _tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(values)


def _kinds(values: Iterable[Any]) -> tuple[BeneficiaryKind, ...]:
    return tuple(BeneficiaryKind(v) for v in values)


def _sizes(values: Iterable[Any]) -> tuple[CompanySize, ...]:
    return tuple(CompanySize(v) for v in values)


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        msg = f"expected a decimal number, got {type(value).__name__} {value!r}"
        raise InvalidValue(msg, field="rate", value=value)
    try:
        number = Decimal(value)
    except ArithmeticError:
        msg = f"{value!r} is not a decimal number"
        raise InvalidValue(msg, field="rate", value=value) from None
    if not number.is_finite():
        msg = f"{value!r} is not a finite number"
        raise InvalidValue(msg, field="rate", value=value)
    return number


def _optional_size(value: object) -> CompanySize | None:
    return None if value is None else CompanySize(str(value))


def _optional_department(value: object) -> str | None:
    return None if value is None else _department(value)


def _nonempty(_instance: object, attribute: Attribute[str], value: str) -> None:
    if not value.strip():
        msg = f"{attribute.name} must not be empty"
        raise InvalidValue(msg, field=attribute.name, value=value)


def _fold(text: str) -> str:
    """Commune names compare without case, accents or hyphen/space differences."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("-", " ").replace("'", " ").split())


def rate(aid: Money, budget: Money) -> Decimal | None:
    """The funding rate ``aid / budget`` as an exact Decimal, or None for a zero budget.

    Derived, never stored (``seeds-000-001-003-004.md §2.1``: the published rates are
    rounded inconsistently — UNITEID 57,47 % shown as 57 %).
    """
    if budget.is_zero():
        return None
    return aid.amount / budget.amount


def percent(value: Decimal | None) -> Decimal | None:
    """A rate as a percentage with 2 decimal places, for display only."""
    return None if value is None else (value * 100).quantize(Decimal("0.01"))


# ------------------------------------------------------------ call terms


@frozen
class Wave:
    """A wave (levée, vague): candidacies of the wave are received until ``deadline`` included.

    A wave opens the day after the previous wave's deadline (the first one when the
    call opens). ``envelope``, when set, caps the amount retained in this wave (the
    2nd CMA wave: 345 M€ nationally, ``000_bd90f8cde4530014.txt L1006``).
    """

    code: str = field(validator=_nonempty)
    label: str = field(validator=_nonempty)
    deadline: date = field(converter=as_date)
    envelope: Money | None = field(default=None, converter=optional_money)


@frozen
class Strand:
    """A strand (volet) with its own funding-rate bounds, as fractions in [0, 1].

    The CMA has « Diagnostics » and « Dispositif de formation »
    (``000_bd90f8cde4530014.txt L1017``); the AAP Tiers-lieux « socle » and
    « expérimental » (``003_cd9f63ca068f130c.txt L2451-2468``).
    """

    code: str = field(validator=_nonempty)
    title: str = field(validator=_nonempty)
    min_rate: Decimal = field(default=ZERO, converter=_decimal)
    max_rate: Decimal = field(default=ONE, converter=_decimal)

    def __attrs_post_init__(self) -> None:
        if not ZERO <= self.min_rate <= self.max_rate <= ONE:
            msg = (
                f"strand {self.code} rate bounds must satisfy 0 ≤ min ≤ max ≤ 1, "
                f"got {self.min_rate} and {self.max_rate}"
            )
            raise InvalidValue(msg, field="max_rate", value=str(self.max_rate))

    def check_rate(self, what: str, aid: Money, budget: Money, field_name: str) -> None:
        """Raise RateOutOfBounds unless ``aid / budget`` lies within the strand's bounds."""
        derived = rate(aid, budget)
        if derived is None:
            msg = f"the project budget is zero: no funding rate can be derived for {what} {aid}"
            raise RateOutOfBounds(msg, field=field_name, value=str(aid))
        if not self.min_rate <= derived <= self.max_rate:
            msg = (
                f"{what} {aid} on a budget of {budget} is a funding rate of {percent(derived)} %, "
                f"outside strand {self.code}'s bounds {percent(self.min_rate)} %–{percent(self.max_rate)} %"
            )
            raise RateOutOfBounds(msg, field=field_name, value=str(aid))


@frozen
class Admission:
    """Which applicants a call admits: beneficiary kinds, and company sizes (empty: any size)."""

    kinds: tuple[BeneficiaryKind, ...] = field(converter=_kinds)
    company_sizes: tuple[CompanySize, ...] = field(default=(), converter=_sizes)

    def __attrs_post_init__(self) -> None:
        if not self.kinds:
            msg = "a call must admit at least one applicant kind"
            raise InvalidValue(msg, field="admission.kinds", value=[])


@frozen
class MemberRequirement:
    """A kind of member a consortium must include, e.g. « a regional SME » or « a research lab ».

    A member matches when its kind is one of ``kinds``, its size one of ``sizes``
    (empty: any size; a company whose size is unknown does not match a sized
    requirement), its declared role one of ``roles`` (empty: any role; e.g. « ESN »)
    and, if ``in_region``, its site is in an Occitanie département.
    Source: « des consortiums réunissant autour des TPE-PME régionales des compétences
    clés portées par des acteurs de la recherche académiques et des Entreprises de
    Services du Numérique » (``002_8b3eb659ad96bcac.txt L21936-21938``).
    """

    label: str = field(validator=_nonempty)
    kinds: tuple[BeneficiaryKind, ...] = field(converter=_kinds)
    sizes: tuple[CompanySize, ...] = field(default=(), converter=_sizes)
    in_region: bool = False
    at_least: int = 1
    roles: tuple[str, ...] = field(default=(), converter=_strings)

    def matches(self, member: Partner) -> bool:
        if member.kind not in self.kinds:
            return False
        if self.sizes and member.effective_size not in self.sizes:
            return False
        if self.roles and _fold(member.role) not in {_fold(r) for r in self.roles}:
            return False
        return not self.in_region or member.in_region


@frozen
class ConsortiumRules:
    """How a candidacy must be composed: member counts, the lead, and required member kinds.

    The lead (chef de file) is member 0; ``min_members``/``max_members`` count the
    lead too. Defaults admit a single applicant.
    """

    min_members: int = 1
    max_members: int | None = None
    lead_kinds: tuple[BeneficiaryKind, ...] = field(default=(), converter=_kinds)
    lead_in_region: bool = False
    required: tuple[MemberRequirement, ...] = field(default=(), converter=_tuple)

    def __attrs_post_init__(self) -> None:
        if self.min_members < 1 or (self.max_members is not None and self.max_members < self.min_members):
            msg = f"member counts must satisfy 1 ≤ min ≤ max, got {self.min_members} and {self.max_members}"
            raise InvalidValue(msg, field="consortium.max_members", value=self.max_members)


@frozen
class PriorityCriterion:
    """A priority the call gives some projects, e.g. SMEs outside the two metropolises.

    Met when at least one member of the given kinds and sizes (empty: any) has its site
    in a commune that is *not* listed in ``outside_communes``. Source: « adresser en
    priorité les PME situées hors des métropoles » (``002_8b3eb659ad96bcac.txt
    L2260-2262``, SRESRI A14 L12141-12145). The call lists the communes (the
    metropolises' member communes), so that the rule needs no territorial register.
    """

    code: str = field(validator=_nonempty)
    label: str = field(validator=_nonempty)
    outside_communes: tuple[str, ...] = field(converter=_strings)
    kinds: tuple[BeneficiaryKind, ...] = field(default=(), converter=_kinds)
    sizes: tuple[CompanySize, ...] = field(default=(), converter=_sizes)

    def met_by(self, members: Sequence[Partner]) -> bool:
        excluded = {_fold(c) for c in self.outside_communes}
        for member in members:
            if self.kinds and member.kind not in self.kinds:
                continue
            if self.sizes and member.effective_size not in self.sizes:
                continue
            if member.commune is not None and _fold(member.commune) not in excluded:
                return True
        return False


@frozen
class SelectionCriterion:
    """A selection criterion with its weight (a positive Decimal); scores go from 0 to the call's max."""

    code: str = field(validator=_nonempty)
    label: str = field(validator=_nonempty)
    weight: Decimal = field(converter=_decimal)

    def __attrs_post_init__(self) -> None:
        if self.weight <= 0:
            msg = f"criterion {self.code} weight must be positive, got {self.weight}"
            raise InvalidValue(msg, field="weight", value=str(self.weight))


class CallKind(StrEnum):
    """AMI (appel à manifestation d'intérêt) or AAP (appel à projets) (``seeds-000-001-003-004.md §6.2``)."""

    AMI = "AMI"
    AAP = "AAP"


def _unique(what: str, codes: Sequence[str]) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            msg = f"{what} code {code!r} appears twice"
            raise InvalidValue(msg, field=what, value=code)
        seen.add(code)


@frozen
class CallTerms:
    """Everything a call publishes. Waves are in deadline order, each within the call's dates.

    ``scheme_code`` names the catalogue scheme under which retained projects' funded
    partners apply (lineage, ADR 0006); None for a call whose winners are not funded
    through a regional aid application (the State's AMI CMA).
    """

    kind: CallKind = field(converter=CallKind)
    title: str = field(validator=_nonempty)
    theme: str = field(validator=_nonempty)
    legal_basis: tuple[LegalReference, ...] = field(converter=_tuple)
    envelope: Money = field(converter=to_money)
    opens_on: date = field(converter=as_date)
    deadline: date = field(converter=as_date)
    strands: tuple[Strand, ...] = field(converter=_tuple)
    admission: Admission
    waves: tuple[Wave, ...] = field(default=(), converter=_tuple)
    consortium: ConsortiumRules = field(factory=ConsortiumRules)
    priorities: tuple[PriorityCriterion, ...] = field(default=(), converter=_tuple)
    criteria: tuple[SelectionCriterion, ...] = field(default=(), converter=_tuple)
    max_score: Decimal = field(default=Decimal(20), converter=_decimal)
    scheme_code: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.legal_basis:
            msg = "a call needs at least one legal reference"
            raise InvalidValue(msg, field="legal_basis", value=[])
        if not self.strands:
            msg = "a call needs at least one strand (volet)"
            raise InvalidValue(msg, field="strands", value=[])
        if self.envelope.is_zero():
            msg = "a call's envelope must be positive"
            raise InvalidValue(msg, field="envelope", value=str(self.envelope))
        if self.deadline < self.opens_on:
            msg = f"deadline {self.deadline.isoformat()} is before the opening {self.opens_on.isoformat()}"
            raise InvalidValue(msg, field="deadline", value=self.deadline.isoformat())
        if self.max_score <= 0:
            msg = f"max_score must be positive, got {self.max_score}"
            raise InvalidValue(msg, field="max_score", value=str(self.max_score))
        _unique("waves", [w.code for w in self.waves])
        _unique("strands", [s.code for s in self.strands])
        _unique("criteria", [c.code for c in self.criteria])
        _unique("priorities", [p.code for p in self.priorities])
        previous = None
        for index, wave in enumerate(self.waves):
            if not self.opens_on <= wave.deadline <= self.deadline:
                msg = (
                    f"wave {wave.code} deadline {wave.deadline.isoformat()} is outside the call's "
                    f"dates {self.opens_on.isoformat()} – {self.deadline.isoformat()}"
                )
                raise InvalidValue(msg, field=f"waves[{index}].deadline", value=wave.deadline.isoformat())
            if previous is not None and wave.deadline <= previous:
                msg = f"wave {wave.code} deadline {wave.deadline.isoformat()} is not after the previous one"
                raise InvalidValue(msg, field=f"waves[{index}].deadline", value=wave.deadline.isoformat())
            previous = wave.deadline

    # ------------------------------------------------------------ lookups

    def wave(self, code: str | None) -> Wave | None:
        """The wave of that code; None for a call without waves. Raises for an unknown code."""
        if not self.waves:
            if code is not None:
                msg = f"this call has no waves, but wave {code!r} was given"
                raise InvalidValue(msg, field="wave", value=code)
            return None
        if code is None:
            known = ", ".join(w.code for w in self.waves)
            msg = f"this call has waves: name one ({known})"
            raise InvalidValue(msg, field="wave", value=None)
        for wave in self.waves:
            if wave.code == code:
                return wave
        known = ", ".join(w.code for w in self.waves)
        msg = f"unknown wave {code!r} (waves: {known})"
        raise InvalidValue(msg, field="wave", value=code)

    def strand(self, code: str) -> Strand:
        for strand in self.strands:
            if strand.code == code:
                return strand
        known = ", ".join(s.code for s in self.strands)
        msg = f"unknown strand {code!r} (strands: {known})"
        raise InvalidValue(msg, field="strand", value=code)

    def window(self, wave_code: str | None) -> tuple[date, date]:
        """The days (both included) in which a candidacy of this wave may be submitted or amended."""
        wave = self.wave(wave_code)
        if wave is None:
            return self.opens_on, self.deadline
        index = self.waves.index(wave)
        start = self.opens_on if index == 0 else self.waves[index - 1].deadline + timedelta(days=1)
        return start, wave.deadline

    def deadline_of(self, wave_code: str | None) -> date:
        return self.window(wave_code)[1]

    # ------------------------------------------------------------- checks

    def check_within_window(self, wave_code: str | None, on: date, action: str) -> None:
        """Raise DeadlinePassed unless ``on`` is inside the wave's window (deadline included)."""
        start, end = self.window(wave_code)
        wave = f"wave {wave_code}" if wave_code else "the call"
        if on > end:
            msg = f"cannot {action} on {on.isoformat()}: the deadline of {wave} was {end.isoformat()}"
            raise DeadlinePassed(msg, field="on", value=on.isoformat())
        if on < start:
            msg = f"cannot {action} on {on.isoformat()}: {wave} opens on {start.isoformat()}"
            raise DeadlinePassed(msg, field="on", value=on.isoformat())

    def check_decision_date(self, wave_code: str | None, on: date, action: str) -> None:
        """Scores and decisions come after the wave's deadline (candidacies are amendable until then)."""
        deadline = self.deadline_of(wave_code)
        if on < deadline:
            wave = f"wave {wave_code}" if wave_code else "the call"
            msg = (
                f"cannot {action} on {on.isoformat()}, before the deadline of {wave} "
                f"({deadline.isoformat()})"
            )
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())

    def composition_failures(self, members: Sequence[Partner]) -> list[RuleFailure]:
        """Every admission and consortium rule the members break (member 0 is the lead)."""
        failures: list[RuleFailure] = []
        for index, member in enumerate(members):
            where = member_field(index)
            if member.kind not in self.admission.kinds:
                admitted = ", ".join(k.value for k in self.admission.kinds)
                failures.append(RuleFailure(
                    "admission.kinds", f"{where}.kind", member.kind.value,
                    f"{member.name}: applicant kind {member.kind.value!r} is not admitted "
                    f"(admitted: {admitted})",
                ))
            elif member.kind is BeneficiaryKind.COMPANY and self.admission.company_sizes:
                size = member.effective_size
                if size not in self.admission.company_sizes:
                    admitted = ", ".join(s.value for s in self.admission.company_sizes)
                    shown = size.value if size else "unknown"
                    failures.append(RuleFailure(
                        "admission.company_sizes", f"{where}.size", size.value if size else None,
                        f"{member.name}: company size {shown} is not admitted (admitted: {admitted})",
                    ))
        rules = self.consortium
        count = len(members)
        if count < rules.min_members or (rules.max_members is not None and count > rules.max_members):
            bounds = f"at least {rules.min_members}" + (
                f" and at most {rules.max_members}" if rules.max_members is not None else ""
            )
            failures.append(RuleFailure(
                "consortium.members", "partners", count,
                f"the consortium has {count} member(s), lead included; the call requires {bounds}",
            ))
        lead = members[0]
        if rules.lead_kinds and lead.kind not in rules.lead_kinds:
            allowed = ", ".join(k.value for k in rules.lead_kinds)
            failures.append(RuleFailure(
                "consortium.lead_kinds", "lead.kind", lead.kind.value,
                f"the lead {lead.name} is a {lead.kind.value}; the lead must be one of: {allowed}",
            ))
        if rules.lead_in_region and not lead.in_region:
            failures.append(RuleFailure(
                "consortium.lead_in_region", "lead.department", lead.department,
                f"the lead {lead.name} must be located in Occitanie (département "
                f"{lead.department or 'not given'})",
            ))
        for requirement in rules.required:
            found = sum(1 for m in members if requirement.matches(m))
            if found < requirement.at_least:
                failures.append(RuleFailure(
                    "consortium.required", "partners", requirement.label,
                    f"the consortium needs at least {requirement.at_least} {requirement.label}, has {found}",
                ))
        return failures

    def priorities_met(self, members: Sequence[Partner]) -> tuple[str, ...]:
        return tuple(p.code for p in self.priorities if p.met_by(members))


def member_field(index: int) -> str:
    """The input field of member ``index``: ``lead`` for 0, else ``partners[index - 1]``."""
    return "lead" if index == 0 else f"partners[{index - 1}]"


# --------------------------------------------------------------- members


@frozen
class Partner:
    """A member of a candidacy: the lead (chef de file, member 0) or a partner.

    Carries the member's share of the project budget and of the requested aid
    (``seeds-000-001-003-004.md §2.1``: « Budget global », « subvention maximum »).
    ``siren``, ``siret`` and ``figures`` are optional at candidacy time (the CMA
    sources name only the lead); opening the member's aid application later needs
    what the scheme needs. ``size`` may be declared; with ``figures`` the size is
    derived from them and must agree with any declared size.
    """

    name: str = field(validator=_nonempty)
    kind: BeneficiaryKind = field(converter=BeneficiaryKind)
    budget: Money = field(converter=to_money)
    requested: Money = field(converter=to_money)
    role: str = "partner"
    siren: Siren | None = field(default=None, converter=_optional_siren)
    siret: Siret | None = field(default=None, converter=_optional_siret)
    size: CompanySize | None = field(default=None, converter=_optional_size)
    figures: CompanyFigures | None = field(default=None, converter=_optional_figures)
    commune: str | None = None
    department: str | None = field(default=None, converter=_optional_department)
    jobs: int = 0

    def __attrs_post_init__(self) -> None:
        if self.requested > self.budget:
            msg = f"{self.name}: requested aid {self.requested} exceeds its budget share {self.budget}"
            raise InvalidValue(msg, field="requested", value=str(self.requested))
        if self.siret is not None and self.siren is not None and self.siret.siren != self.siren:
            msg = f"SIRET {self.siret} does not start with the SIREN {self.siren}"
            raise InvalidValue(msg, field="siret", value=str(self.siret))
        if self.figures is not None and self.size is not None and self.figures.size is not self.size:
            msg = (
                f"declared size {self.size.value} disagrees with the figures "
                f"(size {self.figures.size.value})"
            )
            raise InvalidValue(msg, field="size", value=self.size.value)
        if self.jobs < 0:
            msg = f"jobs must not be negative, got {self.jobs}"
            raise InvalidValue(msg, field="jobs", value=self.jobs)

    @property
    def effective_size(self) -> CompanySize | None:
        return self.figures.size if self.figures is not None else self.size

    @property
    def in_region(self) -> bool:
        return self.department in OCCITANIE_DEPARTMENTS


def weighted_score(criteria: Sequence[SelectionCriterion], scores: Sequence[CriterionScore]) -> Decimal:
    """Σ weight × score ÷ Σ weight, on the call's score scale, exact (derived, never stored)."""
    by_code = {s.criterion: s.score for s in scores}
    total_weight = sum((c.weight for c in criteria), ZERO)
    weighted = sum((c.weight * by_code.get(c.code, ZERO) for c in criteria), ZERO)
    return weighted / total_weight if total_weight else ZERO


@frozen
class CriterionScore:
    """The score a jury gave a candidacy on one criterion."""

    criterion: str
    score: Decimal = field(converter=_decimal)


# ------------------------------------------------------------------ call


class Call(Aggregate):
    """A call for projects (AAP) or for expressions of interest (AMI).

    Records its published terms, the candidacies it received (by project reference
    and wave) and the amounts it retained. Retention is checked here, where the
    envelope lives: **the retained total never exceeds the envelope**, nor the
    retained total of a wave its wave envelope.
    """

    @staticmethod
    def create_id(code: str) -> UUID:
        return call_id(code)

    @event("Published")
    def __init__(self, code: str, terms: CallTerms, published_on: date) -> None:
        self.code = code
        self.terms = terms
        self.published_on = published_on
        self.received: dict[str, str | None] = {}
        self.received_on: dict[str, date] = {}
        self.retained: dict[str, Money] = {}
        self.retained_on: dict[str, date] = {}

    # ------------------------------------------------------------------ queries

    @property
    def retained_total(self) -> Money:
        return Money.total(self.retained.values())

    def retained_in_wave(self, wave_code: str | None) -> Money:
        return Money.total(a for p, a in self.retained.items() if self.received.get(p) == wave_code)

    @property
    def remaining(self) -> Money:
        return self.terms.envelope.minus_floor_zero(self.retained_total)

    # ----------------------------------------------------------------- commands

    def receive(self, project: str, wave_code: str | None, on: date) -> None:
        """Register a candidacy of ``wave_code`` submitted on ``on`` (refused after the deadline)."""
        if project in self.received:
            msg = f"project {project!r} already applied to call {self.code}"
            raise InvalidTransition(msg, field="project", value=project)
        self.terms.check_within_window(wave_code, on, "submit a candidacy")
        self._candidacy_received(project=project, wave=wave_code, on=on)

    @event("CandidacyReceived")
    def _candidacy_received(self, project: str, wave: str | None, on: date) -> None:
        self.received[project] = wave
        self.received_on[project] = on

    def commit(self, project: str, amount: Money, on: date) -> None:
        """Retain ``amount`` for ``project``: raises EnvelopeExceeded rather than go over an envelope."""
        if project not in self.received:
            msg = f"project {project!r} did not apply to call {self.code}"
            raise InvalidTransition(msg, field="project", value=project)
        if project in self.retained:
            msg = f"project {project!r} is already retained by call {self.code}"
            raise InvalidTransition(msg, field="project", value=project)
        wave_code = self.received[project]
        self.terms.check_decision_date(wave_code, on, "retain a project")
        total = self.retained_total + amount
        if total > self.terms.envelope:
            msg = (
                f"retaining {amount} would bring call {self.code}'s retained total to {total}, "
                f"over its envelope {self.terms.envelope} (remaining {self.remaining})"
            )
            raise EnvelopeExceeded(msg, field="granted", value=str(amount))
        wave = self.terms.wave(wave_code)
        if wave is not None and wave.envelope is not None:
            in_wave = self.retained_in_wave(wave_code) + amount
            if in_wave > wave.envelope:
                msg = (
                    f"retaining {amount} would bring wave {wave.code}'s retained total to {in_wave}, "
                    f"over the wave's envelope {wave.envelope}"
                )
                raise EnvelopeExceeded(msg, field="granted", value=str(amount))
        self._project_retained(project=project, amount=amount, on=on)

    @event("ProjectRetained")
    def _project_retained(self, project: str, amount: Money, on: date) -> None:
        self.retained[project] = amount
        self.retained_on[project] = on
