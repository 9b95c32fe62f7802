"""The company aggregate: Impact Score self-diagnoses over time and the state-aid ledger.

A company is identified by its SIREN (``identity.company_id``). It keeps:

* its **Impact Score self-diagnoses** (E1, 002_8b3eb659ad96bcac.txt L3333-3337, L20262-20264):
  five axes scored 0–100, the **simplified module for companies with fewer than 10
  employees**, the full module otherwise. The first diagnosis is the **baseline**; later ones
  are compared with it ("au regard de son auto-évaluation initiale", L3397);
* its **state-aid ledger**: the aids granted to it (gross grant equivalent, regime, reference),
  from which the de minimis exposure over a rolling 3-year window is computed
  (Regulation (EU) 2023/2831, art. 3(2)).

Events carry only primitives, ``date`` and ``Money`` (all transcoded by
``aidflow.adapters.transcodings``); event bodies rebuild the value objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from attrs import Attribute, field, frozen
from eventsourcing.domain import Aggregate, event

from aidflow.domain.dates import add_years
from aidflow.domain.errors import CeilingExceeded, DateOutOfOrder, DomainRuleViolation, InvalidValue
from aidflow.domain.identity import company_id
from aidflow.domain.values import Money, Siren, StateAidRegime

SIMPLIFIED_MODULE_STAFF_BELOW = 10
"""Fewer than 10 employees → simplified module ("TPE de moins de 10 salariés", L20262-20264).
The rule book carries the same parameter (``RuleBookVersion.simplified_module_staff_below``)."""

DE_MINIMIS_YEARS = 3
"""Regulation (EU) 2023/2831, art. 3(2): "sur une période de trois ans"."""

AXES: tuple[str, ...] = (
    "impact_strategy",
    "social_impact",
    "ecological_impact",
    "power_sharing",
    "value_sharing",
)
"""The five Impact Score axes: "Stratégie à impact, Impact social, Impact écologique, Partage du
Pouvoir, Partage de la Valeur" (002_8b3eb659ad96bcac.txt L3335-3337)."""

MAX_SCORE = 100


class DiagnosisModule(StrEnum):
    """The Impact Score module used for a self-diagnosis."""

    FULL = "full"
    SIMPLIFIED = "simplified"


class ModuleMismatch(DomainRuleViolation):
    """The self-diagnosis module does not fit the company's staff (simplified iff < 10)."""


def required_module(
    staff: Decimal | int, simplified_below: int = SIMPLIFIED_MODULE_STAFF_BELOW
) -> DiagnosisModule:
    """The module a company with ``staff`` employees (FTE) must use.

    Args:
        staff: headcount (FTE) of the company.
        simplified_below: staff strictly below which the simplified module applies.

    Returns:
        ``SIMPLIFIED`` for fewer than ``simplified_below`` employees, ``FULL`` otherwise.
    """
    return DiagnosisModule.SIMPLIFIED if Decimal(staff) < simplified_below else DiagnosisModule.FULL


def _score(_instance: object, attribute: Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SCORE:
        msg = f"Impact Score axis {attribute.name} must be a whole number from 0 to 100, got {value!r}"
        raise InvalidValue(msg, field=f"scores.{attribute.name}", value=value)


@frozen
class ImpactScores:
    """The five Impact Score axis scores, each a whole number from 0 to 100."""

    impact_strategy: int = field(validator=_score)
    social_impact: int = field(validator=_score)
    ecological_impact: int = field(validator=_score)
    power_sharing: int = field(validator=_score)
    value_sharing: int = field(validator=_score)

    @classmethod
    def from_mapping(cls, scores: Mapping[str, Any]) -> ImpactScores:
        """Build from ``{"impact_strategy": 55, …}``; every axis required, no other key.

        Raises:
            InvalidValue: naming the missing or unknown axis.
        """
        missing = [axis for axis in AXES if axis not in scores]
        if missing:
            msg = f"Impact Score axis {missing[0]} is missing (axes: {', '.join(AXES)})"
            raise InvalidValue(msg, field=f"scores.{missing[0]}", value=None)
        unknown = sorted(set(scores) - set(AXES))
        if unknown:
            msg = f"{unknown[0]!r} is not an Impact Score axis (axes: {', '.join(AXES)})"
            raise InvalidValue(msg, field=f"scores.{unknown[0]}", value=scores[unknown[0]])
        return cls(**{axis: scores[axis] for axis in AXES})

    def as_dict(self) -> dict[str, int]:
        """``{axis: score}`` in the canonical axis order."""
        return {axis: getattr(self, axis) for axis in AXES}

    @property
    def lowest(self) -> int:
        """The lowest axis score."""
        return min(self.as_dict().values())


def _module(value: object) -> DiagnosisModule:
    try:
        return DiagnosisModule(str(value))
    except ValueError:
        msg = f"self-diagnosis module must be 'full' or 'simplified', got {value!r}"
        raise InvalidValue(msg, field="module", value=value) from None


def _scores(value: object) -> ImpactScores:
    if isinstance(value, ImpactScores):
        return value
    if isinstance(value, Mapping):
        return ImpactScores.from_mapping(value)
    msg = f"Impact Score scores must be a mapping of the 5 axes, got {value!r}"
    raise InvalidValue(msg, field="scores", value=value)


@frozen
class SelfDiagnosis:
    """One Impact Score self-diagnosis (E1)."""

    on: date
    module: DiagnosisModule = field(converter=_module)
    scores: ImpactScores = field(converter=_scores)


@frozen
class AxisProgress:
    """One axis compared between the baseline and the latest diagnosis."""

    axis: str
    baseline: int
    latest: int

    @property
    def delta(self) -> int:
        return self.latest - self.baseline


@frozen
class Progress:
    """The latest self-diagnosis compared with the baseline, axis by axis (L3397)."""

    baseline: SelfDiagnosis
    latest: SelfDiagnosis
    axes: tuple[AxisProgress, ...]

    @property
    def improved_axes(self) -> tuple[str, ...]:
        return tuple(a.axis for a in self.axes if a.delta > 0)

    @property
    def regressed_axes(self) -> tuple[str, ...]:
        return tuple(a.axis for a in self.axes if a.delta < 0)

    @property
    def total_delta(self) -> int:
        return sum(a.delta for a in self.axes)


def compare(baseline: SelfDiagnosis, latest: SelfDiagnosis) -> Progress:
    """Compare two diagnoses axis by axis."""
    axes = tuple(
        AxisProgress(axis, getattr(baseline.scores, axis), getattr(latest.scores, axis)) for axis in AXES
    )
    return Progress(baseline, latest, axes)


def _regime(value: object) -> StateAidRegime:
    try:
        return StateAidRegime(str(value))
    except ValueError:
        allowed = ", ".join(r.value for r in StateAidRegime)
        msg = f"state-aid regime must be one of {allowed}, got {value!r}"
        raise InvalidValue(msg, field="regime", value=value) from None


@frozen
class GrantedAid:
    """An aid granted to the company, as entered in its state-aid ledger.

    Attributes:
        on: the day the legal right to the aid was conferred (the award decision);
            Regulation (EU) 2023/2831, art. 3(4).
        amount: its gross grant equivalent.
        regime: de minimis, GBER or none.
        reference: the grantor's reference (deliberation, convention, application).
    """

    on: date
    amount: Money
    regime: StateAidRegime = field(converter=_regime)
    reference: str


def de_minimis_window_contains(window_end: date, day: date, years: int = DE_MINIMIS_YEARS) -> bool:
    """Whether ``day`` falls in the rolling window ending on ``window_end``: (end − years, end].

    The window holds exactly ``years`` years of days: the day ``years`` years before
    ``window_end`` is outside (an aid exactly 3 years old no longer counts), the day after it
    is inside. ``years`` years before 29 February is 28 February (``dates.add_years``).
    """
    return add_years(window_end, -years) < day <= window_end


def de_minimis_granted_in_window(
    aids: Iterable[GrantedAid], window_end: date, years: int = DE_MINIMIS_YEARS
) -> Money:
    """Sum of the de minimis aids granted in (window_end − years, window_end]."""
    return Money.total(
        aid.amount
        for aid in aids
        if aid.regime is StateAidRegime.DE_MINIMIS and de_minimis_window_contains(window_end, aid.on, years)
    )


def de_minimis_exposure(
    aids: Iterable[GrantedAid], on: date, years: int = DE_MINIMIS_YEARS
) -> tuple[Money, date]:
    """The largest de minimis sum over any rolling window that contains ``on``.

    A new aid granted on ``on`` falls in every window ending on a day ``e`` with
    ``e − years < on ≤ e``. Within those, the sum only grows on the day an aid is granted,
    so the largest is reached on ``on`` itself or on the date of a later-dated aid already in
    the ledger (one recorded out of order, e.g. declared late by another grantor).

    Returns:
        The largest sum and the end of the window where it is reached.
    """
    ledger = [aid for aid in aids if aid.regime is StateAidRegime.DE_MINIMIS]
    ends = sorted({on} | {aid.on for aid in ledger if de_minimis_window_contains(aid.on, on, years)})
    best_end = on
    best = de_minimis_granted_in_window(ledger, on, years)
    for end in ends:
        total = de_minimis_granted_in_window(ledger, end, years)
        if total > best:
            best, best_end = total, end
    return best, best_end


def award_ledger_reference(application_reference: str, deliberation: str) -> str:
    """The ledger reference of an award: ``APPLICATION/DELIBERATION``."""
    return f"{application_reference}/{deliberation}"


def amendment_ledger_reference(convention_number: str, amendment_number: int) -> str:
    """The ledger reference of an amendment's increase: ``CONVENTION/amendment-N``."""
    return f"{convention_number}/amendment-{amendment_number}"


def check_de_minimis_increase(
    aids: Iterable[GrantedAid], increase: Money, on: date, ceiling: Money, years: int = DE_MINIMIS_YEARS
) -> None:
    """Refuse an increase of a de minimis aid that would pass the ceiling on ``on``.

    An amendment (avenant) that raises a de minimis award confers the right to the extra
    amount on its signature date: the increase is a new de minimis aid granted that day
    (Regulation (EU) 2023/2831, art. 3(2) and 3(4); CAP-DE-MINIMIS of RULES.md §3). It must
    fit under the ceiling in every rolling window that contains that day, with the original
    award and every other aid of the ledger counted.

    Raises:
        CeilingExceeded: the increase is above the headroom (field ``amount``).
    """
    exposure, window_end = de_minimis_exposure(aids, on, years)
    headroom = ceiling.minus_floor_zero(exposure)
    if increase > headroom:
        msg = (
            f"the increase of {increase} exceeds the de minimis headroom of {headroom} on "
            f"{on.isoformat()}: {exposure} already granted in the {years}-year window ending "
            f"{window_end.isoformat()}, ceiling {ceiling} (Regulation (EU) 2023/2831, art. 3(2))"
        )
        raise CeilingExceeded(msg, field="amount", value=str(increase.amount))


class Company(Aggregate):
    """A company (SIREN): its Impact Score self-diagnoses and its state-aid ledger."""

    @staticmethod
    def create_id(siren: str) -> UUID:
        """The deterministic id of the company with this SIREN."""
        return company_id(Siren(siren).value)

    @classmethod
    def register(cls, siren: str, name: str, on: date) -> Company:
        """Register a company; the SIREN must be 9 Luhn-valid digits.

        Raises:
            InvalidValue: the SIREN or the name is invalid.
        """
        valid = Siren(siren).value
        if not name.strip():
            msg = "a company name must not be empty"
            raise InvalidValue(msg, field="name", value=name)
        return cls(siren=valid, name=name, registered_on=on)

    @event("Registered")
    def __init__(self, siren: str, name: str, registered_on: date) -> None:
        self.siren = siren
        self.name = name
        self.registered_on = registered_on
        self.diagnoses: list[SelfDiagnosis] = []
        self.aids_granted: list[GrantedAid] = []

    # ------------------------------------------------------------------ queries

    @property
    def baseline(self) -> SelfDiagnosis | None:
        """The first self-diagnosis, the reference point of later ones (L3397)."""
        return self.diagnoses[0] if self.diagnoses else None

    @property
    def latest(self) -> SelfDiagnosis | None:
        """The most recent self-diagnosis."""
        return self.diagnoses[-1] if self.diagnoses else None

    def latest_on(self, day: date) -> SelfDiagnosis | None:
        """The most recent self-diagnosis made on or before ``day``."""
        made = [d for d in self.diagnoses if d.on <= day]
        return made[-1] if made else None

    def progress(self, on: date | None = None) -> Progress | None:
        """The latest diagnosis (on or before ``on`` if given) compared with the baseline.

        Returns:
            None without any diagnosis; zero deltas while the baseline is the only one.
        """
        latest = self.latest if on is None else self.latest_on(on)
        if latest is None or self.baseline is None:
            return None
        return compare(self.baseline, latest)

    def de_minimis_granted_within(self, window_end: date, years: int = DE_MINIMIS_YEARS) -> Money:
        """De minimis aid granted in (window_end − 3 years, window_end] (Reg. 2023/2831 art. 3(2))."""
        return de_minimis_granted_in_window(self.aids_granted, window_end, years)

    # ----------------------------------------------------------------- commands

    def record_self_diagnosis(
        self,
        on: date,
        module: str | DiagnosisModule,
        scores: ImpactScores | Mapping[str, int],
        staff: Decimal | int,
        simplified_below: int = SIMPLIFIED_MODULE_STAFF_BELOW,
    ) -> None:
        """Record an Impact Score self-diagnosis made on ``on``.

        Args:
            on: the day the diagnosis was made.
            module: ``"full"`` or ``"simplified"``.
            scores: the five axis scores (0–100).
            staff: the company's headcount (FTE) when diagnosed.
            simplified_below: staff strictly below which the simplified module applies.

        Raises:
            InvalidValue: an axis is missing, unknown or not a whole number in 0–100.
            ModuleMismatch: simplified module with 10 or more staff, or full with fewer.
            DateOutOfOrder: ``on`` is before the latest recorded diagnosis.
        """
        diagnosis = SelfDiagnosis(on, module, scores)
        expected = required_module(staff, simplified_below)
        if diagnosis.module is not expected:
            msg = (
                f"a company with {staff} staff must use the {expected.value} Impact Score module, "
                f"got {diagnosis.module.value} (simplified iff fewer than {simplified_below} employees)"
            )
            raise ModuleMismatch(msg, field="module", value=diagnosis.module.value)
        if self.latest is not None and on < self.latest.on:
            msg = (
                f"self-diagnosis dated {on.isoformat()} is before the latest one "
                f"({self.latest.on.isoformat()})"
            )
            raise DateOutOfOrder(msg, field="on", value=on.isoformat())
        self._self_diagnosed(on=on, module=diagnosis.module.value, scores=diagnosis.scores.as_dict())

    @event("SelfDiagnosed")
    def _self_diagnosed(self, on: date, module: str, scores: dict[str, int]) -> None:
        self.diagnoses.append(SelfDiagnosis(on, module, scores))

    def record_aid_granted(
        self, on: date, amount: Money, regime: str | StateAidRegime, reference: str
    ) -> None:
        """Enter an aid granted to the company in its state-aid ledger.

        Recording the same reference again with the same facts has no second effect.

        Args:
            on: the day the right to the aid was conferred.
            amount: the aid's gross grant equivalent.
            regime: ``"de_minimis"``, ``"gber"`` or ``"none"``.
            reference: the grantor's reference, unique in the ledger.

        Raises:
            InvalidValue: empty reference or unknown regime.
            DomainRuleViolation: the reference is already recorded with other facts.
        """
        aid = GrantedAid(on, amount, regime, reference)
        if not reference.strip():
            msg = "an aid granted needs a reference"
            raise InvalidValue(msg, field="reference", value=reference)
        for known in self.aids_granted:
            if known.reference == reference:
                if known == aid:
                    return
                msg = f"aid {reference!r} is already recorded with other facts ({known.amount} on {known.on})"
                raise DomainRuleViolation(msg, field="reference", value=reference)
        self._aid_granted(on=on, amount=amount, regime=aid.regime.value, reference=reference)

    @event("AidGranted")
    def _aid_granted(self, on: date, amount: Money, regime: str, reference: str) -> None:
        self.aids_granted.append(GrantedAid(on, amount, regime, reference))
