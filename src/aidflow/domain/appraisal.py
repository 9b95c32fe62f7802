"""Appraisal: financial-ethics ratios, intensity modulation and the award caps (RULES.md §3, level 3).

"Des critères d'appréciations des projets seront mis en place qui conduiront à moduler
l'intensité de l'aide, voire à la refuser" (002_8b3eb659ad96bcac.txt L3367-3369,
L20312-20314). The sources name the criteria but give **no weights or thresholds**: the
numbers live in a configurable, effective-dated :class:`ModulationGrid` (one default grid,
optional per-scheme grids) whose every threshold and factor carries a legal reference and a
``note`` saying it is an aidflow default. Every appraisal records the grid version and the
computed factors.

Then the hard caps (:func:`compute_award_cap`): the amount requested, the scheme ceiling and
per-instrument ceilings, the GBER intensity cap where the scheme uses one, and for de minimis
schemes the remaining headroom under 300 000 € per single undertaking over any rolling 3 years
(Regulation (EU) 2023/2831, art. 3(2)).

Unmodelled (see the rules in :mod:`aidflow.domain.rulebook`): environmental and social
engagement beyond regulation, job creation, GHG / energy / biodiversity impact, impact on the
employment area and sovereignty are appraised by the Region, not scored by aidflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

from attrs import Attribute, field, frozen

from aidflow.domain.company import (
    AXES,
    GrantedAid,
    ImpactScores,
    de_minimis_exposure,
)
from aidflow.domain.errors import CeilingExceeded, DomainRuleViolation, InvalidValue
from aidflow.domain.rulebook import Explanation, NoRulesInForce, RuleBookVersion, gber_article_number
from aidflow.domain.scheme import SchemeTerms
from aidflow.domain.values import (
    CENT,
    AwardSplit,
    CompanySize,
    LegalReference,
    Money,
    StateAidRegime,
    as_date,
    optional_money,
    parse_decimal,
    signed_amount,
    to_money,
)

RATIO_PLACES = Decimal("0.0001")
"""Ratios and factors are recorded with 4 decimal places, rounded down."""

UNBOUNDED = Decimal("Infinity")
"""A ratio whose denominator is zero or negative while its numerator is positive."""

ONE = Decimal(1)
ZERO = Decimal(0)


class MissingFact(DomainRuleViolation):
    """A fact a rule needs was not supplied (e.g. eligible expenses for a GBER intensity cap)."""


def _decimal(value: object, name: str) -> Decimal:
    return parse_decimal(value, name)


def _signed_amount(value: object) -> Decimal:
    return signed_amount(value, "self_financing_capacity")


def _optional_scores(value: object) -> ImpactScores | None:
    if value is None or isinstance(value, ImpactScores):
        return value
    if isinstance(value, Mapping):
        return ImpactScores.from_mapping(value)
    msg = f"Impact Score scores expected, got {value!r}"
    raise InvalidValue(msg, field="scores", value=value)


def _fraction(_instance: object, attribute: Attribute[Decimal], value: Decimal) -> None:
    if not ZERO <= value <= ONE:
        msg = f"{attribute.name} must be between 0 and 1, got {value}"
        raise InvalidValue(msg, field=attribute.name, value=str(value))


def _to_fraction(value: object) -> Decimal:
    return _decimal(value, "factor")


def _to_threshold(value: object) -> Decimal:
    return _decimal(value, "above")


def _to_optional_fraction(value: object) -> Decimal | None:
    return None if value is None else _decimal(value, "factor")


def _optional_fraction(
    _instance: object, attribute: Attribute[Decimal | None], value: Decimal | None
) -> None:
    if value is not None and not ZERO <= value <= ONE:
        msg = f"{attribute.name} must be between 0 and 1 (or absent for a refusal), got {value}"
        raise InvalidValue(msg, field=attribute.name, value=str(value))


# ------------------------------------------------------------------------ facts


@frozen
class AppraisalFacts:
    """The ``appraise`` dossier step's facts plus the Impact Score read from the company.

    Attributes:
        on: the day of the appraisal.
        requested: the amount requested; the "montant potentiel de l'aide" of R1.
        financial_income: produits financiers (R1).
        dividends_paid: dividends paid (R2).
        self_financing_capacity: capacité d'autofinancement (R2); may be negative.
        shareholder_dividends: dividends serving only to pay shareholders (R3).
        executive_total_pay: shareholder-executives' salaries + dividends (R4).
        requested_grant: the grant part of the request (R3); defaults to ``requested``.
        scores: the latest Impact Score on or before ``on``; None when E1 does not apply.
        baseline_scores: the company's first (baseline) Impact Score, if any.
        eligible_expenses: eligible expenses, for a GBER intensity cap.
    """

    on: date = field(converter=as_date)
    requested: Money = field(converter=to_money)
    financial_income: Money = field(converter=to_money)
    dividends_paid: Money = field(converter=to_money)
    self_financing_capacity: Decimal = field(converter=_signed_amount)
    shareholder_dividends: Money = field(converter=to_money)
    executive_total_pay: Money = field(converter=to_money)
    requested_grant: Money | None = field(default=None, converter=optional_money)
    scores: ImpactScores | None = field(default=None, converter=_optional_scores)
    baseline_scores: ImpactScores | None = field(default=None, converter=_optional_scores)
    eligible_expenses: Money | None = field(default=None, converter=optional_money)

    @property
    def grant_requested(self) -> Money:
        """The requested grant: ``requested_grant`` if given, else the whole request."""
        return self.requested if self.requested_grant is None else self.requested_grant

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready facts; :meth:`from_dict` reverses it."""

        def money(value: Money | None) -> str | None:
            return None if value is None else str(value)

        return {
            "on": self.on.isoformat(),
            "requested": str(self.requested),
            "financial_income": str(self.financial_income),
            "dividends_paid": str(self.dividends_paid),
            "self_financing_capacity": str(self.self_financing_capacity),
            "shareholder_dividends": str(self.shareholder_dividends),
            "executive_total_pay": str(self.executive_total_pay),
            "requested_grant": money(self.requested_grant),
            "scores": None if self.scores is None else self.scores.as_dict(),
            "baseline_scores": None if self.baseline_scores is None else self.baseline_scores.as_dict(),
            "eligible_expenses": money(self.eligible_expenses),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AppraisalFacts:
        """Rebuild facts from :meth:`to_dict` output."""
        return cls(**data)


# ----------------------------------------------------------------------- ratios


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator ÷ denominator`` to 4 places, rounded down.

    0 when the numerator is 0 (nothing to weigh); :data:`UNBOUNDED` when a positive numerator
    meets a zero or negative denominator (e.g. dividends paid with no self-financing capacity).
    Grids compare the ratio as recorded (rounded down to 4 places), so that the explanation
    and the decision always agree.
    """
    if numerator == 0:
        return ZERO.quantize(RATIO_PLACES)
    if denominator <= 0:
        return UNBOUNDED
    return (numerator / denominator).quantize(RATIO_PLACES, rounding=ROUND_DOWN)


@frozen
class Ratios:
    """The financial-ethics figures R1–R4 (002_8b3eb659ad96bcac.txt L3377-3391).

    Attributes:
        r1: financial income ÷ potential aid.
        r2: dividends paid ÷ self-financing capacity.
        r3: shareholder-only dividends ÷ requested grant; None when no grant is requested.
        r4: shareholder-executives' total pay (a figure, not a ratio).
    """

    r1: Decimal
    r2: Decimal
    r3: Decimal | None
    r4: Money

    def to_dict(self) -> dict[str, str | None]:
        return {
            "R1": str(self.r1),
            "R2": str(self.r2),
            "R3": None if self.r3 is None else str(self.r3),
            "R4": str(self.r4),
        }


def compute_ratios(facts: AppraisalFacts) -> Ratios:
    """Compute R1–R4 from the appraisal facts (rules R1–R4 of the rule book)."""
    grant = facts.grant_requested
    return Ratios(
        r1=ratio(facts.financial_income.amount, facts.requested.amount),
        r2=ratio(facts.dividends_paid.amount, facts.self_financing_capacity),
        r3=None if grant.is_zero() else ratio(facts.shareholder_dividends.amount, grant.amount),
        r4=facts.executive_total_pay,
    )


# ------------------------------------------------------------------------- grid


def _refs(values: Iterable[LegalReference]) -> tuple[LegalReference, ...]:
    refs = tuple(values)
    if not refs:
        msg = "a modulation grid needs at least one legal reference"
        raise InvalidValue(msg, field="references", value=[])
    return refs


@frozen
class GridValue:
    """A single grid parameter with its legal basis and a note (the sources give no number)."""

    value: Decimal = field(converter=_to_fraction, validator=_fraction)
    reference: LegalReference
    note: str = ""


@frozen
class ScoreBand:
    """Impact Score band: applies when the lowest axis score is at least ``at_least``."""

    at_least: int
    factor: Decimal = field(converter=_to_fraction, validator=_fraction)
    reference: LegalReference
    note: str = ""

    def __attrs_post_init__(self) -> None:
        if isinstance(self.at_least, bool) or not 0 <= self.at_least <= 100:  # noqa: PLR2004 - score scale
            msg = f"score band threshold must be a whole number from 0 to 100, got {self.at_least!r}"
            raise InvalidValue(msg, field="at_least", value=self.at_least)


@frozen
class RatioStep:
    """A ratio threshold: applies when the ratio is strictly above ``above``.

    ``factor`` None means the aid is refused ("voire à la refuser", L3369).
    """

    above: Decimal = field(converter=_to_threshold)
    factor: Decimal | None = field(converter=_to_optional_fraction, validator=_optional_fraction)
    reference: LegalReference
    note: str = ""

    def __attrs_post_init__(self) -> None:
        if self.above < 0:
            msg = f"a ratio threshold must not be negative, got {self.above}"
            raise InvalidValue(msg, field="above", value=str(self.above))


def _bands(values: Iterable[ScoreBand]) -> tuple[ScoreBand, ...]:
    bands = tuple(sorted(values, key=lambda b: b.at_least, reverse=True))
    thresholds = [b.at_least for b in bands]
    if 0 not in thresholds:
        msg = "the score bands must include one at 0, so that every score has a factor"
        raise InvalidValue(msg, field="score_bands", value=thresholds)
    if len(set(thresholds)) != len(thresholds):
        msg = f"score band thresholds must be unique, got {thresholds}"
        raise InvalidValue(msg, field="score_bands", value=thresholds)
    return bands


def _steps(values: Iterable[RatioStep]) -> tuple[RatioStep, ...]:
    steps = tuple(sorted(values, key=lambda s: s.above, reverse=True))
    thresholds = [s.above for s in steps]
    if len(set(thresholds)) != len(thresholds):
        msg = f"ratio thresholds must be unique, got {[str(t) for t in thresholds]}"
        raise InvalidValue(msg, field="steps", value=[str(t) for t in thresholds])
    return steps


@frozen
class Modulation:
    """What a grid made of an Impact Score and ratios: a factor, or a refusal."""

    factor: Decimal
    refused: bool
    reasons: tuple[str, ...]
    explanation: Explanation


@frozen
class ModulationGrid:
    """An effective-dated grid turning Impact Score and R1–R3 into an intensity factor.

    The factor is the Impact Score factor (band of the lowest axis, plus the progress bonus,
    at most 1) times one factor per ratio (the step with the highest threshold the ratio is
    strictly above; 1 when none). A step without factor refuses the aid.

    Attributes:
        grid_id: "default" or the scheme's grid name.
        effective_from: first day the grid applies.
        references: the grid's legal basis (the appraisal criteria).
        score_bands: Impact Score bands, one at 0 at least.
        progress_bonus: added to the Impact Score factor when the latest self-diagnosis
            improves on the baseline on at least one axis and regresses on none (L3397).
        r1_steps, r2_steps, r3_steps: thresholds for R1–R3.
        scheme: the scheme code the grid is for; None for the default grid.
        effective_until: last day the grid applies; None while in force.
        description: what the grid is.
    """

    grid_id: str
    effective_from: date
    references: tuple[LegalReference, ...] = field(converter=_refs)
    score_bands: tuple[ScoreBand, ...] = field(converter=_bands)
    progress_bonus: GridValue
    r1_steps: tuple[RatioStep, ...] = field(default=(), converter=_steps)
    r2_steps: tuple[RatioStep, ...] = field(default=(), converter=_steps)
    r3_steps: tuple[RatioStep, ...] = field(default=(), converter=_steps)
    scheme: str | None = None
    effective_until: date | None = None
    description: str = ""

    @property
    def version_id(self) -> str:
        """``grid_id@effective_from``, recorded with every appraisal."""
        return f"{self.grid_id}@{self.effective_from.isoformat()}"

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)

    def score_band(self, lowest: int) -> ScoreBand:
        """The band with the highest threshold the lowest axis score reaches."""
        for band in self.score_bands:
            if lowest >= band.at_least:
                return band
        return self.score_bands[-1]

    def modulate(
        self, scores: ImpactScores | None, baseline: ImpactScores | None, ratios: Ratios
    ) -> Modulation:
        """Apply the grid. Pure; the explanation names every band and step used."""
        impact_factor, impact_node = self._impact_factor(scores, baseline)
        factor = impact_factor
        reasons: list[str] = []
        nodes = [impact_node]
        for rule_id, value, steps in (
            ("R1", ratios.r1, self.r1_steps),
            ("R2", ratios.r2, self.r2_steps),
            ("R3", ratios.r3, self.r3_steps),
        ):
            step = _step_for(value, steps)
            if value is None:
                nodes.append(Explanation(f"{rule_id} factor", "1 (not applicable)", "no grant requested"))
            elif step is None:
                nodes.append(Explanation(f"{rule_id} factor", "1", f"{rule_id} {value} above no threshold"))
            elif step.factor is None:
                reasons.append(f"{rule_id} {value} is above {step.above}: refusal ({step.note})")
                nodes.append(
                    Explanation(
                        f"{rule_id} factor", f"refusal ({rule_id} {value} > {step.above})", _cite(step)
                    )
                )
            else:
                factor *= step.factor
                nodes.append(
                    Explanation(
                        f"{rule_id} factor",
                        str(step.factor),
                        f"{rule_id} {value} > {step.above}; {_cite(step)}",
                    )
                )
        refused = bool(reasons)
        final = (
            ZERO.quantize(RATIO_PLACES)
            if refused
            else min(factor, ONE).quantize(RATIO_PLACES, rounding=ROUND_DOWN)
        )
        explanation = Explanation(
            f"modulation (grid {self.version_id})",
            "refused" if refused else f"factor {final}",
            "product of the Impact Score factor and the R1–R3 factors",
            tuple(nodes),
        )
        return Modulation(final, refused, tuple(reasons), explanation)

    def _impact_factor(
        self, scores: ImpactScores | None, baseline: ImpactScores | None
    ) -> tuple[Decimal, Explanation]:
        if scores is None:
            return ONE, Explanation("Impact Score factor", "1 (no self-diagnosis required)", "E1 exemption")
        band = self.score_band(scores.lowest)
        children = [
            Explanation(
                "lowest axis score",
                str(scores.lowest),
                ", ".join(f"{a} {s}" for a, s in scores.as_dict().items()),
            ),
            Explanation(f"band ≥ {band.at_least}", str(band.factor), _cite(band)),
        ]
        factor = band.factor
        if baseline is not None:
            deltas = {axis: getattr(scores, axis) - getattr(baseline, axis) for axis in AXES}
            improved = any(d > 0 for d in deltas.values()) and all(d >= 0 for d in deltas.values())
            children.append(
                Explanation(
                    "progress since baseline",
                    ", ".join(f"{a} {d:+d}" for a, d in deltas.items()),
                    "002_8b3eb659ad96bcac.txt L3397",
                )
            )
            if improved:
                factor = min(ONE, factor + self.progress_bonus.value)
                children.append(
                    Explanation("progress bonus", str(self.progress_bonus.value), _cite(self.progress_bonus))
                )
        return factor, Explanation(
            "Impact Score factor", str(factor), "002_8b3eb659ad96bcac.txt L3369-3373", tuple(children)
        )


def _step_for(value: Decimal | None, steps: tuple[RatioStep, ...]) -> RatioStep | None:
    if value is None:
        return None
    for step in steps:
        if value > step.above:
            return step
    return None


def _cite(item: ScoreBand | RatioStep | GridValue) -> str:
    text = str(item.reference)
    return f"{text}; {item.note}" if item.note else text


def _grids(values: Iterable[ModulationGrid]) -> tuple[ModulationGrid, ...]:
    return tuple(sorted(values, key=lambda g: (g.scheme or "", g.effective_from)))


@frozen
class ModulationGrids:
    """All grids: the default one(s) and per-scheme ones, each effective-dated."""

    grids: tuple[ModulationGrid, ...] = field(converter=_grids)

    def grid_for(self, scheme: str | None, on: date) -> ModulationGrid:
        """The scheme's own grid in force on ``on``, else the default grid in force.

        Raises:
            NoRulesInForce: no grid applies on ``on``.
        """
        for wanted in ((scheme,) if scheme else ()) + (None,):
            candidates = [g for g in self.grids if g.scheme == wanted and g.applies_on(on)]
            if candidates:
                return max(candidates, key=lambda g: g.effective_from)
        msg = f"no modulation grid applies to scheme {scheme!r} on {on.isoformat()}"
        raise NoRulesInForce(msg, field="on", value=on.isoformat())


# --------------------------------------------------------------------- appraise


@frozen
class AppraisalResult:
    """An appraisal: ratios, the intensity factor or a refusal, and how they were computed.

    Attributes:
        factor: the intensity factor in 0..1 (0 when refused).
        refused: whether the grid refuses the aid.
        refusal_reasons: the grid steps that refused it.
        ratios: R1–R4.
        grid_version: the grid's ``version_id``.
        rulebook_version: the rule-book version applied.
        facts: the inputs read.
        explanation: inputs, each ratio, each factor.
    """

    factor: Decimal
    refused: bool
    refusal_reasons: tuple[str, ...]
    ratios: Ratios
    grid_version: str
    rulebook_version: str
    facts: AppraisalFacts
    explanation: Explanation

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": str(self.factor),
            "refused": self.refused,
            "refusal_reasons": list(self.refusal_reasons),
            "ratios": self.ratios.to_dict(),
            "grid_version": self.grid_version,
            "rulebook_version": self.rulebook_version,
            "explanation": self.explanation.to_dict(),
        }


def appraise(facts: AppraisalFacts, grid: ModulationGrid, rules: RuleBookVersion) -> AppraisalResult:
    """Compute R1–R4 and the intensity factor (or a refusal) on ``facts.on``.

    Args:
        facts: the appraisal facts.
        grid: the modulation grid (``ModulationGrids.grid_for(scheme, facts.on)``).
        rules: the rule-book version in force on ``facts.on``.

    Raises:
        NoRulesInForce: the grid does not apply on ``facts.on``.
    """
    if not grid.applies_on(facts.on):
        msg = f"modulation grid {grid.version_id} does not apply on {facts.on.isoformat()}"
        raise NoRulesInForce(msg, field="on", value=facts.on.isoformat())
    ratios = compute_ratios(facts)
    modulation = grid.modulate(facts.scores, facts.baseline_scores, ratios)
    inputs = Explanation(
        "inputs",
        "",
        "appraise step",
        tuple(
            Explanation(name, "(not given)" if value is None else str(value), "input")
            for name, value in _input_items(facts)
        ),
    )
    figures = (
        rules.rule("R1").explain(
            str(ratios.r1), (Explanation("formula", f"{facts.financial_income} ÷ {facts.requested}"),)
        ),
        rules.rule("R2").explain(
            str(ratios.r2),
            (Explanation("formula", f"{facts.dividends_paid} ÷ {facts.self_financing_capacity}"),),
        ),
        rules.rule("R3").explain(
            "not applicable (no grant requested)" if ratios.r3 is None else str(ratios.r3),
            (Explanation("formula", f"{facts.shareholder_dividends} ÷ {facts.grant_requested}"),),
        ),
        rules.rule("R4").explain(str(ratios.r4)),
    )
    root = Explanation(
        f"Appraisal on {facts.on.isoformat()} (rule book {rules.version_id}, grid {grid.version_id})",
        "refused" if modulation.refused else f"factor {modulation.factor}",
        rules.rule("MODULATION").source,
        (inputs, *figures, modulation.explanation),
    )
    return AppraisalResult(
        factor=modulation.factor,
        refused=modulation.refused,
        refusal_reasons=modulation.reasons,
        ratios=ratios,
        grid_version=grid.version_id,
        rulebook_version=rules.version_id,
        facts=facts,
        explanation=root,
    )


def _input_items(facts: AppraisalFacts) -> list[tuple[str, object]]:
    return [
        ("requested", facts.requested),
        ("requested_grant", facts.grant_requested),
        ("financial_income", facts.financial_income),
        ("dividends_paid", facts.dividends_paid),
        ("self_financing_capacity", facts.self_financing_capacity),
        ("shareholder_dividends", facts.shareholder_dividends),
        ("executive_total_pay", facts.executive_total_pay),
        ("eligible_expenses", facts.eligible_expenses),
    ]


# ------------------------------------------------------------------------- caps


def _ledger(values: Iterable[GrantedAid]) -> tuple[GrantedAid, ...]:
    return tuple(values)


def _optional_size(value: object) -> CompanySize | None:
    if value is None or isinstance(value, CompanySize):
        return value
    try:
        return CompanySize(str(value))
    except ValueError:
        allowed = ", ".join(s.value for s in CompanySize)
        msg = f"company size must be one of {allowed}, got {value!r}"
        raise InvalidValue(msg, field="size", value=value) from None


def _factor(value: object) -> Decimal:
    return _decimal(value, "intensity_factor")


@frozen
class AwardCapFacts:
    """Everything the caps read, on the award (or appraisal) date.

    Attributes:
        on: the day the maximum is computed (the award decision date).
        requested: the amount requested.
        terms: the scheme's terms in force on ``on`` (``AidScheme.terms_on(on)``).
        size: the applicant's size class (GBER intensity); None for non-companies.
        eligible_expenses: eligible expenses (GBER intensity cap).
        intensity_factor: the appraisal's factor (``AppraisalResult.factor``); 1 if not appraised.
        refused: the appraisal refused the aid.
        appraisal_grid: the grid version the factor comes from, for the record.
        de_minimis_ledger: the company's aids granted (``Company.aids_granted``).
    """

    on: date = field(converter=as_date)
    requested: Money = field(converter=to_money)
    terms: SchemeTerms
    size: CompanySize | None = field(default=None, converter=_optional_size)
    eligible_expenses: Money | None = field(default=None, converter=optional_money)
    intensity_factor: Decimal = field(default=ONE, converter=_factor, validator=_fraction)
    refused: bool = False
    appraisal_grid: str | None = None
    de_minimis_ledger: tuple[GrantedAid, ...] = field(default=(), converter=_ledger)

    @classmethod
    def after(cls, appraisal: AppraisalResult, **facts: Any) -> AwardCapFacts:  # noqa: ANN401 - mirrors the fields
        """Facts carrying an appraisal's factor, refusal and grid version."""
        return cls(
            intensity_factor=appraisal.factor,
            refused=appraisal.refused,
            appraisal_grid=appraisal.grid_version,
            **facts,
        )


@frozen
class Cap:
    """One cap on the award: which rule, what it is, its value and its basis."""

    rule: str
    label: str
    value: Money
    source: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "label": self.label, "value": str(self.value), "source": self.source}


@frozen
class CapResult:
    """The maximum the Region may award, and the caps that bind.

    Attributes:
        maximum: the smallest cap; the award is at most this amount.
        caps: every cap computed.
        bound_by: the caps equal to the maximum (those that bind).
        refused: the appraisal refused the aid (maximum 0).
        rulebook_version: the rule-book version applied.
        facts: the inputs read.
        explanation: the inputs, each cap and which bound.
    """

    maximum: Money
    caps: tuple[Cap, ...]
    bound_by: tuple[Cap, ...]
    refused: bool
    rulebook_version: str
    facts: AwardCapFacts
    explanation: Explanation

    def check_award(self, split: AwardSplit) -> None:
        """Raise if an award exceeds the maximum or breaks the scheme's instrument split.

        Raises:
            CeilingExceeded: the total exceeds :attr:`maximum` (naming the binding caps), or an
                instrument's ceiling.
            NotAdmitted: an instrument the scheme does not offer.
        """
        self.facts.terms.check_award(split)
        if split.total > self.maximum:
            binding = ", ".join(f"{c.rule} {c.value}" for c in self.bound_by)
            msg = f"award {split.total} exceeds the maximum {self.maximum} (bound by {binding})"
            raise CeilingExceeded(msg, field="amount", value=str(split.total))

    def to_dict(self) -> dict[str, Any]:
        return {
            "maximum": str(self.maximum),
            "refused": self.refused,
            "bound_by": [c.to_dict() for c in self.bound_by],
            "caps": [c.to_dict() for c in self.caps],
            "rulebook_version": self.rulebook_version,
            "explanation": self.explanation.to_dict(),
        }


def round_down(value: Decimal) -> Money:
    """Round a computed cap down to the cent, so that the exact legal cap is never exceeded."""
    return Money(max(value, ZERO).quantize(CENT, rounding=ROUND_DOWN))


def compute_award_cap(facts: AwardCapFacts, rules: RuleBookVersion) -> CapResult:
    """The maximum amount the Region may award, and the caps that bind (RULES.md §3).

    Caps: the amount requested (CAP-REQUESTED); the scheme ceiling (CAP-SCHEME); the sum of
    the instrument ceilings when every offered instrument has one (CAP-INSTRUMENT); for a GBER
    scheme with a modelled article, intensity × eligible expenses (CAP-GBER); the modulation
    (MODULATION: factor × the smallest of those); for a de minimis scheme, the headroom under
    the de minimis ceiling (CAP-DE-MINIMIS). A refused appraisal gives a maximum of 0.

    Raises:
        MissingFact: a GBER intensity cap needs ``eligible_expenses`` or ``size``.
    """
    terms = facts.terms
    caps: list[Cap] = [
        Cap("CAP-REQUESTED", "amount requested", facts.requested, rules.rule("CAP-REQUESTED").source)
    ]
    notes: list[Explanation] = []
    if terms.ceiling is not None:
        caps.append(Cap("CAP-SCHEME", "scheme ceiling", terms.ceiling, _basis(terms)))
    instrument_total = _instrument_total(terms)
    if instrument_total is not None:
        caps.append(Cap("CAP-INSTRUMENT", "sum of instrument ceilings", instrument_total, _basis(terms)))
    gber = _gber_cap(facts, rules, notes)
    if gber is not None:
        caps.append(gber)
    if facts.refused:
        caps.append(
            Cap("MODULATION", "appraisal refused the aid", Money.zero(), rules.rule("MODULATION").source)
        )
    elif facts.intensity_factor < ONE:
        base = min(c.value for c in caps)
        caps.append(
            Cap(
                "MODULATION",
                f"intensity factor {facts.intensity_factor} × {base}",
                round_down(base.amount * facts.intensity_factor),
                f"grid {facts.appraisal_grid}" if facts.appraisal_grid else rules.rule("MODULATION").source,
            )
        )
    if terms.regime is StateAidRegime.DE_MINIMIS:
        exposure, window_end = de_minimis_exposure(facts.de_minimis_ledger, facts.on, rules.de_minimis_years)
        headroom = rules.de_minimis_ceiling.minus_floor_zero(exposure)
        caps.append(
            Cap(
                "CAP-DE-MINIMIS",
                f"de minimis headroom {rules.de_minimis_ceiling} − {exposure} "
                f"(window ending {window_end.isoformat()})",
                headroom,
                rules.rule("CAP-DE-MINIMIS").source,
            )
        )
    maximum = min(c.value for c in caps)
    bound_by = tuple(c for c in caps if c.value == maximum)
    explanation = Explanation(
        f"Award maximum on {facts.on.isoformat()} (rule book {rules.version_id})",
        str(maximum),
        "the smallest cap",
        (
            *(
                Explanation(
                    f"{c.rule} {c.label}",
                    f"{c.value}{' (binds)' if c in bound_by else ''}",
                    c.source,
                )
                for c in caps
            ),
            *notes,
        ),
    )
    return CapResult(maximum, tuple(caps), bound_by, facts.refused, rules.version_id, facts, explanation)


def _basis(terms: SchemeTerms) -> str:
    return "; ".join(str(ref) for ref in terms.legal_basis)


def _instrument_total(terms: SchemeTerms) -> Money | None:
    ceilings = [terms.instrument_ceiling(instrument) for instrument in terms.instruments]
    if not ceilings or any(c is None for c in ceilings):
        return None
    return Money.total(c for c in ceilings if c is not None)


def _gber_cap(facts: AwardCapFacts, rules: RuleBookVersion, notes: list[Explanation]) -> Cap | None:
    terms = facts.terms
    if terms.regime is not StateAidRegime.GBER:
        return None
    article = gber_article_number(terms.gber_article or "")
    rule = rules.rule("CAP-GBER")
    if article is None or not rules.models_gber_article(article):
        notes.append(
            Explanation(
                "CAP-GBER intensity cap",
                f"not modelled for {terms.gber_article or 'an unnamed GBER article'}",
                "; ".join(rule.unmodelled),
            )
        )
        return None
    if facts.eligible_expenses is None:
        msg = (
            f"GBER art. {article} caps the aid at a share of eligible expenses: eligible_expenses is required"
        )
        raise MissingFact(msg, field="eligible_expenses", value=None)
    if facts.size is None:
        msg = f"GBER art. {article} intensity depends on the company size: size is required"
        raise MissingFact(msg, field="size", value=None)
    row = rules.gber_intensity(article, facts.size)
    if row is None:
        return Cap(
            "CAP-GBER",
            f"GBER art. {article}: no intensity for a {facts.size.value} company",
            Money.zero(),
            rule.source,
        )
    return Cap(
        "CAP-GBER",
        f"GBER art. {article} intensity {row.rate} × eligible expenses {facts.eligible_expenses} "
        f"({facts.size.value})",
        round_down(facts.eligible_expenses.amount * row.rate),
        str(row.reference),
    )
