"""Laws of eco-conditionality, one line each (RULES.md §3).

* E1–E5: any single failing condition makes the application ineligible, and every failing
  condition is reported.
* CAP-…: the award maximum never exceeds any cap.
* CAP-DE-MINIMIS: awarding at most the maximum keeps de minimis aid over any rolling 3-year
  window at or under 300 000 €, whatever order the aids are recorded in.
* A decision re-evaluated from its recorded inputs gives the same result; a company rebuilt
  from its events has the same state.
* MODULATION: the factor is in 0..1, and the default grid never reduces scores ≥ 50 with
  R1–R3 at 0.

The strategies are local: ``aidflow.testing.strategies`` belongs to the clawback suite.
"""


from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidflow.adapters.parameters import load_modulation_grids
from aidflow.domain.appraisal import (
    AppraisalFacts,
    AwardCapFacts,
    appraise,
    compute_award_cap,
)
from aidflow.domain.company import (
    AXES,
    Company,
    GrantedAid,
    SelfDiagnosis,
    check_de_minimis_increase,
    de_minimis_granted_in_window,
)
from aidflow.domain.dates import add_years
from aidflow.domain.eligibility import Commitment, EligibilityFacts, check_eligibility
from aidflow.domain.errors import CeilingExceeded
from aidflow.domain.rulebook import default_rulebook
from aidflow.domain.scheme import InstrumentCeiling, SchemeTerms
from aidflow.domain.values import CompanySize, LegalReference, Money, StateAidRegime

BOOK = default_rulebook()
RULES = BOOK.versions[0]
GRID = load_modulation_grids().grid_for(None, date(2024, 1, 1))
DE_MINIMIS_CEILING = Money.of("300000")

# ------------------------------------------------------------------ strategies


def money(max_value: str = "1000000") -> st.SearchStrategy[Money]:
    return st.decimals(
        min_value=Decimal(0), max_value=Decimal(max_value), places=2, allow_nan=False, allow_infinity=False
    ).map(Money)


days = st.dates(min_value=date(2022, 11, 25), max_value=date(2032, 12, 31))
score = st.integers(min_value=0, max_value=100)
scores = st.fixed_dictionaries(dict.fromkeys(AXES, score))
good_scores = st.fixed_dictionaries({axis: st.integers(min_value=50, max_value=100) for axis in AXES})


@st.composite
def eligible_facts(draw: st.DrawFn) -> EligibilityFacts:
    """Facts that pass E1–E5, for a company of any staff with the fitting module."""
    on = draw(days)
    staff = draw(st.integers(min_value=0, max_value=5000))
    module = "simplified" if staff < 10 else "full"
    real_estate = draw(st.booleans())
    return EligibilityFacts(
        on=on,
        beneficiary_kind=draw(st.sampled_from(["company", "association", "farm"])),
        staff=staff,
        self_diagnosis=SelfDiagnosis(on - timedelta(days=draw(st.integers(0, 800))), module, draw(scores)),
        tax_and_social_compliant=True,
        equity=draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=2)),
        court_proceedings=False,
        real_estate=real_estate,
        commitments=draw(st.permutations(list(Commitment))),
        environmental_measures=draw(st.text(min_size=1).filter(str.strip)),
        land_take_measures="Brownfield site" if real_estate else draw(st.none() | st.just("")),
        for_firms_in_difficulty=draw(st.booleans()),
    )


def _drop_commitment(commitment: Commitment) -> Callable[[EligibilityFacts], EligibilityFacts]:
    return lambda f: attrs.evolve(f, commitments=tuple(c for c in f.commitments if c is not commitment))


def _wrong_module(f: EligibilityFacts) -> EligibilityFacts:
    assert f.self_diagnosis is not None
    other = "full" if f.self_diagnosis.module.value == "simplified" else "simplified"
    return attrs.evolve(f, self_diagnosis=attrs.evolve(f.self_diagnosis, module=other))


BREAKERS: dict[str, tuple[str, Callable[[EligibilityFacts], EligibilityFacts]]] = {
    "no self-diagnosis": ("E1", lambda f: attrs.evolve(f, self_diagnosis=None)),
    "wrong module": ("E1", _wrong_module),
    "tax and social": ("E2", lambda f: attrs.evolve(f, tax_and_social_compliant=False)),
    "equity": ("E3", lambda f: attrs.evolve(f, equity=-f.equity, for_firms_in_difficulty=False)),
    "court": ("E4", lambda f: attrs.evolve(f, court_proceedings=True, for_firms_in_difficulty=False)),
    **{f"(commitment) {c.value}": ("E5", _drop_commitment(c)) for c in Commitment},
    "land take": ("E5", lambda f: attrs.evolve(f, real_estate=True, land_take_measures=" ")),
    "environmental measures": ("E5", lambda f: attrs.evolve(f, environmental_measures="")),
}


@st.composite
def scheme_terms(draw: st.DrawFn) -> SchemeTerms:
    regime = draw(st.sampled_from(["de_minimis", "gber", "none"]))
    instruments = draw(
        st.lists(st.sampled_from(["grant", "advance", "loan"]), min_size=1, max_size=3, unique=True)
    )
    ceilings = [
        InstrumentCeiling(instrument, draw(money("3000000")))
        for instrument in instruments
        if draw(st.booleans())
    ]
    return SchemeTerms(
        instruments=instruments,
        admitted_kinds=["company"],
        legal_basis=[LegalReference("Délibération test")],
        regime=regime,
        ceiling=draw(st.none() | money("3000000")),
        instrument_ceilings=ceilings,
        gber_article=draw(st.sampled_from(["Regulation (EU) No 651/2014, art. 17", "art. 14"]))
        if regime == "gber"
        else None,
    )


ledgers = st.lists(
    st.builds(
        GrantedAid,
        on=days,
        amount=money("300000"),
        regime=st.sampled_from(list(StateAidRegime)),
        reference=st.uuids().map(str),
    ),
    max_size=8,
)


@st.composite
def award_cap_facts(draw: st.DrawFn) -> AwardCapFacts:
    return AwardCapFacts(
        on=draw(days),
        requested=draw(money("5000000")),
        terms=draw(scheme_terms()),
        size=draw(st.sampled_from(list(CompanySize))),
        eligible_expenses=draw(money("20000000")),
        intensity_factor=draw(st.decimals(min_value=0, max_value=1, places=4)),
        refused=draw(st.booleans()),
        de_minimis_ledger=draw(ledgers),
    )


@st.composite
def appraisal_facts(
    draw: st.DrawFn, axis_scores: st.SearchStrategy[dict[str, int]] = scores
) -> AppraisalFacts:
    return AppraisalFacts(
        on=draw(days),
        requested=draw(money("5000000")),
        financial_income=draw(money()),
        dividends_paid=draw(money()),
        self_financing_capacity=draw(st.decimals(min_value=-(10**7), max_value=10**7, places=2)),
        shareholder_dividends=draw(money()),
        executive_total_pay=draw(money()),
        requested_grant=draw(st.none() | money()),
        scores=draw(st.none() | axis_scores),
        baseline_scores=draw(st.none() | scores),
        eligible_expenses=draw(st.none() | money()),
    )


# ------------------------------------------------------------------ E1–E5


@given(eligible_facts())
def test_E1_to_E5_facts_meeting_every_condition_are_eligible(facts: EligibilityFacts) -> None:
    assert check_eligibility(facts, RULES).eligible


@given(eligible_facts(), st.sampled_from(sorted(BREAKERS)))
def test_E1_to_E5_any_single_failing_condition_makes_the_application_ineligible(
    facts: EligibilityFacts, breaker: str
) -> None:
    rule, breaks = BREAKERS[breaker]
    result = check_eligibility(breaks(facts), RULES)
    assert not result.eligible
    assert result.failed_rules == (rule,)


@given(
    eligible_facts(), st.sets(st.sampled_from(sorted(k for k in BREAKERS if k != "wrong module")), min_size=1)
)
def test_E1_to_E5_every_failing_condition_is_reported(facts: EligibilityFacts, breakers: set[str]) -> None:
    for name in sorted(breakers):
        facts = BREAKERS[name][1](facts)
    result = check_eligibility(facts, RULES)
    assert set(result.failed_rules) == {BREAKERS[name][0] for name in breakers}
    assert len(result.failures) == len(breakers)


@given(eligible_facts(), st.sampled_from(sorted(BREAKERS)))
def test_E1_to_E5_decision_re_evaluated_from_its_recorded_inputs_is_the_same(
    facts: EligibilityFacts, breaker: str
) -> None:
    decided = check_eligibility(BREAKERS[breaker][1](facts), BOOK.version_on(facts.on))
    recorded = decided.facts.to_dict()
    again = check_eligibility(EligibilityFacts.from_dict(recorded), BOOK.version(decided.rulebook_version))
    assert again == decided


# --------------------------------------------------------------------- caps


@given(award_cap_facts())
def test_CAP_the_award_maximum_never_exceeds_any_cap(facts: AwardCapFacts) -> None:
    result = compute_award_cap(facts, RULES)
    assert result.bound_by
    assert all(result.maximum <= cap.value for cap in result.caps)
    assert result.maximum <= facts.requested
    terms = facts.terms
    if terms.ceiling is not None:
        assert result.maximum <= terms.ceiling
    if facts.refused:
        assert result.maximum.is_zero()
    if terms.regime is StateAidRegime.GBER and "17" in (terms.gber_article or ""):
        rate = {"micro": "0.20", "small": "0.20", "medium": "0.10"}.get(str(facts.size), "0")
        assert facts.eligible_expenses is not None
        assert result.maximum.amount <= facts.eligible_expenses.amount * Decimal(rate)
    if terms.regime is StateAidRegime.DE_MINIMIS:
        assert (
            result.maximum + de_minimis_granted_in_window(facts.de_minimis_ledger, facts.on)
            <= DE_MINIMIS_CEILING
        )


@given(award_cap_facts())
def test_CAP_decision_re_evaluated_from_its_recorded_inputs_is_the_same(facts: AwardCapFacts) -> None:
    decided = compute_award_cap(facts, BOOK.version_on(facts.on))
    assert compute_award_cap(decided.facts, BOOK.version(decided.rulebook_version)) == decided


@given(
    st.lists(st.tuples(days, money("400000")), min_size=1, max_size=12),
)
def test_CAP_DE_MINIMIS_sum_over_any_3_year_window_never_exceeds_300000(
    requests: list[tuple[date, Money]],
) -> None:
    """Awards are recorded in the order drawn (not date order), each at its cap maximum."""
    company = Company.register("732829320", "Atelier Garonne SAS", date(2022, 1, 1))
    terms = SchemeTerms(
        instruments=["grant"],
        admitted_kinds=["company"],
        legal_basis=[LegalReference("x")],
        regime="de_minimis",
    )
    for index, (on, requested) in enumerate(requests):
        cap = compute_award_cap(
            AwardCapFacts(on=on, requested=requested, terms=terms, de_minimis_ledger=company.aids_granted),
            RULES,
        )
        if not cap.maximum.is_zero():
            company.record_aid_granted(on, cap.maximum, "de_minimis", f"AID-{index}")
    for aid in company.aids_granted:
        assert company.de_minimis_granted_within(aid.on) <= DE_MINIMIS_CEILING


# ---------------------------------------------------------------- appraisal


@given(appraisal_facts())
def test_MODULATION_factor_is_between_0_and_1(facts: AppraisalFacts) -> None:
    result = appraise(facts, GRID, RULES)
    assert Decimal(0) <= result.factor <= Decimal(1)
    assert result.refused == (result.factor == 0 and bool(result.refusal_reasons))


@given(appraisal_facts(axis_scores=good_scores))
def test_R1_R2_R3_default_grid_never_reduces_scores_at_least_50_with_ratios_at_0(
    facts: AppraisalFacts,
) -> None:
    zero = Money.zero()
    clean = attrs.evolve(facts, financial_income=zero, dividends_paid=zero, shareholder_dividends=zero)
    assert appraise(clean, GRID, RULES).factor == 1


@given(appraisal_facts())
def test_R1_R4_appraisal_re_evaluated_from_its_recorded_inputs_is_the_same(facts: AppraisalFacts) -> None:
    decided = appraise(facts, GRID, BOOK.version_on(facts.on))
    again = appraise(
        AppraisalFacts.from_dict(decided.facts.to_dict()), GRID, BOOK.version(decided.rulebook_version)
    )
    assert again == decided


# ------------------------------------------------------------------ company


@given(
    st.lists(st.tuples(st.integers(0, 3000), scores, st.integers(0, 300)), max_size=6),
    ledgers,
)
def test_E1_company_rebuilt_from_its_events_has_the_same_state(
    diagnoses: list[tuple[int, dict[str, int], int]], aids: list[GrantedAid]
) -> None:
    company = Company.register("732829320", "Atelier Garonne SAS", date(2022, 1, 1))
    day = date(2022, 11, 25)
    for offset, axis_scores, staff in sorted(diagnoses, key=lambda d: d[0]):
        module = "simplified" if staff < 10 else "full"
        company.record_self_diagnosis(day + timedelta(days=offset), module, axis_scores, staff=staff)
    for aid in aids:
        company.record_aid_granted(aid.on, aid.amount, aid.regime, aid.reference)
    reconstructed: Any = None
    for domain_event in company.collect_events():
        reconstructed = domain_event.mutate(reconstructed)
    assert reconstructed.diagnoses == company.diagnoses
    assert reconstructed.aids_granted == company.aids_granted
    assert reconstructed.progress() == company.progress()


def _largest_window_sum_with(aids: list[GrantedAid], extra: Money, on: date) -> Money:
    """Brute force: every 3-year window that contains ``on``, the ledger plus ``extra`` on ``on``."""
    with_extra = [*aids, GrantedAid(on, extra, "de_minimis", "EXTRA")]
    best = Money.of("0")
    end = on
    while add_years(end, -3) < on:  # every window end e with e − 3 years < on ≤ e
        best = max(best, de_minimis_granted_in_window(with_extra, end))
        end += timedelta(days=1)
    return best


@settings(max_examples=40)
@given(ledgers, money("300000"), days)
def test_CAP_DE_MINIMIS_an_amendment_increase_fits_in_every_window_or_is_refused(
    ledger: list[GrantedAid], increase: Money, on: date
) -> None:
    """An avenant's increase is a new de minimis aid on its date (Regulation (EU) 2023/2831, art. 3)."""
    if _largest_window_sum_with(ledger, increase, on) <= DE_MINIMIS_CEILING:
        check_de_minimis_increase(ledger, increase, on, DE_MINIMIS_CEILING)
    else:
        with pytest.raises(CeilingExceeded) as refused:
            check_de_minimis_increase(ledger, increase, on, DE_MINIMIS_CEILING)
        assert refused.value.field == "amount"
