"""Test data and PostgreSQL helpers shared by the test suite.

``DOSSIER_EXAMPLE`` is the example dossier of DOSSIER.md, verbatim. The builders
below return fresh, deep-copied command dicts for the application service
(``Aidflow.submit/award/sign/pay/...``), with optional overrides; ``with_value`` and
``without`` edit nested fields by dotted path (``"beneficiary.siren"``) so that a
test changes exactly one thing.

PostgreSQL: the server URL comes from ``AIDFLOW_TEST_POSTGRES``. Without it the
PostgreSQL tests skip locally, but fail when ``CI`` is set: in CI they must run.
"""

from __future__ import annotations

import copy
import os
import threading
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from aidflow.application.service import Aidflow

POSTGRES_ENV_VAR = "AIDFLOW_TEST_POSTGRES"

REFERENCE = "2024-CEA-0042"
CONVENTION = "CONV-2024-0042"
SIREN = "732829320"
SIRET = "73282932000074"
OTHER_COMPANY_SIRET = "55210055400013"
"""A Luhn-valid SIRET of another company (SIREN 552100554)."""

DOSSIER_EXAMPLE: dict[str, Any] = {
    "aidflow": "dossier/1",
    "reference": REFERENCE,
    "scheme": "CEA",
    "beneficiary": {
        "kind": "company", "siren": SIREN, "name": "Atelier Garonne SAS",
        "staff": 42, "turnover": "6200000.00", "balance_sheet": "3900000.00",
    },
    "site": {"siret": SIRET, "commune": "Toulouse", "department": "31"},
    "steps": [
        {"on": "2024-01-15", "do": "submit", "requested": "250000.00",
         "programme": {"start": "2024-03-01", "end": "2025-12-31", "investment": "900000.00", "jobs": 12}},
        {"on": "2024-01-20", "do": "self_diagnosis", "module": "full",
         "scores": {"impact_strategy": 55, "social_impact": 60, "ecological_impact": 40,
                    "power_sharing": 35, "value_sharing": 50}},
        {"on": "2024-02-01", "do": "eligibility", "tax_and_social_compliant": True, "equity": "800000.00",
         "court_proceedings": False, "real_estate": False,
         "commitments": ["environmental_footprint", "non_discrimination", "decent_work",
                         "career_development"],
         "environmental_measures": "Heat recovery on the new kiln line"},
        {"on": "2024-03-14", "do": "award", "amount": "250000.00", "grant": "200000.00",
         "advance": "50000.00", "body": "commission permanente", "deliberation": "CP/2024-03/12.04"},
        {"on": "2024-04-02", "do": "sign", "convention": CONVENTION},
        {"on": "2024-04-15", "do": "pay", "ref": "P1", "amount": "75000.00", "kind": "advance"},
        {"on": "2025-12-31", "do": "complete_programme"},
        {"on": "2027-03-01", "do": "declare_headcount", "jobs": 9},
        {"on": "2027-06-30", "do": "assess_clawback"},
    ],
}


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the one digit that makes it Luhn-valid (as SIREN and SIRET are)."""
    for digit in "0123456789":
        candidate = prefix + digit
        total = sum(
            (2 * int(c) - 9 if 2 * int(c) > 9 else 2 * int(c)) if i % 2 else int(c)
            for i, c in enumerate(reversed(candidate))
        )
        if total % 10 == 0:
            return candidate
    raise AssertionError(prefix)  # pragma: no cover - one digit always completes it


def another_company(index: int, command: dict[str, Any]) -> dict[str, Any]:
    """``command`` for another company (valid SIREN and SIRET), e.g. to stay clear of the
    example company's rolling de minimis cap."""
    siren = luhn_complete(f"{800000000 + index * 1013:09d}"[:8])
    siret = luhn_complete(f"{siren}0001")
    return with_value(with_value(command, "beneficiary.siren", siren), "site.siret", siret)


def example_step(do: str) -> dict[str, Any]:
    """A deep copy of the example dossier's first step named ``do``."""
    for step in DOSSIER_EXAMPLE["steps"]:
        if step["do"] == do:
            return copy.deepcopy(step)
    msg = f"the example dossier has no {do!r} step"
    raise KeyError(msg)


def submit_command(**overrides: Any) -> dict[str, Any]:
    """``Aidflow.submit`` input: the dossier header plus its ``submit`` step."""
    header = {k: copy.deepcopy(v) for k, v in DOSSIER_EXAMPLE.items() if k in (
        "reference", "scheme", "beneficiary", "site")}
    return header | example_step("submit") | overrides


def self_diagnosis_step(**overrides: Any) -> dict[str, Any]:
    return example_step("self_diagnosis") | overrides


def eligibility_step(**overrides: Any) -> dict[str, Any]:
    return example_step("eligibility") | overrides


def make_eligible(app: Aidflow, reference: str = REFERENCE) -> None:
    """The example dossier's self-diagnosis and eligibility steps (the gate before an award)."""
    app.self_diagnosis(reference, self_diagnosis_step())
    result = app.check_eligibility(reference, eligibility_step())
    assert result["eligible"], result


def award_step(**overrides: Any) -> dict[str, Any]:
    return example_step("award") | overrides


def sign_step(**overrides: Any) -> dict[str, Any]:
    return example_step("sign") | overrides


def pay_step(**overrides: Any) -> dict[str, Any]:
    return example_step("pay") | overrides


def complete_step(**overrides: Any) -> dict[str, Any]:
    return example_step("complete_programme") | overrides


def withdraw_step(**overrides: Any) -> dict[str, Any]:
    return {"on": "2024-02-10", "do": "withdraw", "reason": "project postponed"} | overrides


def reject_step(**overrides: Any) -> dict[str, Any]:
    return {
        "on": "2024-03-14", "do": "reject", "body": "commission permanente",
        "deliberation": "CP/2024-03/12.05",
        "reasons": ["programme not eligible", "financing plan incomplete"],
    } | overrides


def with_value(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with the dotted ``path`` set to ``value``."""
    result = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = result
    for key in parents:
        node = node[key]
    node[last] = value
    return result


def without(data: dict[str, Any], path: str) -> dict[str, Any]:
    """A deep copy of ``data`` with the dotted ``path`` removed."""
    result = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = result
    for key in parents:
        node = node[key]
    del node[last]
    return result


# ------------------------------------------------------------------ PostgreSQL


def postgres_server_url() -> str:
    """``$AIDFLOW_TEST_POSTGRES``; skips the calling test when unset, fails instead in CI."""
    url = os.environ.get(POSTGRES_ENV_VAR, "").strip()
    if url:
        return url
    msg = (
        f"{POSTGRES_ENV_VAR} is not set: start a server with "
        f'eval "$(scripts/start-postgres.sh)" (CI runs it in .ci/run)'
    )
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests must run in CI: {msg}", pytrace=False)
    pytest.skip(msg)


def _connect_url(url: str) -> str:
    """The server URL without aidflow's own query options (psycopg would refuse them)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=""))


def create_schema(server_url: str) -> str:
    """Create a fresh schema ``test_<uuid>`` and return its name."""
    import psycopg  # noqa: PLC0415 - only the PostgreSQL tests need the driver

    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(_connect_url(server_url), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(name)))
    return name


def drop_schema(server_url: str, name: str) -> None:
    """Drop a schema made by :func:`create_schema`, and everything in it."""
    import psycopg  # noqa: PLC0415 - only the PostgreSQL tests need the driver

    with psycopg.connect(_connect_url(server_url), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(name)))


def schema_url(server_url: str, schema: str, **options: str) -> str:
    """The aidflow store URL for ``schema`` on the server (other query options kept)."""
    parts = urlsplit(server_url)
    query = dict(parse_qsl(parts.query)) | {"schema": schema} | options
    return urlunsplit(parts._replace(query=urlencode(query)))


def join_test_threads(before: set[threading.Thread]) -> None:
    """Wait for the threads a contract test started and left running.

    eventsourcing 9.5.6's ``test_concurrent_no_conflicts`` sets ``stop_reading`` but never
    joins its two reader threads: closing the store under a reader still inside
    ``select_notifications`` made SQLite segfault (a CI worker crash, about one run in
    five). Closing only after they end keeps the contract test as upstream wrote it.
    Daemon threads (psycopg_pool's workers) live as long as their pool and are not waited for.
    """
    for thread in set(threading.enumerate()) - before:
        if not thread.daemon:
            thread.join(timeout=10)
