"""Appraisal (R1–R4, MODULATION) and the award caps (CAP-…) of RULES.md §3, level 3."""


from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aidflow.adapters.parameters import (
    MODULATION_DIR,
    ParameterFileError,
    load_modulation_file,
    load_modulation_grids,
)
from aidflow.domain.appraisal import (
    UNBOUNDED,
    AppraisalFacts,
    AwardCapFacts,
    GridValue,
    MissingFact,
    ModulationGrid,
    ModulationGrids,
    RatioStep,
    ScoreBand,
    appraise,
    compute_award_cap,
    compute_ratios,
    ratio,
)
from aidflow.domain.company import GrantedAid, ImpactScores
from aidflow.domain.errors import CeilingExceeded, InvalidValue
from aidflow.domain.rulebook import NoRulesInForce, default_rulebook
from aidflow.domain.scheme import InstrumentCeiling, SchemeTerms
from aidflow.domain.values import AwardSplit, CompanySize, LegalReference, Money

ON = date(2024, 3, 1)
RULES = default_rulebook().version_on(ON)
GRIDS = load_modulation_grids()
DEFAULT_GRID = GRIDS.grid_for("CEA", ON)
REF = LegalReference("SRDEII 2022-2028, Action 27", article="Critères d'appréciation")
GOOD = {
    "impact_strategy": 60,
    "social_impact": 60,
    "ecological_impact": 50,
    "power_sharing": 55,
    "value_sharing": 70,
}
BASIS = [LegalReference("Délibération n° AP/2022-11/03")]


def appraisal_facts(**changes: Any) -> AppraisalFacts:
    base: dict[str, Any] = {
        "on": ON,
        "requested": "250000.00",
        "financial_income": "0.00",
        "dividends_paid": "0.00",
        "self_financing_capacity": "400000.00",
        "shareholder_dividends": "0.00",
        "executive_total_pay": "180000.00",
        "scores": GOOD,
    }
    return AppraisalFacts(**{**base, **changes})


def scores(**changes: int) -> dict[str, int]:
    return {**GOOD, **changes}


def cea(**changes: Any) -> SchemeTerms:
    base: dict[str, Any] = {
        "instruments": ["grant", "advance"],
        "admitted_kinds": ["company"],
        "legal_basis": BASIS,
        "regime": "de_minimis",
        "ceiling": "300000.00",
        "instrument_ceilings": [InstrumentCeiling("grant", Money.of("200000"))],
    }
    return SchemeTerms(**{**base, **changes})


def gber17(**changes: Any) -> SchemeTerms:
    base: dict[str, Any] = {
        "instruments": ["grant"],
        "admitted_kinds": ["company"],
        "legal_basis": BASIS,
        "regime": "gber",
        "gber_article": "Regulation (EU) No 651/2014, art. 17 (investment aid to SMEs)",
    }
    return SchemeTerms(**{**base, **changes})


def cap_facts(**changes: Any) -> AwardCapFacts:
    base: dict[str, Any] = {"on": ON, "requested": "250000.00", "terms": cea(), "size": CompanySize.SMALL}
    return AwardCapFacts(**{**base, **changes})


# ------------------------------------------------------------------- ratios


def test_R1_financial_income_over_potential_aid() -> None:
    ratios = compute_ratios(appraisal_facts(financial_income="125000.00"))
    assert ratios.r1 == Decimal("0.5000")


def test_R2_dividends_over_self_financing_capacity() -> None:
    assert compute_ratios(appraisal_facts(dividends_paid="100000.00")).r2 == Decimal("0.2500")


def test_R2_dividends_with_negative_CAF_are_unbounded() -> None:
    ratios = compute_ratios(appraisal_facts(dividends_paid="1.00", self_financing_capacity="-50000.00"))
    assert ratios.r2 == UNBOUNDED


def test_R2_no_dividend_is_zero_even_with_negative_CAF() -> None:
    assert compute_ratios(appraisal_facts(self_financing_capacity="-50000.00")).r2 == 0


def test_R3_shareholder_dividends_over_requested_grant() -> None:
    ratios = compute_ratios(appraisal_facts(shareholder_dividends="50000.00", requested_grant="200000.00"))
    assert ratios.r3 == Decimal("0.2500")


def test_R3_not_applicable_without_requested_grant() -> None:
    ratios = compute_ratios(appraisal_facts(shareholder_dividends="50000.00", requested_grant="0.00"))
    assert ratios.r3 is None


def test_R4_executives_total_pay_is_a_figure() -> None:
    assert compute_ratios(appraisal_facts()).r4 == Money.of("180000")


def test_R1_ratio_rounds_down_to_4_places() -> None:
    assert ratio(Decimal(1), Decimal(3)) == Decimal("0.3333")
    assert ratio(Decimal(2), Decimal(3)) == Decimal("0.6666")


def test_R2_self_financing_capacity_float_is_refused() -> None:
    with pytest.raises(InvalidValue, match="self_financing_capacity"):
        appraisal_facts(self_financing_capacity=1.5)


# -------------------------------------------------------- default grid (YAML)


def test_MODULATION_default_grid_never_reduces_good_scores_with_zero_R1_R2_R3() -> None:
    result = appraise(appraisal_facts(scores=scores(ecological_impact=50)), DEFAULT_GRID, RULES)
    assert result.factor == Decimal("1.0000")
    assert not result.refused
    assert result.grid_version == "default@2022-11-25"
    assert result.rulebook_version == "2022-11-25"


@pytest.mark.parametrize(
    ("lowest", "factor"), [(49, "0.9000"), (25, "0.9000"), (24, "0.8000"), (0, "0.8000")]
)
def test_MODULATION_default_grid_impact_score_bands(lowest: int, factor: str) -> None:
    result = appraise(appraisal_facts(scores=scores(power_sharing=lowest)), DEFAULT_GRID, RULES)
    assert result.factor == Decimal(factor)


def test_MODULATION_progress_since_baseline_earns_the_bonus() -> None:
    """L3397: transformation compared with the initial self-assessment."""
    baseline = scores(power_sharing=30)
    latest = scores(power_sharing=40)
    result = appraise(appraisal_facts(scores=latest, baseline_scores=baseline), DEFAULT_GRID, RULES)
    assert result.factor == Decimal("0.9500")
    node = result.explanation.find("progress bonus")
    assert node is not None
    assert node.value == "0.05"


def test_MODULATION_progress_with_a_regression_earns_no_bonus() -> None:
    baseline = scores(power_sharing=30, value_sharing=80)
    latest = scores(power_sharing=40, value_sharing=70)
    result = appraise(appraisal_facts(scores=latest, baseline_scores=baseline), DEFAULT_GRID, RULES)
    assert result.factor == Decimal("0.9000")


def test_MODULATION_bonus_never_lifts_the_factor_above_1() -> None:
    baseline = scores(value_sharing=60)
    result = appraise(appraisal_facts(baseline_scores=baseline), DEFAULT_GRID, RULES)
    assert result.factor == Decimal("1.0000")


def test_MODULATION_no_self_diagnosis_required_gives_factor_1() -> None:
    assert appraise(appraisal_facts(scores=None), DEFAULT_GRID, RULES).factor == 1


def test_R1_above_half_the_potential_aid_reduces_by_10_percent() -> None:
    """Ratios are compared as recorded: 4 places, rounded down (125 012.49 / 250 000 = 0.5000)."""
    result = appraise(appraisal_facts(financial_income="125025.00"), DEFAULT_GRID, RULES)
    assert result.factor == Decimal("0.9000")
    assert appraise(appraisal_facts(financial_income="125012.49"), DEFAULT_GRID, RULES).factor == 1
    assert appraise(appraisal_facts(financial_income="125000.00"), DEFAULT_GRID, RULES).factor == 1


def test_R2_unbounded_ratio_takes_the_highest_step() -> None:
    result = appraise(
        appraisal_facts(dividends_paid="10.00", self_financing_capacity="0.00"), DEFAULT_GRID, RULES
    )
    assert result.factor == Decimal("0.7500")
    assert result.ratios.r2 == UNBOUNDED


def test_R3_dividends_above_the_requested_grant_refuse_the_aid() -> None:
    result = appraise(appraisal_facts(shareholder_dividends="250025.00"), DEFAULT_GRID, RULES)
    assert result.refused
    assert result.factor == 0
    assert result.refusal_reasons[0].startswith("R3 1.0001 is above 1.00: refusal")
    assert result.explanation.value == "refused"


def test_R1_R2_R3_factors_multiply() -> None:
    result = appraise(
        appraisal_facts(
            scores=scores(power_sharing=40),
            financial_income="200000.00",
            dividends_paid="200000.00",
            shareholder_dividends="150000.00",
        ),
        DEFAULT_GRID,
        RULES,
    )
    assert result.factor == Decimal("0.6561")  # 0.9 (score) × 0.9 (R1) × 0.9 (R2) × 0.9 (R3)


def test_R1_R4_appraisal_explanation_records_every_ratio_and_factor() -> None:
    result = appraise(appraisal_facts(financial_income="200000.00"), DEFAULT_GRID, RULES)
    text = result.explanation.render_text()
    for label in (
        "R1 financial income",
        "R2 dividends",
        "R3 shareholder",
        "R4 shareholder-executives",
        "modulation (grid default@2022-11-25)",
        "R1 factor",
        "Impact Score factor",
    ):
        assert label in text
    assert result.to_dict()["ratios"] == {"R1": "0.8000", "R2": "0.0000", "R3": "0.0000", "R4": "180000.00"}


def test_MODULATION_grid_not_in_force_is_refused() -> None:
    with pytest.raises(NoRulesInForce):
        appraise(appraisal_facts(on=date(2022, 11, 24)), DEFAULT_GRID, RULES)


def test_MODULATION_appraisal_facts_round_trip_through_dict() -> None:
    original = appraisal_facts(baseline_scores=GOOD, eligible_expenses="1000.00", requested_grant="10.00")
    assert AppraisalFacts.from_dict(original.to_dict()) == original


# ------------------------------------------------------------------- grids


def grid(**changes: Any) -> ModulationGrid:
    base: dict[str, Any] = {
        "grid_id": "test",
        "effective_from": date(2022, 11, 25),
        "references": [REF],
        "score_bands": [ScoreBand(0, Decimal(1), REF, "flat")],
        "progress_bonus": GridValue(Decimal(0), REF),
    }
    return ModulationGrid(**{**base, **changes})


def test_MODULATION_grid_needs_a_band_at_0() -> None:
    with pytest.raises(InvalidValue, match="one at 0"):
        grid(score_bands=[ScoreBand(50, Decimal(1), REF)])


def test_MODULATION_factor_above_1_is_refused() -> None:
    with pytest.raises(InvalidValue, match="between 0 and 1"):
        ScoreBand(0, Decimal("1.1"), REF)
    with pytest.raises(InvalidValue, match="between 0 and 1"):
        RatioStep(Decimal("0.5"), Decimal("1.5"), REF)


def test_MODULATION_negative_threshold_is_refused() -> None:
    with pytest.raises(InvalidValue, match="negative"):
        RatioStep(Decimal("-0.1"), Decimal("0.5"), REF)


def test_MODULATION_scheme_grid_wins_over_default_and_dates_select_versions() -> None:
    default = grid(grid_id="default")
    own_v1 = grid(grid_id="cea", scheme="CEA", effective_until=date(2025, 12, 31))
    own_v2 = grid(grid_id="cea", scheme="CEA", effective_from=date(2026, 1, 1))
    grids = ModulationGrids((default, own_v1, own_v2))
    assert grids.grid_for("CEA", date(2024, 1, 1)) is own_v1
    assert grids.grid_for("CEA", date(2026, 1, 1)) is own_v2
    assert grids.grid_for("PASS-TE", date(2024, 1, 1)) is default
    with pytest.raises(NoRulesInForce):
        grids.grid_for("CEA", date(2020, 1, 1))


# ---------------------------------------------------------- parameters loader


def test_MODULATION_default_yaml_cites_a_reference_and_a_note_for_every_number() -> None:
    (loaded,) = load_modulation_file(MODULATION_DIR / "default.yaml")
    for band in loaded.score_bands:
        assert band.reference.title
        assert band.note
    for step in (*loaded.r1_steps, *loaded.r2_steps, *loaded.r3_steps):
        assert step.reference.title
        assert step.note.startswith("aidflow default")
    assert loaded.progress_bonus.note.startswith("aidflow default")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def default_yaml() -> str:
    return (MODULATION_DIR / "default.yaml").read_text(encoding="utf-8")


def test_MODULATION_loader_error_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "default.yaml", default_yaml().replace('factor: "0.90"', 'factor: "1.90"', 1))
    with pytest.raises(ParameterFileError) as raised:
        load_modulation_file(path)
    assert str(path) in str(raised.value)
    assert raised.value.field == "versions.2022-11-25.impact_score.bands.1.factor"


def test_MODULATION_loader_refuses_unknown_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path, "default.yaml", default_yaml().replace("grid: default", "grid: default\nweight: 3")
    )
    with pytest.raises(ParameterFileError, match="weight: Extra inputs are not permitted"):
        load_modulation_file(path)


def test_MODULATION_loader_refuses_bad_date_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "default.yaml", default_yaml().replace('"2022-11-25":', '"25/11/2022":'))
    with pytest.raises(ParameterFileError, match=r"versions: .*'25/11/2022' is not an ISO date"):
        load_modulation_file(path)


def test_MODULATION_loader_refuses_float_factors(tmp_path: Path) -> None:
    path = write(tmp_path, "default.yaml", default_yaml().replace('factor: "0.90"', "factor: 0.90", 1))
    with pytest.raises(ParameterFileError, match="not the float"):
        load_modulation_file(path)


def test_MODULATION_loader_domain_error_names_the_version(tmp_path: Path) -> None:
    path = write(tmp_path, "default.yaml", default_yaml().replace("at_least: 0", "at_least: 10"))
    with pytest.raises(
        ParameterFileError, match=r"versions\.2022-11-25: the score bands must include one at 0"
    ):
        load_modulation_file(path)


def test_MODULATION_per_scheme_file_must_match_its_name(tmp_path: Path) -> None:
    path = write(tmp_path, "CEA.yaml", default_yaml().replace("scheme: null", "scheme: PASS-TE"))
    with pytest.raises(ParameterFileError, match="does not match the file name"):
        load_modulation_file(path)


def test_MODULATION_later_version_in_a_file_ends_the_earlier_one(tmp_path: Path) -> None:
    text = default_yaml()
    versions = text[text.index('  "2022-11-25":') :]
    path = write(
        tmp_path,
        "CEA.yaml",
        text.replace("scheme: null", "scheme: CEA").replace("grid: default", "grid: cea")
        + versions.replace('"2022-11-25"', '"2026-01-01"'),
    )
    first, second = load_modulation_file(path)
    assert first.effective_until == date(2025, 12, 31)
    assert second.effective_from == date(2026, 1, 1)
    assert second.effective_until is None


def test_MODULATION_loader_needs_a_default_grid(tmp_path: Path) -> None:
    write(tmp_path, "CEA.yaml", default_yaml().replace("scheme: null", "scheme: CEA"))
    with pytest.raises(ParameterFileError, match="no default grid"):
        load_modulation_grids(tmp_path)


def test_MODULATION_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ParameterFileError, match="cannot read"):
        load_modulation_file(tmp_path / "nope.yaml")


# --------------------------------------------------------------------- caps


def test_CAP_REQUESTED_binds_when_below_every_other_cap() -> None:
    result = compute_award_cap(cap_facts(requested="120000.00"), RULES)
    assert result.maximum == Money.of("120000")
    assert [c.rule for c in result.bound_by] == ["CAP-REQUESTED"]


def test_CAP_SCHEME_ceiling_binds() -> None:
    result = compute_award_cap(cap_facts(requested="450000.00", terms=cea(regime="none")), RULES)
    assert result.maximum == Money.of("300000")
    assert [c.rule for c in result.bound_by] == ["CAP-SCHEME"]


def test_CAP_INSTRUMENT_sum_of_instrument_ceilings_binds() -> None:
    terms = cea(instruments=["grant"], ceiling=None)
    result = compute_award_cap(cap_facts(requested="250000.00", terms=terms), RULES)
    assert result.maximum == Money.of("200000")
    assert [c.rule for c in result.bound_by] == ["CAP-INSTRUMENT"]


def test_CAP_INSTRUMENT_not_a_cap_when_an_instrument_has_no_ceiling() -> None:
    result = compute_award_cap(cap_facts(), RULES)
    assert "CAP-INSTRUMENT" not in [c.rule for c in result.caps]


def test_CAP_INSTRUMENT_award_split_is_checked_against_each_instrument_ceiling() -> None:
    result = compute_award_cap(cap_facts(), RULES)
    result.check_award(AwardSplit(grant="200000.00", advance="50000.00"))
    with pytest.raises(CeilingExceeded, match="grant ceiling"):
        result.check_award(AwardSplit(grant="210000.00", advance="40000.00"))


def test_CAP_REQUESTED_award_above_the_maximum_names_the_binding_cap() -> None:
    result = compute_award_cap(cap_facts(requested="120000.00"), RULES)
    with pytest.raises(CeilingExceeded, match=r"bound by CAP-REQUESTED 120000.00"):
        result.check_award(AwardSplit(grant="120000.01"))


@pytest.mark.parametrize(
    ("size", "maximum"),
    [
        (CompanySize.MICRO, "80000.00"),
        (CompanySize.SMALL, "80000.00"),
        (CompanySize.MEDIUM, "40000.00"),
        (CompanySize.ETI, "0.00"),
        (CompanySize.LARGE, "0.00"),
    ],
)
def test_CAP_GBER_art_17_intensity_20_small_10_medium(size: CompanySize, maximum: str) -> None:
    result = compute_award_cap(
        cap_facts(terms=gber17(), size=size, requested="250000.00", eligible_expenses="400000.00"), RULES
    )
    assert result.maximum == Money.of(maximum)
    assert [c.rule for c in result.bound_by] == ["CAP-GBER"]


def test_CAP_GBER_rounds_down_so_the_legal_cap_is_never_exceeded() -> None:
    result = compute_award_cap(
        cap_facts(terms=gber17(), size=CompanySize.SMALL, requested="1.00", eligible_expenses="0.03"), RULES
    )
    assert result.maximum == Money.of("0.00")


def test_CAP_GBER_needs_eligible_expenses() -> None:
    with pytest.raises(MissingFact, match="eligible_expenses"):
        compute_award_cap(cap_facts(terms=gber17()), RULES)


def test_CAP_GBER_needs_a_size() -> None:
    with pytest.raises(MissingFact, match="size"):
        compute_award_cap(cap_facts(terms=gber17(), size=None, eligible_expenses="1.00"), RULES)


def test_CAP_GBER_unmodelled_article_is_explained_not_capped() -> None:
    terms = gber17(gber_article="Regulation (EU) No 651/2014, art. 14 (regional investment aid)")
    result = compute_award_cap(cap_facts(terms=terms), RULES)
    assert [c.rule for c in result.caps] == ["CAP-REQUESTED"]
    note = result.explanation.find("CAP-GBER")
    assert note is not None
    assert "not modelled" in note.value


def test_MODULATION_cap_applies_the_factor_to_the_smallest_other_cap() -> None:
    result = compute_award_cap(
        cap_facts(
            requested="450000.00", intensity_factor=Decimal("0.9"), appraisal_grid="default@2022-11-25"
        ),
        RULES,
    )
    assert result.maximum == Money.of("270000")
    assert [c.rule for c in result.bound_by] == ["MODULATION"]
    assert result.bound_by[0].source == "grid default@2022-11-25"


def test_MODULATION_refused_appraisal_gives_maximum_zero() -> None:
    appraisal = appraise(appraisal_facts(shareholder_dividends="300000.00"), DEFAULT_GRID, RULES)
    result = compute_award_cap(
        AwardCapFacts.after(appraisal, on=ON, requested="250000.00", terms=cea(), size=CompanySize.SMALL),
        RULES,
    )
    assert result.refused
    assert result.maximum == Money.zero()
    assert [c.rule for c in result.bound_by] == ["MODULATION"]


def test_CAP_DE_MINIMIS_headroom_binds() -> None:
    ledger = [
        GrantedAid(date(2022, 6, 1), Money.of("150000"), "de_minimis", "A"),
        GrantedAid(date(2023, 6, 1), Money.of("100000"), "de_minimis", "B"),
        GrantedAid(date(2023, 7, 1), Money.of("900000"), "gber", "C"),
    ]
    result = compute_award_cap(cap_facts(de_minimis_ledger=ledger), RULES)
    assert result.maximum == Money.of("50000")
    assert [c.rule for c in result.bound_by] == ["CAP-DE-MINIMIS"]


def test_CAP_DE_MINIMIS_aid_exactly_3_years_plus_1_day_old_no_longer_counts() -> None:
    ledger = [GrantedAid(date(2021, 2, 28), Money.of("300000"), "de_minimis", "OLD")]
    result = compute_award_cap(cap_facts(on=date(2024, 3, 1), de_minimis_ledger=ledger), RULES)
    assert result.maximum == Money.of("250000")


def test_CAP_DE_MINIMIS_aid_exactly_3_years_old_no_longer_counts_one_day_younger_does() -> None:
    ledger = [GrantedAid(date(2021, 3, 1), Money.of("300000"), "de_minimis", "EDGE")]
    assert compute_award_cap(
        cap_facts(on=date(2024, 3, 1), de_minimis_ledger=ledger), RULES
    ).maximum == Money.of("250000")
    assert (
        compute_award_cap(cap_facts(on=date(2024, 2, 29), de_minimis_ledger=ledger), RULES).maximum
        == Money.zero()
    )


def test_CAP_DE_MINIMIS_only_for_de_minimis_schemes() -> None:
    ledger = [GrantedAid(date(2023, 6, 1), Money.of("300000"), "de_minimis", "A")]
    result = compute_award_cap(cap_facts(terms=cea(regime="none"), de_minimis_ledger=ledger), RULES)
    assert result.maximum == Money.of("250000")


def test_CAP_ties_list_every_binding_cap() -> None:
    result = compute_award_cap(cap_facts(requested="300000.00"), RULES)
    assert [c.rule for c in result.bound_by] == ["CAP-REQUESTED", "CAP-SCHEME", "CAP-DE-MINIMIS"]


def test_CAP_explanation_shows_every_cap_and_which_binds() -> None:
    result = compute_award_cap(cap_facts(requested="450000.00"), RULES)
    text = result.explanation.render_text()
    assert (
        text.splitlines()[0]
        == "Award maximum on 2024-03-01 (rule book 2022-11-25): 300000.00 [the smallest cap]"
    )
    assert "CAP-REQUESTED amount requested: 450000.00 [" in text
    assert "CAP-SCHEME scheme ceiling: 300000.00 (binds)" in text
    assert "CAP-DE-MINIMIS de minimis headroom 300000.00 − 0.00" in text
    assert result.to_dict()["bound_by"][0]["rule"] == "CAP-SCHEME"


def test_MODULATION_intensity_factor_out_of_range_is_refused() -> None:
    with pytest.raises(InvalidValue):
        cap_facts(intensity_factor=Decimal("1.01"))


def test_R1_scores_value_type_accepted() -> None:
    assert appraisal_facts(scores=ImpactScores(**GOOD)).scores == ImpactScores(**GOOD)


@pytest.mark.parametrize("value", ["400000.005", "-1.001"])
def test_a_self_financing_capacity_with_more_than_cents_is_refused_not_rounded(value: str) -> None:
    with pytest.raises(InvalidValue, match="more than 2 decimal places") as refused:
        appraisal_facts(self_financing_capacity=value)
    assert refused.value.field == "self_financing_capacity"


def test_a_negative_self_financing_capacity_in_cents_is_kept() -> None:
    assert appraisal_facts(self_financing_capacity="-1250.50").self_financing_capacity == Decimal("-1250.50")
