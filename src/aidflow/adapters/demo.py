"""The demo portfolio: realistic Occitanie dossiers recorded through the public API.

Deterministic (seeded): the same run always records the same dossiers, so the
README's commands and the tutorial show the same references. Every dossier goes
through the dossier runner, exactly as a regional tool would drive aidflow.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from aidflow.application.dossier import run_dossier
from aidflow.application.service import Aidflow
from aidflow.domain.company import required_module
from aidflow.domain.identity import application_id
from aidflow.domain.values import luhn_valid

SEED = 20221125  # the deliberation AP/2022-11/03 date
HORIZON = date(2026, 11, 15)
"""The demo's "today": no step is dated after it, whatever the machine's clock says."""

COMMUNES = (
    ("Toulouse", "31"), ("Montpellier", "34"), ("Albi", "81"), ("Rodez", "12"), ("Tarbes", "65"),
    ("Perpignan", "66"), ("Nîmes", "30"), ("Carcassonne", "11"), ("Cahors", "46"), ("Foix", "09"),
    ("Auch", "32"), ("Montauban", "82"), ("Mende", "48"), ("Castres", "81"), ("Figeac", "46"),
    ("Béziers", "34"), ("Alès", "30"), ("Millau", "12"), ("Lourdes", "65"), ("Narbonne", "11"),
)
TRADES = (
    "Atelier", "Fonderie", "Menuiserie", "Laboratoires", "Conserverie", "Aéro-Composites",
    "Textiles", "Robotique", "Biotech", "Céramiques", "Chaudronnerie", "Logiciels",
)
NAMES = (
    "Garonne", "Canigou", "Aubrac", "Cévennes", "Minervois", "Lauragais", "Quercy", "Bigorre",
    "Corbières", "Larzac", "Pyrénées", "Tarn", "Causses", "Vidourle", "Comminges", "Razès",
)
FORMS = ("SAS", "SARL", "SA", "SCOP")


def luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit to ``prefix``."""
    return next(prefix + digit for digit in "0123456789" if luhn_valid(prefix + digit))


def siren_and_siret(rng: random.Random) -> tuple[str, str]:
    siren = luhn_complete(f"{rng.randint(30_000_000, 99_999_999)}")
    siret = luhn_complete(siren + f"{rng.randint(1, 999):04d}")
    return siren, siret


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _company(rng: random.Random, size: str, staff_below: int | None = None) -> dict[str, Any]:
    staff, turnover = {
        "micro": (rng.randint(2, 9), rng.randint(200, 1900) * 1000),
        "small": (rng.randint(10, 49), rng.randint(2100, 9500) * 1000),
        "medium": (rng.randint(50, 249), rng.randint(11_000, 48_000) * 1000),
        "eti": (rng.randint(260, 2000), rng.randint(60_000, 900_000) * 1000),
    }[size]
    if staff_below is not None:
        staff = min(staff, staff_below - 1)
    siren, siret = siren_and_siret(rng)
    commune, department = rng.choice(COMMUNES)
    name = f"{rng.choice(TRADES)} {rng.choice(NAMES)} {rng.choice(FORMS)}"
    return {
        "beneficiary": {
            "kind": "company", "siren": siren, "name": name, "staff": staff,
            "turnover": _money(Decimal(turnover)),
            "balance_sheet": _money(Decimal(turnover) * Decimal("0.6")),
        },
        "site": {"siret": siret, "commune": commune, "department": department},
    }


def _amount_plan(rng: random.Random, scheme: str) -> tuple[Decimal, dict[str, str]]:
    """A requested amount and the award split the commission would decide."""
    if scheme == "CEA":
        amount = Decimal(rng.randrange(60_000, 300_001, 5_000))
        grant = min(amount * Decimal("0.7"), Decimal(200_000)).quantize(Decimal(1000))
        return amount, {"grant": _money(grant), "advance": _money(amount - grant)}
    if scheme == "PASS-TE":
        amount = Decimal(rng.randrange(4_000, 10_001, 500))
        return amount, {"grant": _money(amount)}
    if scheme == "C3S":
        amount = Decimal(rng.randrange(800_000, 4_000_001, 50_000))
        grant = (amount * Decimal("0.4")).quantize(Decimal(1000))
        return amount, {"grant": _money(grant), "advance": _money(amount - grant)}
    if scheme == "PRSI":
        amount = Decimal(rng.randrange(200_000, 1_500_001, 50_000))
        return amount, {"loan": _money(amount)}
    if scheme == "CONTRAT-INNOVATION":
        amount = Decimal(rng.randrange(80_000, 600_001, 10_000))
        grant = (amount * Decimal("0.5")).quantize(Decimal(1000))
        return amount, {"grant": _money(grant), "advance": _money(amount - grant)}
    amount = Decimal(rng.randrange(5_000, 40_001, 1_000))  # PASS-TOURISME
    return amount, {"grant": _money(amount)}


PLAN: tuple[tuple[str, str, int], ...] = (
    # scheme, size, how many
    ("CEA", "small", 8), ("CEA", "medium", 5), ("CEA", "micro", 2), ("CEA", "eti", 1),
    ("PASS-TE", "micro", 7), ("PASS-TE", "small", 2),
    ("C3S", "eti", 2), ("C3S", "medium", 1),
    ("PRSI", "medium", 3),
    ("CONTRAT-INNOVATION", "small", 4), ("CONTRAT-INNOVATION", "medium", 2),
    ("PASS-TOURISME", "micro", 4), ("PASS-TOURISME", "small", 1),
)


def demo_dossiers(seed: int = SEED) -> Iterator[dict[str, Any]]:
    """The demo portfolio as dossier files (DOSSIER.md), deterministically."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    counter = 0
    for scheme, size, count in PLAN:
        for _ in range(count):
            counter += 1
            yield _dossier(rng, scheme, size, counter)


def _dossier(rng: random.Random, scheme: str, size: str, counter: int) -> dict[str, Any]:
    submitted = date(2023, 1, 9) + timedelta(days=rng.randint(0, 600))
    year = submitted.year
    reference = f"{year}-{scheme}-{counter:04d}"
    amount, split = _amount_plan(rng, scheme)
    start = submitted + timedelta(days=rng.randint(30, 90))
    end = start + timedelta(days=rng.randint(300, 1100))
    jobs = {"micro": rng.randint(1, 3), "small": rng.randint(2, 12), "medium": rng.randint(5, 30),
            "eti": rng.randint(20, 120)}[size]
    investment = (amount * Decimal(rng.choice(("2.5", "3", "4")))).quantize(Decimal(1))
    steps: list[dict[str, Any]] = [
        {"on": submitted.isoformat(), "do": "submit", "requested": _money(amount),
         "programme": {"start": start.isoformat(), "end": end.isoformat(),
                       "investment": _money(investment), "jobs": jobs}},
    ]
    company = _company(rng, size, 20 if scheme == "PASS-TE" else None)
    staff = company["beneficiary"]["staff"]
    diagnosed = submitted + timedelta(days=rng.randint(1, 10))
    steps.append({
        "on": diagnosed.isoformat(), "do": "self_diagnosis",
        "module": required_module(staff).value,  # L20262: simplified below 10 staff
        "scores": {axis: rng.randint(50, 92) for axis in (
            "impact_strategy", "social_impact", "ecological_impact", "power_sharing", "value_sharing")},
    })
    decided = submitted + timedelta(days=rng.randint(40, 110))
    deliberation = f"CP/{decided.year}-{decided.month:02d}/{rng.randint(1, 20):02d}.{rng.randint(1, 40):02d}"
    fate = rng.random()
    checked = (diagnosed + timedelta(days=rng.randint(5, 25))).isoformat()
    eligibility: dict[str, Any] = {
        "on": checked, "do": "eligibility", "tax_and_social_compliant": True,
        "equity": _money(Decimal(company["beneficiary"]["turnover"]) * Decimal("0.2")),
        "court_proceedings": False, "real_estate": False,
        "commitments": ["environmental_footprint", "non_discrimination", "decent_work",
                        "career_development"],
        "environmental_measures": rng.choice((
            "Récupération de chaleur sur la ligne de production",
            "Remplacement de la chaudière fioul par une pompe à chaleur",
            "Réduction de 30 % des emballages plastiques",
        )),
    }
    if 0.08 <= fate < 0.14:  # noqa: PLR2004 - a few fail the gate (E3: negative equity)
        eligibility["equity"] = "-45000.00"
    if fate >= 0.08:  # noqa: PLR2004 - withdrawn dossiers stop before the gate
        steps.append(eligibility)
    if fate >= 0.22 and scheme in ("CEA", "C3S", "CONTRAT-INNOVATION"):  # noqa: PLR2004
        steps.append({
            "on": (decided - timedelta(days=10)).isoformat(), "do": "appraise",
            "financial_income": _money(amount * Decimal("0.05")),
            "dividends_paid": "0.00", "self_financing_capacity": _money(amount * Decimal("0.8")),
            "shareholder_dividends": "0.00", "executive_total_pay": "96000.00",
        })
    if fate < 0.08:  # noqa: PLR2004 - demo mix
        steps.append({"on": (submitted + timedelta(days=20)).isoformat(), "do": "withdraw",
                      "reason": "Projet reporté par l'entreprise"})
    elif fate < 0.22:  # noqa: PLR2004 - demo mix
        steps.append({"on": decided.isoformat(), "do": "reject", "body": "commission permanente",
                      "deliberation": deliberation,
                      "reasons": ["Fonds propres négatifs (E3, L3339-3343)"] if fate < 0.14 else [  # noqa: PLR2004
                          rng.choice((
                              "Projet sans effet d'entraînement sur l'emploi régional",
                              "Plan de financement non bouclé",
                              "Dépenses déjà engagées avant le dépôt de la demande",
                          ))]})
    else:
        steps.append({"on": decided.isoformat(), "do": "award", "amount": _money(amount), **split,
                      "body": "commission permanente", "deliberation": deliberation})
        signed = decided + timedelta(days=rng.randint(10, 45))
        steps.append({"on": signed.isoformat(), "do": "sign",
                      "convention": f"CONV-{signed.year}-{counter:04d}"})
        paid_on = signed + timedelta(days=rng.randint(7, 30))
        advance = (amount * Decimal("0.3")).quantize(Decimal("0.01"))
        steps.append({"on": paid_on.isoformat(), "do": "pay", "ref": f"{reference}-P1",
                      "amount": _money(advance), "kind": "advance"})
        if end + timedelta(days=60) <= HORIZON:
            interim = (amount * Decimal("0.4")).quantize(Decimal("0.01"))
            steps.append({"on": (paid_on + timedelta(days=200)).isoformat(), "do": "pay",
                          "ref": f"{reference}-P2", "amount": _money(interim), "kind": "interim"})
            steps.append({"on": end.isoformat(), "do": "complete_programme",
                          "jobs_created": max(jobs - rng.randint(0, 2), 0)})
            steps.append({"on": (end + timedelta(days=60)).isoformat(), "do": "pay",
                          "ref": f"{reference}-P3", "amount": _money(amount - advance - interim),
                          "kind": "balance"})
            steps.extend(_monitoring(rng, end, jobs))
    return {"aidflow": "dossier/1", "reference": reference, "scheme": scheme, **company, "steps": steps}


def _monitoring(rng: random.Random, end: date, jobs: int) -> list[dict[str, Any]]:
    """The first yearly headcount declaration after the programme, when the horizon allows;
    a quarter of the beneficiaries declare fewer jobs than committed, and are assessed."""
    declared_on = date(end.year + 1, end.month, min(end.day, 28)) + timedelta(days=rng.randint(5, 60))
    if declared_on > HORIZON:
        return []
    shortfall = rng.random() < 0.25  # noqa: PLR2004 - demo mix
    declared = max(jobs - rng.randint(1, 3), 0) if shortfall and jobs else jobs
    steps: list[dict[str, Any]] = [
        {"on": declared_on.isoformat(), "do": "declare_headcount", "jobs": declared}
    ]
    assessed_on = declared_on + timedelta(days=30)
    if declared < jobs and assessed_on <= HORIZON:
        steps.append({"on": assessed_on.isoformat(), "do": "assess_clawback"})
    return steps


def record_demo(app: Aidflow, progress: Callable[[str], None] | None = None) -> tuple[int, int]:
    """Record the demo portfolio; dossiers already in the store are left as they are.

    Returns (recorded, already_present).
    """
    recorded = present = 0
    for dossier in demo_dossiers():
        if application_id(dossier["reference"]) in app.repository:
            present += 1
        else:
            run_dossier(app, dossier)
            recorded += 1
        if progress is not None:
            progress(dossier["reference"])
    return recorded, present
