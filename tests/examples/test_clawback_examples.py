# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Worked clawback examples as data (STYLE.md G14): one YAML file per case, ids from ``name``.

Each case cites its source lines in the deliberation AP/2022-11/03
(002_8b3eb659ad96bcac.txt) and states the expected total and breaches under the
default policy ``aidflow-default/1`` (RULES.md §4).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from aidflow.domain.clawback import DEFAULT_POLICY, BreachDecision, ClawbackFacts, DatedAmount
from aidflow.domain.obligations import OBLIGATIONS, ConventionTerms, MonitoringFact, ObligationId

CASES_DIR = Path(__file__).parent / "clawback"
CASE_KEYS = {"name", "source", "terms", "payments", "repayments", "facts", "decisions", "as_of", "expect"}
SOURCE = re.compile(r"^002_8b3eb659ad96bcac\.txt L\d{4,5}-\d{4,5}$")


def load_cases() -> list[Any]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        cases.append(pytest.param(case, id=case["name"]))
    return cases


CASES = load_cases()


def build_facts(case: dict[str, Any]) -> ClawbackFacts:
    return ClawbackFacts(
        terms=ConventionTerms(**case["terms"]),
        payments=tuple(DatedAmount(**p) for p in case["payments"]),
        repayments=tuple(DatedAmount(**r) for r in case["repayments"]),
        facts=tuple(MonitoringFact(**f) for f in case["facts"]),
        decisions=tuple(BreachDecision(**d) for d in case["decisions"]),
    )


def test_there_is_a_case_for_every_obligation():
    assert len(CASES) >= 12
    cited = {b["obligation"] for param in CASES for b in param.values[0]["expect"]["breaches"]}
    assert cited == {o.value for o in ObligationId}


@pytest.mark.parametrize("case", CASES)
def test_case_is_well_formed(case):
    assert set(case) == CASE_KEYS
    assert SOURCE.match(case["source"]), case["source"]
    assert case["name"][0].isupper()


@pytest.mark.parametrize("case", CASES)
def test_clawback_example(case):
    facts = build_facts(case)

    result = DEFAULT_POLICY.assess(facts, case["as_of"]).to_dict()

    assert result["policy"] == "aidflow-default/1"
    assert result["as_of"] == case["as_of"].isoformat()
    assert result["total_due"] == case["expect"]["total_due"]
    expected = [{**b, "on": b["on"].isoformat()} for b in case["expect"]["breaches"]]
    actual = [
        {key: breach[key] for key in want} for breach, want in zip(result["breaches"], expected, strict=False)
    ]
    assert actual == expected
    assert len(result["breaches"]) == len(expected)
    for breach in result["breaches"]:
        assert breach["explanation"].endswith(f"({OBLIGATIONS[ObligationId(breach['obligation'])].lines})")
