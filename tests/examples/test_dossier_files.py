"""Dossier files under examples/dossiers/ give the results computed by hand from RULES.md.

Each ``NAME.json`` is recorded with the real ``aidflow`` console script (``aidflow dossier run
NAME.json --json``) on a fresh SQLite store, and its ``NAME.expected.json`` is a subset of the
result: every key it holds must be in the output with that value (lists: same length, item by
item). The expectations were computed by hand, and their arithmetic is in ``_why``. Keys with
a leading underscore drive the test:

- ``_why``: the hand computation, one step a line (required).
- ``_after``: files of the same folder recorded first, on the same store (e.g. an earlier aid
  to the same SIREN for the de minimis cap).
- ``_refused``: the file stops at a refused step: exit status 1, and the ``error`` object
  printed on stdout holds these values (``message_contains`` is a substring of its message).
  The state is then read with ``aidflow show REFERENCE --json``.
- ``_instalments``: a repayable advance's schedule, read through the Python API (no view
  shows it), as ``{"convention": NUMBER, "on": {DATE: [instalment statuses]}}``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from aidflow.application.service import Aidflow

ROOT = Path(__file__).resolve().parents[2]
DOSSIERS = ROOT / "examples" / "dossiers"
STORE_FILE = "dossiers.sqlite"
META_KEYS = {"_why", "_after", "_refused", "_instalments"}


def dossier_files() -> list[Path]:
    return sorted(p for p in DOSSIERS.glob("*.json") if not p.name.endswith(".expected.json"))


def expected_for(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    return data


def aidflow_command() -> list[str]:
    """The installed ``aidflow`` console script, next to the running interpreter."""
    beside_python = Path(sys.executable).parent / "aidflow"
    if beside_python.is_file():
        return [str(beside_python)]
    on_path = shutil.which("aidflow")
    assert on_path is not None, "the aidflow console script is not installed"
    return [on_path]


def run_aidflow(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIDFLOW_")}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [*aidflow_command(), *args, "--store", f"sqlite:///{STORE_FILE}", "--json"],
        cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120,
    )


def assert_subset(expected: Any, actual: Any, where: str = "$") -> None:
    """``expected`` is included in ``actual``: dict keys recursively, lists item by item."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: no key {key!r} in {sorted(actual)}"
            assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{where}: {len(actual)} items, not {len(expected)}: {actual}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(want, got, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: got {actual!r}, expected {expected!r} (hand-computed)"


def record(path: Path, cwd: Path) -> dict[str, Any]:
    """Record ``path`` as its expectation says (green, or refused at a step); return the state."""
    expected = expected_for(path)
    ran = run_aidflow("dossier", "run", str(path), cwd=cwd)
    refused = expected.get("_refused")
    if refused is None:
        assert ran.returncode == 0, f"{path.name}: {ran.stderr}"
        state: dict[str, Any] = json.loads(ran.stdout)
        return state
    assert ran.returncode == 1, f"{path.name} should be refused; exit {ran.returncode}: {ran.stderr}"
    assert "Traceback" not in ran.stderr
    error = json.loads(ran.stdout)["error"]
    wanted = {k: v for k, v in refused.items() if k != "message_contains"}
    assert_subset(wanted, error, "$.error")
    assert refused["message_contains"] in error["message"]
    shown = run_aidflow("show", expected["reference"], cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    shown_state: dict[str, Any] = json.loads(shown.stdout)["state"]
    return shown_state


def instalments_as_data(store: Path, number: str, on: date) -> list[dict[str, Any]]:
    app = Aidflow(f"sqlite:///{store}")
    try:
        statuses = app.convention(number).instalments(on)
    finally:
        app.close()
    return [
        {
            "number": s.instalment.number,
            "due_on": s.instalment.due_on.isoformat(),
            "amount": str(s.instalment.amount),
            "paid": str(s.paid),
            "outstanding": str(s.outstanding),
            "settled_on": None if s.settled_on is None else s.settled_on.isoformat(),
            "state": s.state.value,
        }
        for s in statuses
    ]


# ------------------------------------------------------------------ the files


def test_every_dossier_file_has_a_hand_computed_expectation_and_back():
    dossiers = {p.stem for p in dossier_files()}
    expectations = {p.name.removesuffix(".expected.json") for p in DOSSIERS.glob("*.expected.json")}
    assert dossiers == expectations
    assert len(dossiers) >= 12


@pytest.mark.parametrize("path", dossier_files(), ids=lambda p: p.stem)
def test_expectation_is_well_formed(path):
    expected = expected_for(path)
    assert {k for k in expected if k.startswith("_")} <= META_KEYS
    why = expected["_why"]
    assert isinstance(why, list)
    assert why
    assert all(isinstance(line, str) and line for line in why)
    dossier = json.loads(path.read_text(encoding="utf-8"))
    assert dossier["aidflow"] == "dossier/1"
    assert expected["reference"] == dossier["reference"]
    for earlier in expected.get("_after", []):
        assert (DOSSIERS / earlier).is_file(), earlier


@pytest.mark.parametrize("path", dossier_files(), ids=lambda p: p.stem)
def test_dossier_file_gives_the_hand_computed_result(path, tmp_path):
    expected = expected_for(path)
    for earlier in expected.get("_after", []):
        record(DOSSIERS / earlier, tmp_path)

    state = record(path, tmp_path)

    assert_subset({k: v for k, v in expected.items() if not k.startswith("_")}, state)
    instalments = expected.get("_instalments")
    if instalments is not None:
        for day, statuses in instalments["on"].items():
            on = date.fromisoformat(day)
            actual = instalments_as_data(tmp_path / STORE_FILE, instalments["convention"], on)
            assert_subset(statuses, actual, f"$.instalments[{day}]")


# ------------------------------------------------------------------ coverage of RULES.md §4


def all_expectations() -> dict[str, dict[str, Any]]:
    return {p.stem: expected_for(p) for p in dossier_files()}


def test_the_dossier_example_yields_18_750_due():
    example = all_expectations()["dossier-example"]
    assert example["status"] == "in_breach"
    assert example["clawback"]["total_due"] == "18750.00"


def test_every_obligation_and_every_end_state_has_a_dossier():
    expectations = all_expectations().values()
    obligations = {
        b["obligation"] for e in expectations for b in (e.get("clawback") or {}).get("breaches", [])
    }
    assert obligations >= {"O1", "O2", "O3", "O4", "O5", "O6", "O7"}
    statuses = {e["status"] for e in expectations}
    assert statuses >= {"in_breach", "signed", "fulfilled", "closed", "rejected", "awarded", "eligible"}
    assert any(e.get("_refused") for e in expectations), "a cap that binds refuses an award"
    assert any(e.get("_instalments") for e in expectations), "a repayable advance has a schedule"


# ------------------------------------------------------------------ beyond the files


def test_a_waived_breach_does_not_block_fulfilment_and_closing(tmp_path):
    """RULES.md §4: a waived discretionary breach counts as nothing, so once every window has
    ended the convention is fulfilled and may be closed (reported, then fixed in ac5c159)."""
    data = json.loads((DOSSIERS / "o5-waived.json").read_text(encoding="utf-8"))
    # Every window ended on 2032-04-02 (O3/O4/O5, 8 years after signing on 2024-04-02).
    data["steps"] += [{"on": "2032-04-03", "do": "assess_clawback"}, {"on": "2032-05-03", "do": "close"}]
    path = tmp_path / "o5-waived-then-closed.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    ran = run_aidflow("dossier", "run", str(path), cwd=tmp_path)

    assert ran.returncode == 0, ran.stderr
    state = json.loads(ran.stdout)
    assert state["status"] == "closed"
    assert state["clawback"]["total_due"] == "0.00"


def test_a_pending_breach_blocks_fulfilment(tmp_path):
    """A discretionary breach the Region has not decided is still open: no fulfilment."""
    data = json.loads((DOSSIERS / "o5-waived.json").read_text(encoding="utf-8"))
    data["steps"] = [s for s in data["steps"] if s["do"] != "decide_breach"]
    data["steps"][-1] = {"on": "2032-04-03", "do": "assess_clawback"}
    path = tmp_path / "o5-pending.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    ran = run_aidflow("dossier", "run", str(path), cwd=tmp_path)

    assert ran.returncode == 0, ran.stderr
    state = json.loads(ran.stdout)
    assert state["status"] == "signed"
    assert_subset([{"obligation": "O5", "amount": "0.00", "established": False, "waived": False,
                    "proposed": "75000.00"}], state["clawback"]["breaches"])
