"""Worked examples of eco-conditionality as data (``eligibility/*.yaml``), one test each.

Each case has a ``name`` (a sentence, used as the test id), a ``source`` (the line range or
legal text it illustrates), ``facts`` shaped like the dossier steps (``scheme``,
``beneficiary``, ``self_diagnosis``, ``eligibility``, ``appraise``, ``aids_granted``,
``award``) and ``expect``:

* ``eligibility``: the gate's ``to_dict()`` exactly (DOSSIER.md result shape);
* ``appraisal``: the intensity ``factor`` and ``refused``;
* ``award_cap``: the ``maximum`` and the ids of the caps that bind (``bound_by``).

The scheme is stated inline (regime, ceilings, instruments, flags) so that each case reads on
its own; the default modulation grid and the built-in rule book apply.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from aidflow.adapters.parameters import load_modulation_grids
from aidflow.domain.appraisal import AppraisalFacts, AwardCapFacts, appraise, compute_award_cap
from aidflow.domain.company import Company, SelfDiagnosis
from aidflow.domain.eligibility import EligibilityFacts, check_eligibility
from aidflow.domain.rulebook import default_rulebook
from aidflow.domain.scheme import InstrumentCeiling, SchemeTerms
from aidflow.domain.values import LegalReference, Money

HERE = Path(__file__).parent / "eligibility"
CASES = sorted(HERE.glob("*.yaml"))
BOOK = default_rulebook()
GRIDS = load_modulation_grids()
SIREN = "732829320"
CASE_KEYS = {"name", "source", "facts", "expect"}
FACT_KEYS = {"scheme", "beneficiary", "self_diagnosis", "eligibility", "appraise", "aids_granted", "award"}


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(case) == CASE_KEYS, f"{path.name}: keys {sorted(case)}"
    assert set(case["facts"]) <= FACT_KEYS, f"{path.name}: facts {sorted(case['facts'])}"
    return case


LOADED = [load(path) for path in CASES]


def terms(scheme: dict[str, Any]) -> SchemeTerms:
    return SchemeTerms(
        instruments=scheme.get("instruments", ["grant"]),
        admitted_kinds=["company", "association", "public_body", "research_organisation", "farm"],
        legal_basis=[LegalReference(f"Scheme {scheme['code']} (worked example)")],
        regime=scheme["regime"],
        ceiling=scheme.get("ceiling"),
        instrument_ceilings=[
            InstrumentCeiling(instrument, Money.of(amount))
            for instrument, amount in scheme.get("instrument_ceilings", {}).items()
        ],
        for_firms_in_difficulty=scheme.get("for_firms_in_difficulty", False),
        gber_article=scheme.get("gber_article"),
    )


def diagnosis(facts: dict[str, Any]) -> SelfDiagnosis | None:
    raw = facts.get("self_diagnosis")
    if raw is None:
        return None
    return SelfDiagnosis(date.fromisoformat(raw["on"]), raw["module"], raw["scores"])


def test_there_are_at_least_15_worked_examples_with_distinct_names() -> None:
    assert len(LOADED) >= 15
    assert len({case["name"] for case in LOADED}) == len(LOADED)


@pytest.mark.parametrize("case", LOADED, ids=[case["name"] for case in LOADED])
def test_worked_example(case: dict[str, Any]) -> None:
    facts, expect = case["facts"], case["expect"]
    scheme = terms(facts["scheme"])
    beneficiary = facts["beneficiary"]
    self_diagnosis = diagnosis(facts)

    if "eligibility" in expect:
        gate = EligibilityFacts.under(
            scheme,
            beneficiary_kind=beneficiary["kind"],
            staff=beneficiary.get("staff"),
            self_diagnosis=self_diagnosis,
            **facts["eligibility"],
        )
        result = check_eligibility(gate, BOOK.version_on(gate.on))
        assert result.to_dict() == expect["eligibility"]

    appraisal = None
    if "appraise" in facts:
        step = facts["appraise"]
        on = date.fromisoformat(step["on"])
        scores = None if self_diagnosis is None else self_diagnosis.scores
        appraisal = appraise(
            AppraisalFacts(
                requested=facts["award"]["requested"], scores=scores, baseline_scores=scores, **step
            ),
            GRIDS.grid_for(facts["scheme"]["code"], on),
            BOOK.version_on(on),
        )
        assert {"factor": str(appraisal.factor), "refused": appraisal.refused} == expect["appraisal"]

    if "award_cap" in expect:
        company = Company.register(SIREN, "Worked example SAS", date(2020, 1, 1))
        for aid in facts.get("aids_granted", []):
            company.record_aid_granted(
                date.fromisoformat(aid["on"]), Money.of(aid["amount"]), aid["regime"], aid["reference"]
            )
        award = facts["award"]
        cap_facts: dict[str, Any] = {
            "on": award["on"],
            "requested": award["requested"],
            "terms": scheme,
            "size": beneficiary.get("size"),
            "eligible_expenses": None if appraisal is None else appraisal.facts.eligible_expenses,
            "de_minimis_ledger": company.aids_granted,
        }
        built = (
            AwardCapFacts(**cap_facts) if appraisal is None else AwardCapFacts.after(appraisal, **cap_facts)
        )
        cap = compute_award_cap(built, BOOK.version_on(built.on))
        assert {"maximum": str(cap.maximum), "bound_by": [c.rule for c in cap.bound_by]} == expect[
            "award_cap"
        ]
