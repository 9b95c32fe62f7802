"""The rule book: versions by effective date, citations, unmodelled conditions, explanations."""


from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import attrs
import pytest

from aidflow.domain.appraisal import AwardCapFacts, compute_award_cap
from aidflow.domain.company import SelfDiagnosis
from aidflow.domain.eligibility import EligibilityFacts, check_eligibility
from aidflow.domain.errors import DateOutOfOrder, InvalidValue
from aidflow.domain.rulebook import (
    Explanation,
    NoRulesInForce,
    Rule,
    RuleBook,
    default_rulebook,
    gber_article_number,
)
from aidflow.domain.scheme import SchemeTerms
from aidflow.domain.values import LegalReference, Money

BOOK = default_rulebook()
SECTION_3_RULES = ("E1", "E2", "E3", "E4", "E5", "R1", "R2", "R3", "R4")
ALL_RULES = (
    *SECTION_3_RULES,
    "MODULATION",
    "CAP-REQUESTED",
    "CAP-SCHEME",
    "CAP-INSTRUMENT",
    "CAP-GBER",
    "CAP-DE-MINIMIS",
)
SCORES = {
    "impact_strategy": 55,
    "social_impact": 60,
    "ecological_impact": 40,
    "power_sharing": 35,
    "value_sharing": 50,
}


def test_E1_to_R4_rulebook_version_on_the_deliberation_date() -> None:
    version = BOOK.version_on(date(2022, 11, 25))
    assert version.version_id == "2022-11-25"
    assert BOOK.version_on(date(2030, 1, 1)) is BOOK.versions[-1]
    assert BOOK.valid_until("2022-11-25") is None


def test_E1_to_R4_no_rules_before_the_deliberation() -> None:
    with pytest.raises(NoRulesInForce, match="2022-11-24"):
        BOOK.version_on(date(2022, 11, 24))


@pytest.mark.parametrize("rule_id", ALL_RULES)
def test_E1_to_R4_and_caps_each_rule_has_text_source_references_and_unmodelled(rule_id: str) -> None:
    rule = BOOK.version_on(date(2024, 1, 1)).rule(rule_id)
    assert rule.text
    assert rule.source
    assert rule.references
    assert all(isinstance(ref, LegalReference) and ref.title for ref in rule.references)
    assert isinstance(rule.unmodelled, tuple)


@pytest.mark.parametrize(
    "rule_id", ["E1", "E2", "E3", "E4", "E5", "R1", "R2", "R3", "CAP-GBER", "CAP-DE-MINIMIS"]
)
def test_E1_to_R3_rules_list_what_they_do_not_model(rule_id: str) -> None:
    assert BOOK.version_on(date(2024, 1, 1)).rule(rule_id).unmodelled


def test_E3_source_is_the_srdeii_line_range() -> None:
    rule = BOOK.version_on(date(2024, 1, 1)).rule("E3")
    assert rule.source == "002_8b3eb659ad96bcac.txt L3339-3343"


def test_CAP_DE_MINIMIS_parameters_cite_regulation_2023_2831() -> None:
    version = BOOK.version_on(date(2024, 1, 1))
    assert version.de_minimis_ceiling == Money.of("300000")
    assert version.de_minimis_years == 3
    assert "2023/2831" in version.rule("CAP-DE-MINIMIS").references[0].title


def test_CAP_GBER_art_17_rows_and_article_parsing() -> None:
    version = BOOK.version_on(date(2024, 1, 1))
    assert version.models_gber_article("17")
    assert not version.models_gber_article("14")
    assert gber_article_number("Regulation (EU) No 651/2014, art. 17 (investment aid to SMEs)") == "17"
    assert gber_article_number("Article 25") == "25"
    assert gber_article_number("17") == "17"
    assert gber_article_number("regional aid") is None


def test_E1_unknown_rule_id_is_refused() -> None:
    with pytest.raises(InvalidValue, match="rule id"):
        Rule("E9", "x", "x", "x", [LegalReference("x")])
    with pytest.raises(InvalidValue, match="at least one legal reference"):
        Rule("E1", "x", "x", "x", [])
    with pytest.raises(NoRulesInForce):
        BOOK.versions[0].rule("CAP-UNKNOWN")


def test_E1_to_R4_version_id_is_its_effective_date() -> None:
    with pytest.raises(InvalidValue, match="2022-11-25"):
        attrs.evolve(BOOK.versions[0], version_id="v1")


def test_E1_to_R4_duplicate_rule_ids_are_refused() -> None:
    version = BOOK.versions[0]
    with pytest.raises(InvalidValue, match="E1"):
        attrs.evolve(version, rules=(*version.rules, version.rule("E1")))


# ------------------------------------------------------------ amendments


def amended_book() -> RuleBook:
    """A later version: simplified module up to 20 staff, de minimis 200 000 € (hypothetical)."""
    first = BOOK.versions[0]
    later = attrs.evolve(
        first,
        version_id="2026-01-01",
        effective_from=date(2026, 1, 1),
        simplified_module_staff_below=20,
        de_minimis_ceiling=Money.of("200000"),
        description="hypothetical amendment",
    )
    return BOOK.amended(later)


def facts(on: date) -> EligibilityFacts:
    return EligibilityFacts(
        on=on,
        beneficiary_kind="company",
        staff=15,
        self_diagnosis=SelfDiagnosis(date(2024, 1, 20), "full", SCORES),
        tax_and_social_compliant=True,
        equity="1000.00",
        court_proceedings=False,
        real_estate=False,
        commitments=["environmental_footprint", "non_discrimination", "decent_work", "career_development"],
        environmental_measures="Heat recovery",
    )


def test_E1_amendment_with_later_effective_date_never_changes_a_decision_already_taken() -> None:
    decided = check_eligibility(facts(date(2024, 2, 1)), BOOK.version_on(date(2024, 2, 1)))
    assert decided.eligible
    book = amended_book()
    # Re-evaluated from its recorded inputs and version id, or by its date: same decision.
    assert check_eligibility(decided.facts, book.version(decided.rulebook_version)) == decided
    assert check_eligibility(decided.facts, book.version_on(decided.facts.on)) == decided
    # The same facts decided after the amendment fall under the new E1 threshold.
    later = check_eligibility(facts(date(2026, 2, 1)), book.version_on(date(2026, 2, 1)))
    assert later.rulebook_version == "2026-01-01"
    assert later.failed_rules == ("E1",)
    assert book.valid_until("2022-11-25") == date(2025, 12, 31)


def test_CAP_DE_MINIMIS_amendment_never_changes_a_cap_already_computed() -> None:
    terms = SchemeTerms(
        instruments=["grant"],
        admitted_kinds=["company"],
        legal_basis=[LegalReference("x")],
        regime="de_minimis",
    )
    cap_facts = AwardCapFacts(on=date(2025, 6, 1), requested="250000.00", terms=terms)
    decided = compute_award_cap(cap_facts, BOOK.version_on(cap_facts.on))
    book = amended_book()
    assert compute_award_cap(decided.facts, book.version(decided.rulebook_version)) == decided
    assert compute_award_cap(
        attrs.evolve(cap_facts, on=date(2026, 6, 1)), book.version_on(date(2026, 6, 1))
    ).maximum == Money.of("200000")


def test_E1_to_R4_amendment_must_take_effect_after_the_latest_version() -> None:
    with pytest.raises(DateOutOfOrder):
        BOOK.amended(attrs.evolve(BOOK.versions[0], version_id="2022-01-01", effective_from=date(2022, 1, 1)))
    with pytest.raises(InvalidValue, match="same day"):
        RuleBook((BOOK.versions[0], BOOK.versions[0]))
    with pytest.raises(NoRulesInForce):
        BOOK.version("2099-01-01")


# ------------------------------------------------------------ explanation


def test_E1_to_R4_explanation_round_trips_and_renders_a_tree() -> None:
    tree = Explanation(
        "root",
        "1",
        "src",
        (Explanation("a", "2", "", (Explanation("a1", "3"),)), Explanation("b")),
    )
    assert Explanation.from_dict(tree.to_dict()) == tree
    assert tree.render_text() == "root: 1 [src]\n├─ a: 2\n│  └─ a1: 3\n└─ b"
    assert tree.find("a1") == Explanation("a1", "3")
    assert tree.find("zz") is None


# --------------------------------------------------- coverage of RULES.md §3


def _test_names() -> list[str]:
    names: list[str] = []
    for path in Path(__file__).parents[1].rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names.extend(node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef))
    return names


@pytest.mark.parametrize("rule_id", ALL_RULES)
def test_every_rule_has_a_test_that_names_it(rule_id: str) -> None:
    marker = rule_id.replace("-", "_")
    assert any(f"_{marker}_" in f"{name}_" for name in _test_names()), f"no test names {rule_id}"
