# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""The demo call: a consortium project retained by an AMI, whose partners get their own conventions.

The call follows the SRDEII's Action n°01: « Ces AMI viseront à constituer des
consortiums réunissant autour des TPE-PME régionales des compétences clés portées par
des acteurs de la recherche académiques et des Entreprises de Services du Numérique
[…] Le premier AMI concernera la cybersécurité » (``002_8b3eb659ad96bcac.txt
L21931-21943``), with priority to « PME situées hors des métropoles »
(``002_8b3eb659ad96bcac.txt L2260-2262``). Companies, amounts and dates are fictitious
(the SIRENs are Luhn-valid, generated like the demo portfolio's). The envelope and rate
bounds are illustrative: the sources give none for this AMI.

The call is recorded through a call file (``run_call_file``), exactly as ``aidflow calls
run`` would; then each funded partner's application goes through its own
self-diagnosis, eligibility, award and convention (RULES.md §2).
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from aidflow.application.calls import CallApp, CallNotFound, CallView, run_call_file

DEMO_CALL_CODE = "AMI-CYBER-2024"

_SME = {
    "name": "Cyberdéfense Lauragais SAS", "kind": "company", "role": "PME régionale",
    "siren": "575133327", "siret": "57513332706104",
    "staff": 28, "turnover": "3400000.00", "balance_sheet": "2100000.00",
    "commune": "Castelnaudary", "department": "11",
    "budget": "400000.00", "requested": "180000.00", "jobs": 4,
}
_LAB = {
    "name": "Laboratoire de recherche en sûreté numérique du Midi", "kind": "research_organisation",
    "role": "laboratoire de recherche", "commune": "Toulouse", "department": "31",
    "budget": "150000.00", "requested": "0.00",
}
_ESN = {
    "name": "Numérique Occitan SARL", "kind": "company", "role": "ESN",
    "siren": "439666306", "siret": "43966630608827",
    "staff": 45, "turnover": "7800000.00", "balance_sheet": "4200000.00",
    "commune": "Albi", "department": "81",
    "budget": "250000.00", "requested": "120000.00", "jobs": 2,
}

DEMO_CALL_FILE: dict[str, Any] = {
    "aidflow": "call/1",
    "call": {
        "code": DEMO_CALL_CODE,
        "kind": "AMI",
        "title": "AMI Cybersécurité — consortiums PME, recherche et ESN",
        "theme": "Technologies numériques innovantes: cybersécurité",
        "legal_basis": [{
            "title": "Délibération N°AP/2022-11/03 du 25 novembre 2022 — SRDEII, Action n°01",
            "article": "002_8b3eb659ad96bcac.txt L21931-21943",
        }],
        "envelope": "1500000.00",
        "opens_on": "2024-01-15",
        "deadline": "2024-09-30",
        "waves": [
            {"code": "L1", "label": "Levée 1", "deadline": "2024-04-30", "envelope": "800000.00"},
            {"code": "L2", "label": "Levée 2", "deadline": "2024-09-30"},
        ],
        "strands": [{"code": "COLLAB", "title": "Projets collaboratifs", "min_rate": "0.10",
                     "max_rate": "0.50"}],
        "admission": {"kinds": ["company", "research_organisation"],
                      "company_sizes": ["micro", "small", "medium", "eti"]},
        "consortium": {
            "min_members": 3, "lead_kinds": ["company"], "lead_in_region": True,
            "required": [
                {"label": "PME régionale", "kinds": ["company"], "sizes": ["micro", "small", "medium"],
                 "in_region": True},
                {"label": "laboratoire de recherche académique", "kinds": ["research_organisation"]},
                {"label": "entreprise de services du numérique (ESN)", "kinds": ["company"],
                 "roles": ["ESN"]},
            ],
        },
        "priorities": [{
            "code": "HORS-METROPOLES", "label": "PME situées hors des métropoles",
            # Illustrative: a real call lists every member commune of Toulouse Métropole
            # and of Montpellier Méditerranée Métropole.
            "outside_communes": ["Toulouse", "Montpellier"],
            "kinds": ["company"], "sizes": ["micro", "small", "medium"],
        }],
        "criteria": [
            {"code": "INNOVATION", "label": "Caractère innovant", "weight": "3"},
            {"code": "CONSORTIUM", "label": "Qualité du consortium", "weight": "2"},
            {"code": "IMPACT", "label": "Impact régional et emploi", "weight": "2"},
            {"code": "PACTE-VERT", "label": "Contribution au Pacte Vert", "weight": "1"},
        ],
        "max_score": "20",
        "scheme": "CONTRAT-INNOVATION",
    },
    "steps": [
        {"do": "submit", "project": "CYBER-2024-01", "on": "2024-04-10", "wave": "L1",
         "strand": "COLLAB", "title": "Bouclier cyber pour les PME industrielles du Lauragais",
         "start": "2024-09-01", "end": "2026-08-31",
         "lead": _SME, "partners": [_LAB, _ESN | {"budget": "320000.00", "requested": "150000.00"}]},
        {"do": "amend", "project": "CYBER-2024-01", "on": "2024-04-25",
         "lead": _SME, "partners": [_LAB, _ESN]},
        {"do": "submit", "project": "CYBER-2024-02", "on": "2024-04-20", "wave": "L1",
         "strand": "COLLAB", "title": "Supervision de sécurité mutualisée",
         "start": "2024-10-01", "end": "2026-09-30",
         "lead": {"name": "Logiciels Canigou SAS", "kind": "company", "role": "PME régionale",
                  "siren": "705499366", "siret": "70549936609412", "staff": 120,
                  "turnover": "21000000.00", "balance_sheet": "14000000.00",
                  "commune": "Toulouse", "department": "31",
                  "budget": "600000.00", "requested": "240000.00"},
         "partners": [
             {"name": "Laboratoire informatique des Pyrénées", "kind": "research_organisation",
              "role": "laboratoire de recherche", "commune": "Montpellier", "department": "34",
              "budget": "200000.00", "requested": "60000.00"},
             {"name": "Services Numériques Cévennes SAS", "kind": "company", "role": "ESN",
              "siren": "497342980", "siret": "49734298000545", "staff": 640,
              "turnover": "95000000.00", "balance_sheet": "70000000.00",
              "commune": "Nîmes", "department": "30",
              "budget": "300000.00", "requested": "90000.00"},
         ]},
        {"do": "score", "project": "CYBER-2024-01", "on": "2024-05-21", "body": "jury de l'AMI",
         "scores": {"INNOVATION": "16", "CONSORTIUM": "15", "IMPACT": "17", "PACTE-VERT": "14"}},
        {"do": "score", "project": "CYBER-2024-02", "on": "2024-05-21", "body": "jury de l'AMI",
         "scores": {"INNOVATION": "12", "CONSORTIUM": "13", "IMPACT": "10", "PACTE-VERT": "11"}},
        {"do": "retain", "project": "CYBER-2024-01", "on": "2024-06-14", "body": "commission permanente",
         "deliberation": "CP/2024-06/07.12", "granted": "280000.00",
         "reasons": ["consortium complet PME / recherche / ESN", "PME hors métropoles"],
         "label": {"name": "Lauréat AMI Cybersécurité Occitanie", "expires_on": "2026-12-31"}},
        {"do": "reject", "project": "CYBER-2024-02", "on": "2024-06-14", "body": "commission permanente",
         "deliberation": "CP/2024-06/07.13",
         "reasons": ["impact régional insuffisant",
                     "note pondérée inférieure au seuil de sélection (12/20)"]},
        {"do": "open_applications", "project": "CYBER-2024-01", "on": "2024-06-20"},
    ],
}
"""The demo call as a call file (``aidflow calls run``)."""

_SELF_DIAGNOSIS = {
    "do": "self_diagnosis", "on": "2024-06-24", "module": "full",
    "scores": {"impact_strategy": 60, "social_impact": 55, "ecological_impact": 50,
               "power_sharing": 50, "value_sharing": 55},
}
_ELIGIBILITY = {
    "do": "eligibility", "on": "2024-07-01", "tax_and_social_compliant": True, "equity": "900000.00",
    "court_proceedings": False, "real_estate": False,
    "commitments": ["environmental_footprint", "non_discrimination", "decent_work", "career_development"],
    "environmental_measures": "Hébergement des sondes sur une infrastructure sobre en énergie",
}
_AWARDS = {
    # member index → grant / repayable advance split of its granted share (CONTRAT-INNOVATION)
    0: ("84000.00", "84000.00"),
    2: ("56000.00", "56000.00"),
}


class DemoCallApp(CallApp, Protocol):
    """An ``Aidflow`` with ``CallVerbs``: the call verbs plus the dossier verbs the demo uses."""

    def self_diagnosis(self, reference: str, step: dict[str, Any]) -> None: ...

    def check_eligibility(self, reference: str, step: dict[str, Any]) -> dict[str, Any]: ...

    def award(self, reference: str, step: dict[str, Any]) -> None: ...

    def sign(self, reference: str, step: dict[str, Any]) -> Any: ...  # noqa: ANN401 - the convention id


def record_demo_call(app: DemoCallApp) -> CallView:
    """Record the demo call, its consortium project's partners' applications and conventions.

    Idempotent: when the call is already in the store, nothing is recorded and its
    current state is returned.
    """
    try:
        return app.call_view(DEMO_CALL_CODE)
    except CallNotFound:
        pass
    result = run_call_file(app, copy.deepcopy(DEMO_CALL_FILE))
    project = next(p for p in result.state.projects if p.status == "retained")
    for member in project.members:
        if member.application is None:
            continue
        reference = member.application
        grant, advance = _AWARDS[member.index]
        app.self_diagnosis(reference, dict(_SELF_DIAGNOSIS))
        app.check_eligibility(reference, dict(_ELIGIBILITY))
        app.award(reference, {
            "do": "award", "on": "2024-07-12", "amount": str(member.granted), "grant": grant,
            "advance": advance, "body": "commission permanente", "deliberation": "CP/2024-07/09.03",
        })
        app.sign(reference, {"do": "sign", "on": "2024-07-26", "convention": f"CONV-{reference}"})
    return app.call_view(DEMO_CALL_CODE)
