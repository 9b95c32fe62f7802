# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Test data for calls (AMI/AAP): a small collaborative call and its candidacies.

``terms()``, ``partner()`` and ``a_lab()`` build the same call at the domain level
(``CallTerms`` and ``Partner`` value objects) for the aggregate and property tests.

``call_command()`` is a ``publish_call`` input (the call of a call file);
``member()``/``submit_command()``/``retain_command()`` build candidacy steps with
overrides; ``App`` is ``Aidflow`` with the ``CallVerbs`` mixed in (until the lead adds
``CallVerbs`` to ``Aidflow``'s bases).
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from aidflow.application.service import Aidflow
from aidflow.domain.call import (
    Admission,
    CallTerms,
    ConsortiumRules,
    MemberRequirement,
    Partner,
    PriorityCriterion,
    SelectionCriterion,
    Strand,
    Wave,
)
from aidflow.domain.values import BeneficiaryKind, CompanySize, LegalReference, Money

App = Aidflow
"""The application the call tests use (``Aidflow`` has the call verbs)."""


CALL = "AAP-COLLAB-2024"

SME_SIREN, SME_SIRET = "575133327", "57513332706104"
ESN_SIREN, ESN_SIRET = "439666306", "43966630608827"
BIG_SIREN, BIG_SIRET = "705499366", "70549936609412"


def call_command(**overrides: Any) -> dict[str, Any]:
    """A collaborative AAP: two waves, one strand with rate bounds 10-50 %, SME + lab consortia."""
    data: dict[str, Any] = {
        "code": CALL,
        "kind": "AAP",
        "title": "AAP projets collaboratifs laboratoires-PME",
        "theme": "Innovation collaborative",
        "legal_basis": [{"title": "Délibération N°AP/2022-11/03 du 25 novembre 2022 — SRESRI",
                         "article": "002_8b3eb659ad96bcac.txt L12129-12145"}],
        "envelope": "1000000.00",
        "opens_on": "2024-01-15",
        "deadline": "2024-09-30",
        "waves": [
            {"code": "W1", "label": "Levée 1", "deadline": "2024-03-31", "envelope": "600000.00"},
            {"code": "W2", "label": "Levée 2", "deadline": "2024-09-30"},
        ],
        "strands": [{"code": "COLLAB", "title": "Projets collaboratifs", "min_rate": "0.10",
                     "max_rate": "0.50"}],
        "admission": {"kinds": ["company", "research_organisation"],
                      "company_sizes": ["micro", "small", "medium", "eti"]},
        "consortium": {
            "min_members": 2, "max_members": 5, "lead_kinds": ["company"], "lead_in_region": True,
            "required": [
                {"label": "regional SME", "kinds": ["company"], "sizes": ["micro", "small", "medium"],
                 "in_region": True},
                {"label": "research lab", "kinds": ["research_organisation"]},
            ],
        },
        "priorities": [{"code": "OUTSIDE-METROPOLES", "label": "SMEs outside the metropolises",
                        "outside_communes": ["Toulouse", "Montpellier"], "kinds": ["company"],
                        "sizes": ["micro", "small", "medium"]}],
        "criteria": [
            {"code": "INNOVATION", "label": "Innovation", "weight": "3"},
            {"code": "IMPACT", "label": "Regional impact", "weight": "1"},
        ],
        "max_score": "20",
        "scheme": "CONTRAT-INNOVATION",
    }
    data.update(copy.deepcopy(overrides))
    return data


def sme(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Atelier Lauragais SAS", "kind": "company", "role": "regional SME",
        "siren": SME_SIREN, "siret": SME_SIRET, "staff": 28, "turnover": "3400000.00",
        "balance_sheet": "2100000.00", "commune": "Castelnaudary", "department": "11",
        "budget": "400000.00", "requested": "160000.00", "jobs": 3,
    } | overrides


def lab(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Laboratoire des systèmes du Midi", "kind": "research_organisation",
        "role": "research lab", "commune": "Toulouse", "department": "31",
        "budget": "100000.00", "requested": "0.00",
    } | overrides


def esn(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Numérique Occitan SARL", "kind": "company", "role": "ESN",
        "siren": ESN_SIREN, "siret": ESN_SIRET, "staff": 45, "turnover": "7800000.00",
        "balance_sheet": "4200000.00", "commune": "Albi", "department": "81",
        "budget": "200000.00", "requested": "80000.00", "jobs": 1,
    } | overrides


def submit_command(project: str = "P-01", **overrides: Any) -> dict[str, Any]:
    """SME lead + lab + ESN: budget 700 000, requested 240 000 (34.29 %)."""
    return {
        "project": project, "on": "2024-03-01", "wave": "W1", "strand": "COLLAB",
        "title": "Jumeau numérique des ateliers", "start": "2024-06-01", "end": "2026-05-31",
        "lead": sme(), "partners": [lab(), esn()],
    } | copy.deepcopy(overrides)


def score_command(**overrides: Any) -> dict[str, Any]:
    return {"on": "2024-04-10", "body": "jury", "scores": {"INNOVATION": "16", "IMPACT": "12"}} | overrides


def retain_command(**overrides: Any) -> dict[str, Any]:
    return {
        "on": "2024-04-20", "body": "commission permanente", "deliberation": "CP/2024-04/05.01",
        "granted": "240000.00", "reasons": ["strong consortium"],
        "label": {"name": "Lauréat AAP collaboratif", "expires_on": "2026-12-31"},
    } | overrides


def reject_command(**overrides: Any) -> dict[str, Any]:
    return {
        "on": "2024-04-20", "body": "commission permanente", "deliberation": "CP/2024-04/05.02",
        "reasons": ["insufficient regional impact"],
    } | overrides


# ------------------------------------------------------- domain-level builders

LAB = BeneficiaryKind.RESEARCH_ORGANISATION
COMPANY = BeneficiaryKind.COMPANY
SMES = (CompanySize.MICRO, CompanySize.SMALL, CompanySize.MEDIUM)


def terms(**changes: Any) -> CallTerms:
    values: dict[str, Any] = {
        "kind": "AAP",
        "title": "AAP collaboratif",
        "theme": "Innovation",
        "legal_basis": (LegalReference("Délibération AP/2022-11/03", "002_8b3eb659ad96bcac.txt L12129"),),
        "envelope": Money.of("1000000.00"),
        "opens_on": date(2024, 1, 15),
        "deadline": date(2024, 9, 30),
        "waves": (Wave("W1", "Levée 1", date(2024, 3, 31), Money.of("600000.00")),
                  Wave("W2", "Levée 2", date(2024, 9, 30))),
        "strands": (Strand("COLLAB", "Collaboratif", Decimal("0.10"), Decimal("0.50")),),
        "admission": Admission((COMPANY, LAB), (*SMES, CompanySize.ETI)),
        "consortium": ConsortiumRules(
            min_members=2, max_members=3, lead_kinds=(COMPANY,), lead_in_region=True,
            required=(MemberRequirement("regional SME", (COMPANY,), SMES, in_region=True),
                      MemberRequirement("research lab", (LAB,))),
        ),
        "priorities": (PriorityCriterion("OUT", "outside metropolises", ("Toulouse", "Montpellier"),
                                         (COMPANY,), SMES),),
        "criteria": (SelectionCriterion("INNOVATION", "Innovation", Decimal(3)),
                     SelectionCriterion("IMPACT", "Impact", Decimal(1))),
    }
    values.update(changes)
    return CallTerms(**values)


def partner(**changes: Any) -> Partner:
    values: dict[str, Any] = {
        "name": "Atelier SAS", "kind": COMPANY, "budget": Money.of("400000.00"),
        "requested": Money.of("100000.00"), "size": CompanySize.SMALL,
        "commune": "Castelnaudary", "department": "11",
    }
    values.update(changes)
    return Partner(**values)


def a_lab(**changes: Any) -> Partner:
    return partner(**({"name": "Labo", "kind": LAB, "size": None, "commune": "Toulouse",
                       "department": "31", "requested": Money.zero()} | changes))
