"""The aid scheme (dispositif) aggregate (RULES.md §2)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from uuid import UUID

from attrs import field, frozen
from eventsourcing.domain import Aggregate, event

from aidflow.domain.errors import (
    CeilingExceeded,
    DateOutOfOrder,
    DomainRuleViolation,
    InvalidTransition,
    InvalidValue,
    NotAdmitted,
)
from aidflow.domain.identity import scheme_id
from aidflow.domain.values import (
    AwardSplit,
    Beneficiary,
    BeneficiaryKind,
    CompanySize,
    Instrument,
    LegalReference,
    Money,
    StateAidRegime,
    optional_money,
)


def _instruments(values: Iterable[Any]) -> tuple[Instrument, ...]:
    return tuple(Instrument(v) for v in values)


def _kinds(values: Iterable[Any]) -> tuple[BeneficiaryKind, ...]:
    return tuple(BeneficiaryKind(v) for v in values)


def _sizes(values: Iterable[Any]) -> tuple[CompanySize, ...]:
    return tuple(CompanySize(v) for v in values)


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _refs(values: Iterable[LegalReference]) -> tuple[LegalReference, ...]:
    return tuple(values)


def _ceilings(values: Iterable[InstrumentCeiling]) -> tuple[InstrumentCeiling, ...]:
    return tuple(values)


@frozen
class InstrumentCeiling:
    """The most a scheme may award through one instrument (e.g. CEA: grant ≤ 200 000 €)."""

    instrument: Instrument = field(converter=Instrument)
    ceiling: Money


@frozen
class SchemeTerms:
    """Everything about a scheme that an amendment may change, as in force from a date.

    Ceilings are hard caps on every award; ``staff_below`` is a scheme's own headcount
    threshold besides the size classes (Pass transformation écologique: fewer than 20
    staff, 002_8b3eb659ad96bcac.txt L473).
    """

    instruments: tuple[Instrument, ...] = field(converter=_instruments)
    admitted_kinds: tuple[BeneficiaryKind, ...] = field(converter=_kinds)
    legal_basis: tuple[LegalReference, ...] = field(converter=_refs)
    regime: StateAidRegime = field(converter=StateAidRegime)
    ceiling: Money | None = field(default=None, converter=optional_money)
    minimum: Money | None = field(default=None, converter=optional_money)
    instrument_ceilings: tuple[InstrumentCeiling, ...] = field(default=(), converter=_ceilings)
    admitted_sizes: tuple[CompanySize, ...] = field(default=(), converter=_sizes)
    staff_below: int | None = None
    innovation: bool = False
    for_firms_in_difficulty: bool = False
    gber_article: str | None = None
    ambitions: tuple[str, ...] = field(default=(), converter=_strings)
    self_diagnosis_exempt_kinds: tuple[BeneficiaryKind, ...] = field(
        default=(BeneficiaryKind.PUBLIC_BODY, BeneficiaryKind.RESEARCH_ORGANISATION),
        converter=_kinds,
    )
    notes: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.instruments:
            msg = "a scheme needs at least one instrument"
            raise InvalidValue(msg, field="instruments", value=[])
        if not self.admitted_kinds:
            msg = "a scheme must admit at least one beneficiary kind"
            raise InvalidValue(msg, field="admitted_kinds", value=[])
        if not self.legal_basis:
            msg = "a scheme needs at least one legal reference"
            raise InvalidValue(msg, field="legal_basis", value=[])

    def instrument_ceiling(self, instrument: Instrument) -> Money | None:
        for row in self.instrument_ceilings:
            if row.instrument is instrument:
                return row.ceiling
        return None

    def check_admits(self, beneficiary: Beneficiary) -> None:
        """Raise NotAdmitted if the scheme does not admit this beneficiary."""
        if beneficiary.kind not in self.admitted_kinds:
            admitted = ", ".join(k.value for k in self.admitted_kinds)
            msg = f"beneficiary kind {beneficiary.kind.value!r} is not admitted (admitted: {admitted})"
            raise NotAdmitted(msg, field="beneficiary.kind", value=beneficiary.kind.value)
        size = beneficiary.size
        if size is not None and self.admitted_sizes and size not in self.admitted_sizes:
            admitted = ", ".join(s.value for s in self.admitted_sizes)
            msg = f"company size {size.value!r} is not admitted (admitted: {admitted})"
            raise NotAdmitted(msg, field="beneficiary.size", value=size.value)
        if (
            self.staff_below is not None
            and beneficiary.figures is not None
            and beneficiary.figures.staff >= self.staff_below
        ):
            msg = (
                f"staff {beneficiary.figures.staff} is not below the scheme's threshold "
                f"of {self.staff_below}"
            )
            raise NotAdmitted(msg, field="beneficiary.staff", value=str(beneficiary.figures.staff))

    def check_award(self, split: AwardSplit) -> None:
        """Raise if an award split breaks the scheme's instruments or ceilings."""
        total = split.total
        for instrument, amount in split.nonzero().items():
            if instrument not in self.instruments:
                allowed = ", ".join(i.value for i in self.instruments)
                msg = f"instrument {instrument.value!r} is not offered by this scheme ({allowed})"
                raise NotAdmitted(msg, field=instrument.value, value=str(amount))
            cap = self.instrument_ceiling(instrument)
            if cap is not None and amount > cap:
                msg = f"{instrument.value} {amount} exceeds the scheme's {instrument.value} ceiling {cap}"
                raise CeilingExceeded(msg, field=instrument.value, value=str(amount))
        if self.ceiling is not None and total > self.ceiling:
            msg = f"amount {total} exceeds the scheme's ceiling {self.ceiling}"
            raise CeilingExceeded(msg, field="amount", value=str(total))
        if self.minimum is not None and total < self.minimum:
            msg = f"amount {total} is below the scheme's minimum {self.minimum}"
            raise CeilingExceeded(msg, field="amount", value=str(total))


@frozen
class TermsVersion:
    """Scheme terms in force from ``effective_on`` (until the next version)."""

    effective_on: date
    terms: SchemeTerms
    reason: str = ""


class AidScheme(Aggregate):
    """A regional aid scheme (dispositif).

    Keeps its identity across renames (002_8b3eb659ad96bcac.txt L22974-22978 renames
    "Pass Artisanat d'art" to "Pass Métiers d'Arts"); amendments take effect on a date
    and never change decisions taken under earlier terms.
    """

    @staticmethod
    def create_id(code: str) -> UUID:
        return scheme_id(code)

    @event("Opened")
    def __init__(self, code: str, title: str, terms: SchemeTerms, opened_on: date) -> None:
        self.code = code
        self.title = title
        self.opened_on = opened_on
        self.closed_on: date | None = None
        self.versions: list[TermsVersion] = [TermsVersion(opened_on, terms, "opened")]
        self.former_titles: list[tuple[date, str]] = []

    # ------------------------------------------------------------------ queries

    @property
    def terms(self) -> SchemeTerms:
        """The latest terms (whatever their effective date)."""
        return self.versions[-1].terms

    def terms_on(self, day: date) -> SchemeTerms:
        """The terms in force on ``day``; the opening terms before any amendment."""
        in_force = self.versions[0].terms
        for version in self.versions:
            if version.effective_on <= day:
                in_force = version.terms
        return in_force

    def is_open_on(self, day: date) -> bool:
        return self.opened_on <= day and (self.closed_on is None or day < self.closed_on)

    def check_open_on(self, day: date) -> None:
        if not self.is_open_on(day):
            closed = f", closed on {self.closed_on.isoformat()}" if self.closed_on else ""
            msg = (
                f"scheme {self.code} is not open on {day.isoformat()} "
                f"(opened on {self.opened_on.isoformat()}{closed})"
            )
            raise InvalidTransition(msg, field="on", value=day.isoformat())

    # ----------------------------------------------------------------- commands

    def rename(self, title: str, on: date) -> None:
        if not title.strip():
            msg = "a scheme title must not be empty"
            raise InvalidValue(msg, field="title", value=title)
        if title == self.title:
            return
        self._renamed(title=title, on=on)

    @event("Renamed")
    def _renamed(self, title: str, on: date) -> None:
        self.former_titles.append((on, self.title))
        self.title = title

    def amend(self, terms: SchemeTerms, effective_on: date, reason: str) -> None:
        if effective_on < self.versions[-1].effective_on:
            msg = (
                f"an amendment cannot take effect on {effective_on.isoformat()}, before the "
                f"latest terms ({self.versions[-1].effective_on.isoformat()})"
            )
            raise DateOutOfOrder(msg, field="effective_on", value=effective_on.isoformat())
        if not reason.strip():
            msg = "an amendment needs a reason"
            raise DomainRuleViolation(msg, field="reason", value=reason)
        self._amended(terms=terms, effective_on=effective_on, reason=reason)

    @event("Amended")
    def _amended(self, terms: SchemeTerms, effective_on: date, reason: str) -> None:
        self.versions.append(TermsVersion(effective_on, terms, reason))

    def close(self, on: date) -> None:
        if self.closed_on is not None:
            msg = f"scheme {self.code} was already closed on {self.closed_on.isoformat()}"
            raise InvalidTransition(msg, field="on", value=on.isoformat())
        if on < self.opened_on:
            msg = f"closing date {on.isoformat()} is before the opening {self.opened_on.isoformat()}"
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())
        self._closed(on=on)

    @event("Closed")
    def _closed(self, on: date) -> None:
        self.closed_on = on
