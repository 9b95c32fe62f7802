"""The eligibility gate E1–E5 (RULES.md §3, level 2), a pure function.

"Tout défaut d'une seule de ces conditions conduira au rejet de la demande d'aide"
(002_8b3eb659ad96bcac.txt L3363, L20306): any single failure rejects the application, and
:func:`check_eligibility` reports **every** failing condition, never only the first.

* E1 Impact Score self-diagnosis (L3333-3337, L20262-20264), simplified module under 10 staff;
  not required of the kinds the scheme exempts (default: public bodies, research organisations).
* E2 tax and social obligations met (L3339).
* E3 positive equity, E4 no court proceedings (L3339-3343); both waived by schemes for firms in
  difficulty.
* E5 commitments (L3345-3361): (a)–(d) always; (e) land-take measures iff the project has a
  real-estate part; the measures reducing the project's environmental impact always.

Unmodelled conditions are listed on each rule in :mod:`aidflow.domain.rulebook`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from attrs import field, frozen

from aidflow.domain.company import ImpactScores, SelfDiagnosis, required_module
from aidflow.domain.errors import InvalidValue
from aidflow.domain.rulebook import Explanation, RuleBookVersion
from aidflow.domain.scheme import SchemeTerms
from aidflow.domain.values import BeneficiaryKind, as_date, signed_amount

DEFAULT_EXEMPT_KINDS = (BeneficiaryKind.PUBLIC_BODY, BeneficiaryKind.RESEARCH_ORGANISATION)


class Commitment(StrEnum):
    """The commitments (a)–(d) of E5 (002_8b3eb659ad96bcac.txt L3347-3355)."""

    ENVIRONMENTAL_FOOTPRINT = "environmental_footprint"
    """(a) "Réduire son l'empreinte environnementale et améliorer son efficacité énergétique"."""
    NON_DISCRIMINATION = "non_discrimination"
    """(b) "Lutter contre les discriminations de toute nature"."""
    DECENT_WORK = "decent_work"
    """(c) "Assurer des conditions de travail décentes"."""
    CAREER_DEVELOPMENT = "career_development"
    """(d) "Favoriser l'évolution professionnelle de ses salariés"."""


COMMITMENT_LETTERS: dict[Commitment, str] = {
    Commitment.ENVIRONMENTAL_FOOTPRINT: "a",
    Commitment.NON_DISCRIMINATION: "b",
    Commitment.DECENT_WORK: "c",
    Commitment.CAREER_DEVELOPMENT: "d",
}

COMMITMENT_SOURCES: dict[Commitment, str] = {
    Commitment.ENVIRONMENTAL_FOOTPRINT: "002_8b3eb659ad96bcac.txt L3347",
    Commitment.NON_DISCRIMINATION: "002_8b3eb659ad96bcac.txt L3349",
    Commitment.DECENT_WORK: "002_8b3eb659ad96bcac.txt L3351-3353",
    Commitment.CAREER_DEVELOPMENT: "002_8b3eb659ad96bcac.txt L3355",
}
LAND_TAKE_SOURCE = "002_8b3eb659ad96bcac.txt L3357-3359"
ENVIRONMENTAL_MEASURES_SOURCE = "002_8b3eb659ad96bcac.txt L3359-3361"


def _commitments(values: Iterable[Any]) -> tuple[Commitment, ...]:
    if isinstance(values, str):
        values = (values,)
    result: list[Commitment] = []
    for value in values:
        try:
            commitment = Commitment(value)
        except ValueError:
            allowed = ", ".join(c.value for c in Commitment)
            msg = f"unknown commitment {value!r} (commitments: {allowed})"
            raise InvalidValue(msg, field="commitments", value=value) from None
        if commitment not in result:
            result.append(commitment)
    return tuple(result)


def _kinds(values: Iterable[Any]) -> tuple[BeneficiaryKind, ...]:
    return tuple(BeneficiaryKind(v) for v in values)


def _equity(value: object) -> Decimal:
    return signed_amount(value, "equity")


def _optional_staff(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool | float):
        msg = f"staff must be a whole or decimal number, not {type(value).__name__} {value!r}"
        raise InvalidValue(msg, field="staff", value=value)
    try:
        staff = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        msg = f"staff {value!r} is not a number"
        raise InvalidValue(msg, field="staff", value=value) from None
    if not staff.is_finite() or staff < 0:
        msg = f"staff must be a non-negative number, got {value!r}"
        raise InvalidValue(msg, field="staff", value=value)
    return staff


def _optional_diagnosis(value: object) -> SelfDiagnosis | None:
    if value is None or isinstance(value, SelfDiagnosis):
        return value
    if isinstance(value, Mapping):
        return SelfDiagnosis(as_date(value["on"]), value["module"], value["scores"])
    msg = f"self-diagnosis expected, got {value!r}"
    raise InvalidValue(msg, field="self_diagnosis", value=value)


@frozen
class EligibilityFacts:
    """Everything the gate reads: the ``eligibility`` dossier step, the applicant and its scheme.

    Attributes:
        on: the day the gate is evaluated (the dossier step's ``on``).
        beneficiary_kind: company, association, public body, research organisation, farm.
        staff: the applicant's headcount (FTE), to check the self-diagnosis module; None if
            unknown (then the module is not checked).
        self_diagnosis: the applicant's latest self-diagnosis on or before ``on``
            (``Company.latest_on(on)``), or None.
        tax_and_social_compliant: E2.
        equity: E3, fonds propres in euros (may be negative).
        court_proceedings: E4, whether court proceedings are in progress.
        real_estate: whether the project has a real-estate part (E5 (e)).
        commitments: E5 (a)–(d) made by the applicant.
        environmental_measures: E5, the measures reducing the project's environmental impact.
        land_take_measures: E5 (e), the measures limiting soil sealing.
        for_firms_in_difficulty: copied from the scheme's terms; waives E3 and E4.
        self_diagnosis_exempt_kinds: copied from the scheme's terms; kinds E1 does not apply to.
    """

    on: date = field(converter=as_date)
    beneficiary_kind: BeneficiaryKind = field(converter=BeneficiaryKind)
    tax_and_social_compliant: bool
    equity: Decimal = field(converter=_equity)
    court_proceedings: bool
    real_estate: bool
    commitments: tuple[Commitment, ...] = field(converter=_commitments)
    environmental_measures: str = ""
    land_take_measures: str | None = None
    staff: Decimal | None = field(default=None, converter=_optional_staff)
    self_diagnosis: SelfDiagnosis | None = field(default=None, converter=_optional_diagnosis)
    for_firms_in_difficulty: bool = False
    self_diagnosis_exempt_kinds: tuple[BeneficiaryKind, ...] = field(
        default=DEFAULT_EXEMPT_KINDS, converter=_kinds
    )

    @classmethod
    def under(cls, terms: SchemeTerms, **facts: Any) -> EligibilityFacts:  # noqa: ANN401 - mirrors the fields
        """Build facts for a scheme, copying its firms-in-difficulty flag and E1 exemptions."""
        return cls(
            for_firms_in_difficulty=terms.for_firms_in_difficulty,
            self_diagnosis_exempt_kinds=terms.self_diagnosis_exempt_kinds,
            **facts,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready facts (for recording with a decision); :meth:`from_dict` reverses it."""
        diagnosis = self.self_diagnosis
        return {
            "on": self.on.isoformat(),
            "beneficiary_kind": self.beneficiary_kind.value,
            "tax_and_social_compliant": self.tax_and_social_compliant,
            "equity": str(self.equity),
            "court_proceedings": self.court_proceedings,
            "real_estate": self.real_estate,
            "commitments": [c.value for c in self.commitments],
            "environmental_measures": self.environmental_measures,
            "land_take_measures": self.land_take_measures,
            "staff": None if self.staff is None else str(self.staff),
            "self_diagnosis": None
            if diagnosis is None
            else {
                "on": diagnosis.on.isoformat(),
                "module": diagnosis.module.value,
                "scores": diagnosis.scores.as_dict(),
            },
            "for_firms_in_difficulty": self.for_firms_in_difficulty,
            "self_diagnosis_exempt_kinds": [k.value for k in self.self_diagnosis_exempt_kinds],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EligibilityFacts:
        """Rebuild facts from :meth:`to_dict` output."""
        return cls(**data)


@frozen
class Failure:
    """One failing eligibility condition.

    Attributes:
        rule: the rule id ("E3").
        value: the offending input, as text ("-12000.00", "non_discrimination not committed").
        source: the source line range of the condition.
        message: a sentence for people.
    """

    rule: str
    value: str
    source: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """``{"rule", "value", "source"}`` as in DOSSIER.md's result."""
        return {"rule": self.rule, "value": self.value, "source": self.source}


@frozen
class EligibilityResult:
    """The gate's outcome, with what it read and the rule-book version it applied.

    Attributes:
        eligible: True iff there is no failure.
        failures: every failing condition, in rule order E1…E5.
        rulebook_version: the rule-book version id applied ("2022-11-25").
        facts: the inputs read (re-evaluating them gives the same result).
        explanation: each rule checked, its input and outcome (pass / fail / waived / exempt).
    """

    eligible: bool
    failures: tuple[Failure, ...]
    rulebook_version: str
    facts: EligibilityFacts
    explanation: Explanation

    @property
    def failed_rules(self) -> tuple[str, ...]:
        """The ids of the failing rules, each once, in order."""
        return tuple(dict.fromkeys(f.rule for f in self.failures))

    def to_dict(self) -> dict[str, Any]:
        """``{"eligible": bool, "failures": [{"rule", "value", "source"}]}`` (DOSSIER.md)."""
        return {"eligible": self.eligible, "failures": [f.to_dict() for f in self.failures]}

    def to_audit_dict(self) -> dict[str, Any]:
        """The result plus its rule-book version, facts and explanation tree."""
        return {
            **self.to_dict(),
            "rulebook_version": self.rulebook_version,
            "facts": self.facts.to_dict(),
            "explanation": self.explanation.to_dict(),
        }


def check_eligibility(facts: EligibilityFacts, rules: RuleBookVersion) -> EligibilityResult:
    """Evaluate E1–E5 and report every failing condition.

    Args:
        facts: the applicant's eligibility facts on ``facts.on``.
        rules: the rule-book version in force on ``facts.on``.

    Returns:
        The result; ``eligible`` is False as soon as one condition fails
        (002_8b3eb659ad96bcac.txt L3363).
    """
    failures: list[Failure] = []
    nodes: list[Explanation] = []
    for check in (_check_e1, _check_e2, _check_e3, _check_e4, _check_e5):
        rule_failures, node = check(facts, rules)
        failures.extend(rule_failures)
        nodes.append(node)
    eligible = not failures
    root = Explanation(
        label=f"Eligibility on {facts.on.isoformat()} (rule book {rules.version_id})",
        value="eligible" if eligible else "ineligible: " + ", ".join(dict.fromkeys(f.rule for f in failures)),
        source="002_8b3eb659ad96bcac.txt L3363, L20306",
        children=tuple(nodes),
    )
    return EligibilityResult(eligible, tuple(failures), rules.version_id, facts, root)


_Checked = tuple[list[Failure], Explanation]


def _check_e1(facts: EligibilityFacts, rules: RuleBookVersion) -> _Checked:
    """E1: an Impact Score self-diagnosis with the module that fits the staff."""
    rule = rules.rule("E1")
    kind = facts.beneficiary_kind
    if kind in facts.self_diagnosis_exempt_kinds:
        return [], rule.explain(f"exempt ({kind.value} is not required to self-diagnose)")
    diagnosis = facts.self_diagnosis
    if diagnosis is None:
        failure = Failure("E1", "no self-diagnosis", rule.source, "no Impact Score self-diagnosis was made")
        return [failure], rule.explain("fail: no self-diagnosis")
    failures: list[Failure] = []
    read = [
        Explanation("self-diagnosis date", diagnosis.on.isoformat(), "input"),
        Explanation("module", diagnosis.module.value, "input"),
        Explanation("scores", _scores_text(diagnosis.scores), "input"),
    ]
    if diagnosis.on > facts.on:
        failures.append(
            Failure(
                "E1",
                diagnosis.on.isoformat(),
                rule.source,
                f"the self-diagnosis of {diagnosis.on.isoformat()} postdates the eligibility date "
                f"{facts.on.isoformat()}",
            )
        )
    if facts.staff is not None:
        expected = required_module(facts.staff, rules.simplified_module_staff_below)
        read.append(Explanation("staff", str(facts.staff), "input"))
        read.append(
            Explanation(
                "required module",
                expected.value,
                f"fewer than {rules.simplified_module_staff_below} employees → simplified (L20262-20264)",
            )
        )
        if diagnosis.module is not expected:
            failures.append(
                Failure(
                    "E1",
                    f"{diagnosis.module.value} module for {facts.staff} staff",
                    rule.source,
                    f"a company with {facts.staff} staff must use the {expected.value} module",
                )
            )
    return failures, rule.explain("fail" if failures else "pass", read)


def _scores_text(scores: ImpactScores) -> str:
    return ", ".join(f"{axis} {score}" for axis, score in scores.as_dict().items())


def _check_e2(facts: EligibilityFacts, rules: RuleBookVersion) -> _Checked:
    """E2: tax and social obligations met."""
    rule = rules.rule("E2")
    read = [Explanation("tax_and_social_compliant", _bool(facts.tax_and_social_compliant), "input")]
    if facts.tax_and_social_compliant:
        return [], rule.explain("pass", read)
    failure = Failure("E2", "false", rule.source, "tax and social obligations are not met")
    return [failure], rule.explain("fail", read)


def _check_e3(facts: EligibilityFacts, rules: RuleBookVersion) -> _Checked:
    """E3: strictly positive equity, unless the scheme is for firms in difficulty."""
    rule = rules.rule("E3")
    read = [Explanation("equity", str(facts.equity), "input")]
    if facts.for_firms_in_difficulty:
        return [], rule.explain("waived (scheme for firms in difficulty)", read)
    if facts.equity > 0:
        return [], rule.explain("pass", read)
    failure = Failure("E3", str(facts.equity), rule.source, f"equity {facts.equity} is not positive")
    return [failure], rule.explain("fail", read)


def _check_e4(facts: EligibilityFacts, rules: RuleBookVersion) -> _Checked:
    """E4: no court proceedings in progress, unless the scheme is for firms in difficulty."""
    rule = rules.rule("E4")
    read = [Explanation("court_proceedings", _bool(facts.court_proceedings), "input")]
    if facts.for_firms_in_difficulty:
        return [], rule.explain("waived (scheme for firms in difficulty)", read)
    if not facts.court_proceedings:
        return [], rule.explain("pass", read)
    failure = Failure("E4", "true", rule.source, "court proceedings are in progress")
    return [failure], rule.explain("fail", read)


def _check_e5(facts: EligibilityFacts, rules: RuleBookVersion) -> _Checked:
    """E5: commitments (a)–(d), land-take measures iff real estate, environmental measures."""
    rule = rules.rule("E5")
    failures: list[Failure] = []
    read: list[Explanation] = []
    for commitment in Commitment:
        letter = COMMITMENT_LETTERS[commitment]
        made = commitment in facts.commitments
        read.append(
            Explanation(
                f"({letter}) {commitment.value}",
                "committed" if made else "not committed",
                COMMITMENT_SOURCES[commitment],
            )
        )
        if not made:
            failures.append(
                Failure(
                    "E5",
                    f"{commitment.value} not committed",
                    COMMITMENT_SOURCES[commitment],
                    f"commitment ({letter}) {commitment.value} is missing",
                )
            )
    land_take = (facts.land_take_measures or "").strip()
    read.append(Explanation("real_estate", _bool(facts.real_estate), "input"))
    if facts.real_estate:
        read.append(Explanation("(e) land_take_measures", land_take or "(empty)", LAND_TAKE_SOURCE))
        if not land_take:
            failures.append(
                Failure(
                    "E5",
                    "land_take_measures empty",
                    LAND_TAKE_SOURCE,
                    "the project has a real-estate part but states no measure limiting soil sealing",
                )
            )
    environmental = facts.environmental_measures.strip()
    read.append(
        Explanation("environmental_measures", environmental or "(empty)", ENVIRONMENTAL_MEASURES_SOURCE)
    )
    if not environmental:
        failures.append(
            Failure(
                "E5",
                "environmental_measures empty",
                ENVIRONMENTAL_MEASURES_SOURCE,
                "no measure reducing the project's environmental impact is stated",
            )
        )
    return failures, rule.explain("fail" if failures else "pass", read)


def _bool(value: bool) -> str:
    return "true" if value else "false"


__all__ = [
    "Commitment",
    "EligibilityFacts",
    "EligibilityResult",
    "Failure",
    "check_eligibility",
]
