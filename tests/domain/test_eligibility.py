"""The eligibility gate E1–E5 (RULES.md §3, level 2): every failing condition is reported."""


from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from aidflow.domain.company import SelfDiagnosis
from aidflow.domain.eligibility import (
    Commitment,
    EligibilityFacts,
    check_eligibility,
)
from aidflow.domain.errors import InvalidValue
from aidflow.domain.rulebook import default_rulebook
from aidflow.domain.scheme import SchemeTerms
from aidflow.domain.values import BeneficiaryKind, LegalReference

ON = date(2024, 2, 1)
RULES = default_rulebook().version_on(ON)
SCORES = {
    "impact_strategy": 55,
    "social_impact": 60,
    "ecological_impact": 40,
    "power_sharing": 35,
    "value_sharing": 50,
}
ALL_COMMITMENTS = ["environmental_footprint", "non_discrimination", "decent_work", "career_development"]


def facts(**changes: Any) -> EligibilityFacts:
    """The DOSSIER.md example's eligibility step (eligible), with ``changes``."""
    base: dict[str, Any] = {
        "on": ON,
        "beneficiary_kind": "company",
        "staff": 42,
        "self_diagnosis": SelfDiagnosis(date(2024, 1, 20), "full", SCORES),
        "tax_and_social_compliant": True,
        "equity": "800000.00",
        "court_proceedings": False,
        "real_estate": False,
        "commitments": ALL_COMMITMENTS,
        "environmental_measures": "Heat recovery on the new kiln line",
    }
    return EligibilityFacts(**{**base, **changes})


def rules_failed(**changes: Any) -> list[str]:
    return [f.rule for f in check_eligibility(facts(**changes), RULES).failures]


def test_dossier_example_is_eligible() -> None:
    result = check_eligibility(facts(), RULES)
    assert result.eligible
    assert result.to_dict() == {"eligible": True, "failures": []}
    assert result.rulebook_version == "2022-11-25"


# ------------------------------------------------------------------------ E1


def test_E1_missing_self_diagnosis_fails() -> None:
    result = check_eligibility(facts(self_diagnosis=None), RULES)
    assert not result.eligible
    assert result.to_dict()["failures"] == [
        {
            "rule": "E1",
            "value": "no self-diagnosis",
            "source": "002_8b3eb659ad96bcac.txt L3333-3337, L20262-20264",
        }
    ]


def test_E1_simplified_module_for_a_TPE_passes() -> None:
    result = check_eligibility(
        facts(staff=8, self_diagnosis=SelfDiagnosis(date(2024, 1, 20), "simplified", SCORES)), RULES
    )
    assert result.eligible


def test_E1_simplified_module_for_42_staff_fails() -> None:
    result = check_eligibility(
        facts(self_diagnosis=SelfDiagnosis(date(2024, 1, 20), "simplified", SCORES)), RULES
    )
    assert [(f.rule, f.value) for f in result.failures] == [("E1", "simplified module for 42 staff")]


def test_E1_full_module_for_a_TPE_fails() -> None:
    assert rules_failed(staff=9) == ["E1"]


def test_E1_module_not_checked_when_staff_unknown() -> None:
    assert rules_failed(staff=None, beneficiary_kind="association") == []


def test_E1_self_diagnosis_after_the_eligibility_date_fails() -> None:
    later = SelfDiagnosis(date(2024, 2, 2), "full", SCORES)
    result = check_eligibility(facts(self_diagnosis=later), RULES)
    assert [(f.rule, f.value) for f in result.failures] == [("E1", "2024-02-02")]


@pytest.mark.parametrize("kind", ["public_body", "research_organisation"])
def test_E1_not_required_of_public_bodies_and_research_organisations_by_default(kind: str) -> None:
    result = check_eligibility(facts(beneficiary_kind=kind, self_diagnosis=None, staff=None), RULES)
    assert result.eligible
    node = result.explanation.find("E1")
    assert node is not None
    assert node.value.startswith("exempt")


@pytest.mark.parametrize("kind", ["company", "association", "farm"])
def test_E1_required_of_companies_associations_and_farms(kind: str) -> None:
    assert rules_failed(beneficiary_kind=kind, self_diagnosis=None) == ["E1"]


def test_E1_exemptions_are_configurable_per_scheme() -> None:
    terms = SchemeTerms(
        instruments=["grant"],
        admitted_kinds=["research_organisation"],
        legal_basis=[LegalReference("Délibération test")],
        regime="none",
        self_diagnosis_exempt_kinds=[],
    )
    built = EligibilityFacts.under(
        terms,
        on=ON,
        beneficiary_kind="research_organisation",
        tax_and_social_compliant=True,
        equity="1.00",
        court_proceedings=False,
        real_estate=False,
        commitments=ALL_COMMITMENTS,
        environmental_measures="x",
    )
    assert [f.rule for f in check_eligibility(built, RULES).failures] == ["E1"]


# ------------------------------------------------------------------------ E2


def test_E2_tax_and_social_obligations_not_met_fails() -> None:
    result = check_eligibility(facts(tax_and_social_compliant=False), RULES)
    assert result.to_dict()["failures"] == [
        {"rule": "E2", "value": "false", "source": "002_8b3eb659ad96bcac.txt L3339"}
    ]


# ------------------------------------------------------------------------ E3


def test_E3_negative_equity_fails() -> None:
    result = check_eligibility(facts(equity="-12000.00"), RULES)
    assert result.to_dict()["failures"] == [
        {"rule": "E3", "value": "-12000.00", "source": "002_8b3eb659ad96bcac.txt L3339-3343"}
    ]


def test_E3_zero_equity_is_not_positive() -> None:
    assert rules_failed(equity="0.00") == ["E3"]


def test_E3_one_cent_of_equity_passes() -> None:
    assert rules_failed(equity="0.01") == []


def test_E3_waived_for_firms_in_difficulty() -> None:
    result = check_eligibility(facts(equity="-12000.00", for_firms_in_difficulty=True), RULES)
    assert result.eligible
    node = result.explanation.find("E3")
    assert node is not None
    assert node.value.startswith("waived")


def test_E3_equity_as_float_is_refused() -> None:
    with pytest.raises(InvalidValue, match="equity"):
        facts(equity=1.5)


# ------------------------------------------------------------------------ E4


def test_E4_court_proceedings_in_progress_fails() -> None:
    assert rules_failed(court_proceedings=True) == ["E4"]


def test_E4_waived_for_firms_in_difficulty() -> None:
    assert rules_failed(court_proceedings=True, equity="-1.00", for_firms_in_difficulty=True) == []


def test_E3_E4_waiver_does_not_waive_E1_E2_E5() -> None:
    failed = rules_failed(
        for_firms_in_difficulty=True, self_diagnosis=None, tax_and_social_compliant=False, commitments=[]
    )
    assert failed == ["E1", "E2", "E5", "E5", "E5", "E5"]


def test_E3_E4_waiver_copied_from_scheme_terms() -> None:
    terms = SchemeTerms(
        instruments=["advance"],
        admitted_kinds=["company"],
        legal_basis=[LegalReference("Délibération test")],
        regime="de_minimis",
        for_firms_in_difficulty=True,
    )
    recorded = facts().to_dict()
    del recorded["for_firms_in_difficulty"], recorded["self_diagnosis_exempt_kinds"]
    built = EligibilityFacts.under(terms, **{**recorded, "equity": "-5.00", "court_proceedings": True})
    assert built.for_firms_in_difficulty
    assert check_eligibility(built, RULES).eligible


# ------------------------------------------------------------------------ E5


@pytest.mark.parametrize(
    ("missing", "source"),
    [
        ("environmental_footprint", "002_8b3eb659ad96bcac.txt L3347"),
        ("non_discrimination", "002_8b3eb659ad96bcac.txt L3349"),
        ("decent_work", "002_8b3eb659ad96bcac.txt L3351-3353"),
        ("career_development", "002_8b3eb659ad96bcac.txt L3355"),
    ],
)
def test_E5_each_missing_commitment_a_to_d_fails(missing: str, source: str) -> None:
    result = check_eligibility(facts(commitments=[c for c in ALL_COMMITMENTS if c != missing]), RULES)
    assert result.to_dict()["failures"] == [
        {"rule": "E5", "value": f"{missing} not committed", "source": source}
    ]


def test_E5_real_estate_without_land_take_measures_fails() -> None:
    result = check_eligibility(facts(real_estate=True), RULES)
    assert result.to_dict()["failures"] == [
        {"rule": "E5", "value": "land_take_measures empty", "source": "002_8b3eb659ad96bcac.txt L3357-3359"}
    ]
    assert rules_failed(real_estate=True, land_take_measures="   ") == ["E5"]


def test_E5_real_estate_with_land_take_measures_passes() -> None:
    assert rules_failed(real_estate=True, land_take_measures="Built on a brownfield site") == []


def test_E5_land_take_measures_not_required_without_real_estate() -> None:
    assert rules_failed(real_estate=False, land_take_measures=None) == []


@pytest.mark.parametrize("text", ["", "   \n"])
def test_E5_environmental_measures_always_required(text: str) -> None:
    result = check_eligibility(facts(environmental_measures=text), RULES)
    assert [(f.rule, f.value) for f in result.failures] == [("E5", "environmental_measures empty")]


def test_E5_unknown_commitment_is_refused() -> None:
    with pytest.raises(InvalidValue, match="commitment 'greenwashing'"):
        facts(commitments=[*ALL_COMMITMENTS, "greenwashing"])


def test_E5_duplicate_commitments_count_once() -> None:
    built = facts(commitments=[*ALL_COMMITMENTS, "decent_work"])
    assert built.commitments == tuple(Commitment)


# --------------------------------------------------------------- all failures


def test_E1_E2_E3_E4_E5_every_failure_is_reported_not_only_the_first() -> None:
    """L3363: "Tout défaut d'une seule de ces conditions conduira au rejet"."""
    result = check_eligibility(
        facts(
            self_diagnosis=None,
            tax_and_social_compliant=False,
            equity="-1.00",
            court_proceedings=True,
            real_estate=True,
            commitments=[],
            environmental_measures="",
        ),
        RULES,
    )
    assert not result.eligible
    assert [f.rule for f in result.failures] == ["E1", "E2", "E3", "E4", "E5", "E5", "E5", "E5", "E5", "E5"]
    assert result.failed_rules == ("E1", "E2", "E3", "E4", "E5")
    assert result.explanation.value == "ineligible: E1, E2, E3, E4, E5"


def test_E1_to_E5_explanation_lists_every_rule_and_renders_as_a_tree() -> None:
    result = check_eligibility(facts(equity="-12000.00"), RULES)
    labels = [child.label for child in result.explanation.children]
    assert [label.split()[0] for label in labels] == ["E1", "E2", "E3", "E4", "E5"]
    text = result.explanation.render_text()
    assert text.splitlines()[0] == (
        "Eligibility on 2024-02-01 (rule book 2022-11-25): ineligible: E3 "
        "[002_8b3eb659ad96bcac.txt L3363, L20306]"
    )
    assert "├─ E3 positive equity: fail [002_8b3eb659ad96bcac.txt L3339-3343]" in text
    assert "│  └─ equity: -12000.00 [input]" in text


def test_E1_to_E5_facts_round_trip_through_dict() -> None:
    original = facts(real_estate=True, land_take_measures="brownfield", staff=Decimal("12.5"))
    assert EligibilityFacts.from_dict(original.to_dict()) == original


def test_E1_to_E5_audit_dict_records_version_facts_and_explanation() -> None:
    audit = check_eligibility(facts(), RULES).to_audit_dict()
    assert audit["rulebook_version"] == "2022-11-25"
    assert audit["facts"]["equity"] == "800000.00"
    assert audit["explanation"]["children"][0]["label"].startswith("E1")


def test_E2_beneficiary_kind_must_be_known() -> None:
    with pytest.raises(ValueError, match="'startup'"):
        facts(beneficiary_kind="startup")


def test_E1_kind_enum_accepted() -> None:
    assert facts(beneficiary_kind=BeneficiaryKind.FARM).beneficiary_kind is BeneficiaryKind.FARM


def test_equity_with_more_than_cents_is_refused() -> None:
    with pytest.raises(InvalidValue, match="more than 2 decimal places") as refused:
        facts(equity="12.345")
    assert refused.value.field == "equity"
    assert facts(equity="-12.30").equity == Decimal("-12.30")
