"""The SCDL « subventions » export of the demo portfolio obeys the published schema's rules.

The rules below are transcribed from the schema documentation (SCDL ``subventions`` 2.1.1,
schema.data.gouv.fr ``site/scdl/subventions/2.1.1/documentation.md``), independently of
the exporter: required fields, patterns, allowed values, lengths and ranges.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aidflow.adapters import scdl
from aidflow.adapters.audit_cli import audit_app
from aidflow.adapters.demo import record_demo
from aidflow.application.service import Aidflow
from aidflow.domain.values import Siret

COLUMNS = [
    "nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision", "nomBeneficiaire",
    "idBeneficiaire", "rnaBeneficiaire", "objet", "montant", "nature", "conditionsVersement",
    "datesPeriodeVersement", "idRAE", "notificationUE", "pourcentageSubvention", "dispositifAide",
]
REQUIRED = {
    "nomAttribuant", "idAttribuant", "dateConvention", "nomBeneficiaire", "objet", "montant",
    "nature", "conditionsVersement", "datesPeriodeVersement", "notificationUE", "pourcentageSubvention",
}
PATTERNS = {
    "idAttribuant": r"\d{14}",
    "idBeneficiaire": r"\d{14}",
    "rnaBeneficiaire": r"W\d{9}",
    "datesPeriodeVersement": r"[0-9]{4}\-[0-9]{2}\-[0-9]{2}(\/[0-9]{4}\-[0-9]{2}\-[0-9]{2})?",
    "montant": r"-?\d+(\.\d+)?",  # a number whose decimal separator is the point
}
ALLOWED = {
    "nature": {"aide en numéraire", "aide en nature", "aide en numéraire;aide en nature",
               "aide en nature;aide en numéraire"},
    "notificationUE": {"oui", "non"},
}
MAX_LENGTH = {"objet": 255, "conditionsVersement": 255, "idRAE": 5}


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


def _percentage_in_range(text: str) -> bool:
    try:
        return Decimal("0.01") <= Decimal(text) <= Decimal(1)
    except InvalidOperation:
        return False


CHECKS: dict[str, Callable[[str], bool]] = {
    "dateConvention": _is_date,
    "pourcentageSubvention": _percentage_in_range,
    # "unique", "échelonné", or a free description ("autre") under 256 characters.
    "conditionsVersement": lambda text: 0 < len(text) <= MAX_LENGTH["conditionsVersement"],
}


def violations(row: dict[str, str]) -> list[str]:
    found = [f"{name} is required" for name in sorted(REQUIRED) if not row.get(name)]
    if not (row.get("idBeneficiaire") or row.get("rnaBeneficiaire")):
        found.append("one of idBeneficiaire / rnaBeneficiaire is required")
    for name, value in row.items():
        if not value:
            continue
        if name in PATTERNS and not re.fullmatch(PATTERNS[name], value):
            found.append(f"{name} {value!r} does not match {PATTERNS[name]}")
        if name in ALLOWED and value not in ALLOWED[name]:
            found.append(f"{name} {value!r} is not one of {sorted(ALLOWED[name])}")
        if name in MAX_LENGTH and len(value) > MAX_LENGTH[name]:
            found.append(f"{name} is longer than {MAX_LENGTH[name]}")
        if name in CHECKS and not CHECKS[name](value):
            found.append(f"{name} {value!r} is not valid")
    if "/" in row.get("datesPeriodeVersement", ""):
        start, end = row["datesPeriodeVersement"].split("/")
        if not (_is_date(start) and _is_date(end) and start <= end):
            found.append(f"datesPeriodeVersement {row['datesPeriodeVersement']!r} is not a period")
    return found


@pytest.fixture
def demo_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    app = Aidflow(store=url)
    record_demo(app)
    app.close()
    return url


def _export(url: str, *args: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(audit_app, ["export", "scdl", "--store", url, *args])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.splitlines()[0].split(",") == COLUMNS
    return list(csv.DictReader(io.StringIO(text)))


def test_every_exported_row_obeys_the_schema(demo_store: str) -> None:
    rows = _export(demo_store, "--id-attribuant", "20005379100014")

    assert rows
    problems = {r["objet"]: violations(r) for r in rows if violations(r)}
    assert problems == {}


def test_one_row_per_signed_convention_with_a_grant(demo_store: str) -> None:
    app: Aidflow = Aidflow(store=demo_store)
    try:
        conventions = [c for c in app.conventions() if not c.award.grant.is_zero()]
        rows = _export(demo_store)
    finally:
        app.close()

    assert len(rows) == len(conventions)
    by_number = {c.number: c for c in conventions}
    for row in rows:
        number = row["objet"].rsplit(" ", 1)[-1]
        convention = by_number[number]
        assert row["montant"] == f"{convention.award.grant.amount:.2f}"
        assert row["dateConvention"] == convention.signed_on.isoformat()
        assert row["idBeneficiaire"] == str(convention.site.siret)


def test_the_minimum_leaves_out_small_grants_and_the_file_option_writes_utf8(
    demo_store: str, tmp_path: Path
) -> None:
    everything = _export(demo_store)
    out = tmp_path / "subventions.csv"
    result = CliRunner().invoke(
        audit_app, ["export", "scdl", "--store", demo_store, "--minimum", "23000", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    large = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert 0 < len(large) < len(everything)
    assert all(Decimal(r["montant"]) >= 23000 for r in large)
    assert "aide en numéraire" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("siret", ["123", "20005379100011", "2000537910001A"])
def test_a_bad_attribuant_siret_is_refused(demo_store: str, siret: str) -> None:
    result = CliRunner().invoke(
        audit_app, ["export", "scdl", "--store", demo_store, "--id-attribuant", siret]
    )

    assert result.exit_code == 1
    assert "14-digit SIRET" in str(result.exception)
    assert siret in str(result.exception)


def test_the_default_attribuant_is_the_regions_luhn_valid_siret() -> None:
    """SIREN 200053791 from the deliberation's act number (002_8b3eb659ad96bcac.txt L764)."""
    siret = Siret(scdl.OCCITANIE.siret)

    assert str(siret.siren) == "200053791"
    assert scdl.OCCITANIE.name == "Région Occitanie"


@pytest.mark.parametrize("minimum", ["NaN", "Infinity", "-1", "lots"])
def test_a_bad_minimum_is_refused(demo_store: str, minimum: str) -> None:
    result = CliRunner().invoke(audit_app, ["export", "scdl", "--store", demo_store, "--minimum", minimum])

    assert result.exit_code == 1
    assert "--minimum takes an amount" in str(result.exception)
