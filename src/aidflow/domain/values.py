"""Value objects: frozen attrs classes with loud validation.

Every validator raises :class:`~aidflow.domain.errors.InvalidValue` naming the
field and the offending value. Enum and tuple fields carry converters so that a
value object rebuilt from its stored JSON form (lists, plain strings) is equal
to the original; see ``aidflow.adapters.transcodings``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NewType

from attrs import Attribute, field, frozen

from aidflow.domain.errors import InvalidValue

CENT = Decimal("0.01")

SchemeCode = NewType("SchemeCode", str)


# --------------------------------------------------------------------------- money


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool | float):
        # Floats are never money: 0.1 + 0.2 is not 0.3. Refuse them loudly.
        msg = f"amount must be a decimal string or Decimal, not {type(value).__name__} {value!r}"
        raise InvalidValue(msg, field="amount", value=value)
    if isinstance(value, int | str):
        try:
            return Decimal(value)
        except InvalidOperation:
            msg = f"amount {value!r} is not a decimal number"
            raise InvalidValue(msg, field="amount", value=value) from None
    msg = f"amount must be a decimal string or Decimal, not {type(value).__name__} {value!r}"
    raise InvalidValue(msg, field="amount", value=value)


def _money_amount(value: object) -> Decimal:
    amount = _to_decimal(value)
    if not amount.is_finite():
        msg = f"amount {value!r} is not a finite number"
        raise InvalidValue(msg, field="amount", value=value)
    if amount != amount.quantize(CENT):
        msg = f"amount {value!r} has more than 2 decimal places (EUR cents)"
        raise InvalidValue(msg, field="amount", value=value)
    if amount < 0:
        msg = f"amount {value!r} is negative"
        raise InvalidValue(msg, field="amount", value=value)
    return amount.quantize(CENT)


@frozen(order=True)
class Money:
    """A non-negative amount of euros with exactly 2 decimal places.

    Money is never a float and never negative (RULES.md §5). Differences that may
    go below zero are computed with :meth:`minus_floor_zero` or on Decimals.
    """

    amount: Decimal = field(converter=_money_amount)

    @classmethod
    def of(cls, value: str | int | Decimal) -> Money:
        """Parse ``"1234.50"``, ``1234`` or ``Decimal("1234.5")``."""
        return cls(value)

    @classmethod
    def zero(cls) -> Money:
        return cls(Decimal("0.00"))

    @classmethod
    def rounded(cls, value: Decimal) -> Money:
        """Round a computed Decimal to the cent, half up (RULES.md §4)."""
        return cls(max(value, Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP))

    @classmethod
    def total(cls, amounts: Iterable[Money]) -> Money:
        return cls(sum((m.amount for m in amounts), Decimal("0.00")))

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + other.amount)

    def __sub__(self, other: Money) -> Money:
        """Subtract; raises InvalidValue if the result would be negative."""
        return Money(self.amount - other.amount)

    def minus_floor_zero(self, other: Money) -> Money:
        return Money(max(self.amount - other.amount, Decimal("0.00")))

    def times(self, ratio: Decimal) -> Money:
        """Multiply by a ratio and round to the cent, half up."""
        return Money.rounded(self.amount * ratio)

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.amount:.2f}"


# ---------------------------------------------------------------- identifiers


def luhn_valid(digits: str) -> bool:
    """Luhn checksum, as used by INSEE for SIREN and SIRET."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        n = int(char)
        if index % 2 == 1:
            n *= 2
            if n > 9:  # noqa: PLR2004 - digit sum of a doubled digit
                n -= 9
        total += n
    return total % 10 == 0


LA_POSTE_SIREN = "356000000"
"""La Poste's SIRETs do not follow Luhn; INSEE checks that their digits sum to a multiple of 5."""


def _siren_value(value: object) -> str:
    text = str(value).replace(" ", "")
    if len(text) != 9 or not text.isdigit():  # noqa: PLR2004 - SIREN length
        msg = f"SIREN must be 9 digits, got {value!r}"
        raise InvalidValue(msg, field="siren", value=value)
    if not luhn_valid(text):
        msg = f"SIREN {value!r} fails the Luhn check"
        raise InvalidValue(msg, field="siren", value=value)
    return text


def _siret_value(value: object) -> str:
    text = str(value).replace(" ", "")
    if len(text) != 14 or not text.isdigit():  # noqa: PLR2004 - SIRET length
        msg = f"SIRET must be 14 digits, got {value!r}"
        raise InvalidValue(msg, field="siret", value=value)
    if text.startswith(LA_POSTE_SIREN):
        valid = sum(int(c) for c in text) % 5 == 0
    else:
        valid = luhn_valid(text) and luhn_valid(text[:9])
    if not valid:
        msg = f"SIRET {value!r} fails the Luhn check"
        raise InvalidValue(msg, field="siret", value=value)
    return text


@frozen(order=True)
class Siren:
    """A company identifier: 9 digits, Luhn-valid (RULES.md §1)."""

    value: str = field(converter=_siren_value)

    def __str__(self) -> str:
        return self.value


@frozen(order=True)
class Siret:
    """An establishment (site) identifier: 14 digits, Luhn-valid, starting with the SIREN."""

    value: str = field(converter=_siret_value)

    @property
    def siren(self) -> Siren:
        return Siren(self.value[:9])

    def __str__(self) -> str:
        return self.value


# ------------------------------------------------------------------ companies


class CompanySize(StrEnum):
    """Size classes of RULES.md §1 (Recommendation 2003/361/EC; Décret 2008-1354, art. 3)."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    ETI = "eti"
    LARGE = "large"

    @property
    def is_sme(self) -> bool:
        """"PME" in the sources = micro + small + medium."""
        return self in (CompanySize.MICRO, CompanySize.SMALL, CompanySize.MEDIUM)


def _staff(value: object) -> Decimal:
    staff = _to_decimal(value) if not isinstance(value, Decimal) else value
    if not staff.is_finite() or staff < 0:
        msg = f"staff headcount must be a non-negative number, got {value!r}"
        raise InvalidValue(msg, field="staff", value=value)
    return staff


def _money(value: object) -> Money:
    if isinstance(value, Money):
        return value
    return Money(value)


def _optional_money(value: object) -> Money | None:
    return None if value is None else _money(value)


@frozen
class SizeThreshold:
    """One row of the size table: staff strictly below, and turnover or balance sheet at most."""

    size: CompanySize
    staff_below: int
    turnover_at_most: Decimal
    balance_sheet_at_most: Decimal


M = Decimal(1_000_000)

SIZE_TABLE: tuple[SizeThreshold, ...] = (
    SizeThreshold(CompanySize.MICRO, 10, 2 * M, 2 * M),
    SizeThreshold(CompanySize.SMALL, 50, 10 * M, 10 * M),
    SizeThreshold(CompanySize.MEDIUM, 250, 50 * M, 43 * M),
    SizeThreshold(CompanySize.ETI, 5000, 1500 * M, 2000 * M),
)
"""RULES.md §1. Micro/small/medium: Commission Recommendation 2003/361/EC, annex art. 2.
ETI: Décret n° 2008-1354 du 18 décembre 2008, art. 3."""


@frozen
class CompanyFigures:
    """Staff (FTE), annual turnover and balance-sheet total, consolidated with linked
    and partner enterprises as the EU definition requires (the caller supplies them)."""

    staff: Decimal = field(converter=_staff)
    turnover: Money = field(converter=_money)
    balance_sheet: Money = field(converter=_money)

    @property
    def size(self) -> CompanySize:
        return classify_size(self)


def classify_size(figures: CompanyFigures) -> CompanySize:
    """Classify a company (RULES.md §1).

    A class applies when staff is strictly below its bound *and* turnover or
    balance sheet is at most its bound. Unmodelled: the two-consecutive-years
    rule of the Recommendation (annex art. 4) — the caller supplies the figures
    that apply.
    """
    for row in SIZE_TABLE:
        if figures.staff < row.staff_below and (
            figures.turnover.amount <= row.turnover_at_most
            or figures.balance_sheet.amount <= row.balance_sheet_at_most
        ):
            return row.size
    return CompanySize.LARGE


class BeneficiaryKind(StrEnum):
    COMPANY = "company"
    ASSOCIATION = "association"
    PUBLIC_BODY = "public_body"
    RESEARCH_ORGANISATION = "research_organisation"
    FARM = "farm"


def _optional_siren(value: object) -> Siren | None:
    if value is None or isinstance(value, Siren):
        return value
    return Siren(value)


def _optional_figures(value: object) -> CompanyFigures | None:
    if value is None or isinstance(value, CompanyFigures):
        return value
    if isinstance(value, dict):
        return CompanyFigures(**value)
    msg = f"company figures expected, got {value!r}"
    raise InvalidValue(msg, field="beneficiary", value=value)


def _nonempty(_instance: object, attribute: Attribute[str], value: str) -> None:
    if not value.strip():
        msg = f"{attribute.name} must not be empty"
        raise InvalidValue(msg, field=attribute.name, value=value)


@frozen
class Beneficiary:
    """Who receives the aid. SIREN is required for all kinds but research organisations;
    size figures are required for companies (DOSSIER.md)."""

    kind: BeneficiaryKind = field(converter=BeneficiaryKind)
    name: str = field(validator=_nonempty)
    siren: Siren | None = field(default=None, converter=_optional_siren)
    figures: CompanyFigures | None = field(default=None, converter=_optional_figures)

    def __attrs_post_init__(self) -> None:
        if self.siren is None and self.kind is not BeneficiaryKind.RESEARCH_ORGANISATION:
            msg = f"siren is required for a beneficiary of kind {self.kind.value!r}"
            raise InvalidValue(msg, field="beneficiary.siren", value=None)
        if self.figures is None and self.kind is BeneficiaryKind.COMPANY:
            msg = "staff, turnover and balance_sheet are required for a company"
            raise InvalidValue(msg, field="beneficiary.staff", value=None)

    @property
    def size(self) -> CompanySize | None:
        return None if self.figures is None else self.figures.size


def _optional_siret(value: object) -> Siret | None:
    if value is None or isinstance(value, Siret):
        return value
    return Siret(value)


def _department(value: object) -> str:
    text = str(value)
    valid = (len(text) == 2 and (text.isdigit() or text in ("2A", "2B"))) or (  # noqa: PLR2004
        len(text) == 3 and text.isdigit() and text.startswith("97")  # noqa: PLR2004 - overseas
    )
    if not valid:
        msg = f"department must be a French department code such as '31' or '2A', got {value!r}"
        raise InvalidValue(msg, field="site.department", value=value)
    return text


@frozen
class Site:
    """The aided establishment."""

    commune: str = field(validator=_nonempty)
    department: str = field(converter=_department)
    siret: Siret | None = field(default=None, converter=_optional_siret)


@frozen
class LegalReference:
    """A legal citation: title verbatim in its source language, optional article and URL."""

    title: str = field(validator=_nonempty)
    article: str | None = None
    url: str | None = None

    def __str__(self) -> str:
        parts = [self.title]
        if self.article:
            parts.append(self.article)
        return ", ".join(parts)


def _date(value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    msg = f"date must be ISO YYYY-MM-DD, got {value!r}"
    raise InvalidValue(msg, field="date", value=value)


@frozen
class DateRange:
    """A business date range, both ends included."""

    start: date = field(converter=_date)
    end: date = field(converter=_date)

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            msg = f"range end {self.end.isoformat()} is before its start {self.start.isoformat()}"
            raise InvalidValue(msg, field="end", value=self.end.isoformat())

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days


# ------------------------------------------------------------ instruments, aid


class Instrument(StrEnum):
    GRANT = "grant"
    ADVANCE = "advance"  # repayable advance (avance remboursable)
    LOAN = "loan"
    GUARANTEE = "guarantee"
    EQUITY = "equity"


class StateAidRegime(StrEnum):
    DE_MINIMIS = "de_minimis"
    GBER = "gber"
    NONE = "none"


class PaymentKind(StrEnum):
    ADVANCE = "advance"
    INTERIM = "interim"
    BALANCE = "balance"


def _positive_int(_instance: object, attribute: Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{attribute.name} must be a non-negative whole number, got {value!r}"
        raise InvalidValue(msg, field=attribute.name, value=value)


@frozen
class Programme:
    """The aided programme: dates, planned investment and jobs committed on the site."""

    start: date = field(converter=_date)
    end: date = field(converter=_date)
    investment: Money = field(converter=_money)
    jobs: int = field(validator=_positive_int)

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            msg = (
                f"programme end {self.end.isoformat()} is before its start "
                f"{self.start.isoformat()}"
            )
            raise InvalidValue(msg, field="programme.end", value=self.end.isoformat())


@frozen
class AwardSplit:
    """How an awarded amount splits across instruments (each part may be zero)."""

    grant: Money = field(factory=Money.zero, converter=_money)
    advance: Money = field(factory=Money.zero, converter=_money)
    loan: Money = field(factory=Money.zero, converter=_money)
    equity: Money = field(factory=Money.zero, converter=_money)

    @property
    def total(self) -> Money:
        return self.grant + self.advance + self.loan + self.equity

    def part(self, instrument: Instrument) -> Money:
        return {
            Instrument.GRANT: self.grant,
            Instrument.ADVANCE: self.advance,
            Instrument.LOAN: self.loan,
            Instrument.EQUITY: self.equity,
        }.get(instrument, Money.zero())

    def nonzero(self) -> dict[Instrument, Money]:
        return {
            instrument: self.part(instrument)
            for instrument in (Instrument.GRANT, Instrument.ADVANCE, Instrument.LOAN, Instrument.EQUITY)
            if not self.part(instrument).is_zero()
        }


def as_date(value: Any) -> date:  # noqa: ANN401 - parses anything a caller may hand over
    """Parse an ISO date or pass a date through, raising InvalidValue otherwise."""
    return _date(value)


def optional_date(value: object) -> date | None:
    """:func:`as_date`, or None."""
    return None if value is None else _date(value)


def to_money(value: object) -> Money:
    """A ``Money`` from a Money, a decimal string or a Decimal (attrs converter)."""
    return _money(value)


def optional_money(value: object) -> Money | None:
    """:func:`to_money`, or None."""
    return _optional_money(value)


def parse_decimal(value: object, name: str) -> Decimal:
    """A finite Decimal from a Decimal, an int or a decimal string; floats and bools refused."""
    if isinstance(value, bool | float):
        msg = f"{name} must be a decimal string or Decimal, not {type(value).__name__} {value!r}"
        raise InvalidValue(msg, field=name, value=value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        msg = f"{name} {value!r} is not a decimal number"
        raise InvalidValue(msg, field=name, value=value) from None
    if not number.is_finite():
        msg = f"{name} {value!r} is not a finite number"
        raise InvalidValue(msg, field=name, value=value)
    return number


def signed_amount(value: object, name: str) -> Decimal:
    """A euro figure that may be negative (equity, self-financing capacity): at most 2 places."""
    number = parse_decimal(value, name)
    if number != number.quantize(CENT):
        msg = f"{name} {value!r} has more than 2 decimal places (EUR cents)"
        raise InvalidValue(msg, field=name, value=value)
    return number.quantize(CENT)
