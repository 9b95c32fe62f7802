"""The documentation stays true: its code runs and its shown output is what aidflow prints.

- Every ```python block of README.md runs, in order, in one namespace. When a ```text block
  follows it directly, that text is exactly what the block prints.
- The README's "Fresh clone" section shows exactly two commands, ``make demo`` and ``make test``.
- The how-to "Add a scheme" runs: its YAML files are written where their ``# file:`` line says,
  its Python blocks run in order and print what the page shows, and the tests it defines pass.
- The tutorial's example files (examples/*.json) are the ones the tutorial shows. Recorded
  with the real ``aidflow`` console script against a temporary SQLite store, they give the
  status, the refusals, the monitoring calendar and the clawback the tutorial shows.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TUTORIAL = ROOT / "docs" / "tutorial" / "first-dossier.md"
ADD_A_SCHEME = ROOT / "docs" / "how-to" / "add-a-scheme.md"
CLI_REFERENCE = ROOT / "docs" / "reference" / "cli.md"
FIRST_DOSSIER = ROOT / "examples" / "first-dossier.json"
REFUSED_DOSSIER = ROOT / "examples" / "refused-overpayment.json"
STORE = "sqlite:///tutorial.sqlite"  # relative: inside each test's tmp_path

RECORDED_AT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def fenced_blocks(path: Path) -> list[tuple[str, str]]:
    """(language, body) of each top-level fenced block of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    return [(m["lang"], m["body"]) for m in FENCE.finditer(text)]


def tutorial_json_blocks() -> list[dict[str, Any]]:
    return [json.loads(body) for lang, body in fenced_blocks(TUTORIAL) if lang == "json"]


def aidflow_command() -> list[str]:
    """The installed ``aidflow`` console script (there is no ``python -m aidflow``)."""
    beside_python = Path(sys.executable).parent / "aidflow"
    if beside_python.is_file():
        return [str(beside_python)]
    on_path = shutil.which("aidflow")
    if on_path is not None:
        return [on_path]
    return [sys.executable, "-c", "import sys; from aidflow.adapters.cli import main; sys.exit(main())"]


def run_aidflow(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would: no AIDFLOW_* settings inherited, no colours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIDFLOW_")}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [*aidflow_command(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def show_json(reference: str, cwd: Path) -> dict[str, Any]:
    shown = run_aidflow("show", reference, "--store", STORE, "--json", cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    data: dict[str, Any] = json.loads(shown.stdout)
    return data


def assert_tutorial_shows(output: str, page: Path = TUTORIAL) -> None:
    """Every non-blank line of ``output`` appears in the page (trailing spaces aside)."""
    text = page.read_text(encoding="utf-8")
    lines = [line.rstrip() for line in output.strip().splitlines() if line.strip()]
    assert lines, "the command printed nothing"
    for line in lines:
        assert line in text, f"{page.name} no longer shows {line!r}"


def assert_tutorial_shows_show(reference: str, cwd: Path) -> None:
    """``aidflow show REFERENCE`` prints what the tutorial shows, but for the recording times."""
    shown = run_aidflow("show", reference, "--store", STORE, cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    tutorial = RECORDED_AT.sub("TIME", TUTORIAL.read_text(encoding="utf-8"))
    for printed in shown.stdout.strip().splitlines():
        line = RECORDED_AT.sub("TIME", printed.rstrip())
        assert line in tutorial, f"the tutorial no longer shows {line!r}"


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ----------------------------------------------------------------- README


def test_readme_python_blocks_run_and_print_what_the_readme_shows():
    blocks = fenced_blocks(README)
    python_blocks = [i for i, (lang, _) in enumerate(blocks) if lang == "python"]
    assert len(python_blocks) >= 3, "README.md shows the lifecycle, a refusal and a clawback"
    namespace: dict[str, Any] = {"__name__": "readme"}
    checked = 0
    for index in python_blocks:
        code = blocks[index][1]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"README.md python block {index}", "exec"), namespace)  # noqa: S102 - running the README is the point
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following is not None and following[0] == "text":
            assert printed.getvalue().strip() == following[1].strip()
            checked += 1
    assert checked == len(python_blocks), "every README Python block shows what it prints"


def test_readme_python_example_passes_the_gate_before_the_award():
    code = "".join(body for lang, body in fenced_blocks(README) if lang == "python")
    positions = [code.index(verb) for verb in ("app.submit(", "app.self_diagnosis(",
                                                "app.check_eligibility(", "app.award(")]
    assert positions == sorted(positions)


def test_readme_clawback_block_shows_the_dossier_example_numbers():
    blocks = fenced_blocks(README)
    last_python = max(i for i, (lang, _) in enumerate(blocks) if lang == "python")
    code, (lang, shown) = blocks[last_python][1], blocks[last_python + 1]
    for fragment in ('"2025-12-31"', '"declare_headcount", "jobs": 9', '"2027-03-01"', '"2027-06-30"'):
        assert fragment in code
    assert lang == "text"
    assert shown.startswith("18750.00 in_breach\n")


def test_readme_fresh_clone_section_shows_exactly_the_two_commands():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Fresh clone: run it"):text.index("## Tests")]
    blocks = [(m["lang"], m["body"]) for m in FENCE.finditer(section)]
    assert blocks == [("sh", "make demo\nmake test\n")]


def test_readme_roadmap_lists_what_is_in_and_what_is_still_coming():
    text = README.read_text(encoding="utf-8")
    roadmap = text[text.index("## Roadmap"):text.index("## Licence")]
    done, coming = roadmap.split("Not in this version yet:")
    for capability in ("Eligibility", "Appraisal", "Monitoring", "Clawback", "Calls", "Audit", "Amendments"):
        assert f"- {capability}:" in done
        assert f"- {capability}:" not in coming


# --------------------------------------------------------------- tutorial


def test_tutorial_shows_the_example_files_as_they_are():
    files = [json.loads(path.read_text(encoding="utf-8")) for path in (FIRST_DOSSIER, REFUSED_DOSSIER)]
    assert tutorial_json_blocks()[:2] == files


def test_example_award_follows_a_self_diagnosis_and_an_eligibility_step():
    for path in (FIRST_DOSSIER, REFUSED_DOSSIER):
        verbs = [step["do"] for step in json.loads(path.read_text(encoding="utf-8"))["steps"]]
        assert verbs[:4] == ["submit", "self_diagnosis", "eligibility", "award"], path.name


def test_first_dossier_records_green_as_the_tutorial_shows(tmp_path):
    recorded = run_aidflow("dossier", "run", str(FIRST_DOSSIER), "--store", STORE, cwd=tmp_path)

    assert recorded.returncode == 0, recorded.stderr
    assert recorded.stdout.startswith("7 steps recorded for 2024-CEA-0042.\n")
    assert "status: signed" in recorded.stdout
    assert_tutorial_shows(recorded.stdout)
    assert_tutorial_shows_show("2024-CEA-0042", tmp_path)
    state = show_json("2024-CEA-0042", tmp_path)["state"]
    assert state["status"] == "signed"
    assert state["eligibility"] == {"eligible": True, "failures": []}
    assert state["size_at_signature"] == "small"
    assert state["awarded"] == "250000.00"
    assert state["paid"] == "75000.00"
    assert state["programme_completed_on"] == "2025-12-31"


def test_the_award_refused_when_the_gate_fails_is_the_one_the_tutorial_shows(tmp_path):
    data = json.loads(FIRST_DOSSIER.read_text(encoding="utf-8"))
    data["steps"][2]["commitments"].remove("decent_work")
    refused = run_aidflow("dossier", "run", str(write_json(tmp_path / "no-decent-work.json", data)),
                          "--store", STORE, cwd=tmp_path)

    assert refused.returncode == 1
    assert refused.stderr.startswith("error: step 3 (award) refused")
    assert f"`{refused.stderr.strip()}`" in TUTORIAL.read_text(encoding="utf-8")
    state = show_json("2024-CEA-0042", tmp_path)["state"]
    assert state["status"] == "ineligible"
    assert [f["rule"] for f in state["eligibility"]["failures"]] == ["E5"]


def test_refused_step_exits_1_naming_the_step_and_keeps_the_earlier_steps(tmp_path):
    refused = run_aidflow("dossier", "run", str(REFUSED_DOSSIER), "--store", STORE, cwd=tmp_path)

    assert refused.returncode == 1
    assert "step 6 (pay) refused" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert refused.stdout == ""
    error_line = refused.stderr.strip()
    assert error_line in TUTORIAL.read_text(encoding="utf-8"), "the tutorial shows another refusal"
    assert_tutorial_shows_show("2024-CEA-0043", tmp_path)
    shown = show_json("2024-CEA-0043", tmp_path)
    assert shown["state"]["status"] == "signed"
    assert shown["state"]["paid"] == "36000.00"
    events = [entry["event"] for entry in shown["history"]]
    # Signing records one event on each aggregate in one transaction: their order may tie.
    assert sorted(events) == sorted(
        ["Submitted", "EligibilityChecked", "Awarded", "Signed", "ConventionSigned", "PaymentRecorded"]
    )
    assert events[-1] == "PaymentRecorded"


def test_refusal_as_json_is_the_one_the_tutorial_shows(tmp_path):
    refused = run_aidflow("dossier", "run", str(REFUSED_DOSSIER), "--store", "memory:", "--json",
                          cwd=tmp_path)

    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["step"] == 6
    assert_tutorial_shows(refused.stdout)


def test_running_a_file_twice_is_refused_at_submit_as_the_tutorial_shows(tmp_path):
    run_aidflow("dossier", "run", str(FIRST_DOSSIER), "--store", STORE, cwd=tmp_path)

    again = run_aidflow("dossier", "run", str(FIRST_DOSSIER), "--store", STORE, cwd=tmp_path)

    assert again.returncode == 1
    assert_tutorial_shows(again.stderr)


def test_tutorial_continuation_records_only_the_new_steps(tmp_path):
    continued = write_json(tmp_path / "overpayment-continued.json", tutorial_json_blocks()[2])
    run_aidflow("dossier", "run", str(REFUSED_DOSSIER), "--store", STORE, cwd=tmp_path)

    recorded = run_aidflow("dossier", "run", str(continued), "--store", STORE, cwd=tmp_path)

    assert recorded.returncode == 0, recorded.stderr
    assert_tutorial_shows(recorded.stdout)
    assert show_json("2024-CEA-0043", tmp_path)["state"]["paid"] == "120000.00"


def test_tutorial_monitoring_and_clawback_print_what_the_tutorial_shows(tmp_path):
    blocks = tutorial_json_blocks()
    continued = write_json(tmp_path / "overpayment-continued.json", blocks[2])
    monitoring = write_json(tmp_path / "first-dossier-monitoring.json", blocks[3])
    for path in (FIRST_DOSSIER, REFUSED_DOSSIER, continued):
        run_aidflow("dossier", "run", str(path), "--store", STORE, cwd=tmp_path)

    due = run_aidflow("monitoring", "due", "--on", "2027-02-15", "--store", STORE, cwd=tmp_path)
    assert due.returncode == 0, due.stderr
    assert_tutorial_shows(due.stdout)
    assert_tutorial_shows(due.stdout, CLI_REFERENCE)
    assert "2 declarations due or overdue." in due.stdout

    recorded = run_aidflow("dossier", "run", str(monitoring), "--store", STORE, cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    assert_tutorial_shows(recorded.stdout)

    assessed = run_aidflow("clawback", "assess", "2024-CEA-0042", "--on", "2027-06-30", "--dry-run",
                           "--store", STORE, cwd=tmp_path)
    assert assessed.returncode == 0, assessed.stderr
    assert_tutorial_shows(assessed.stdout)
    assert_tutorial_shows(assessed.stdout, CLI_REFERENCE)
    as_json = run_aidflow("clawback", "assess", "2024-CEA-0042", "--on", "2027-06-30", "--dry-run", "--json",
                          "--store", STORE, cwd=tmp_path)
    reference_json = [json.loads(body) for lang, body in fenced_blocks(CLI_REFERENCE) if lang == "json"]
    assert json.loads(as_json.stdout) in reference_json, "the CLI reference shows another assessment"

    state = show_json("2024-CEA-0042", tmp_path)["state"]
    assert state["status"] == "in_breach"
    assert state["clawback"]["total_due"] == "18750.00"
    assert state["recovery"]["cancelled_balance"] == "175000.00"


@pytest.mark.parametrize("path", [FIRST_DOSSIER, REFUSED_DOSSIER], ids=lambda p: p.name)
def test_example_files_are_json_dossiers(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["aidflow"] == "dossier/1"
    assert data["steps"], "an example dossier has steps"


# ------------------------------------------------------------------ how-to


def test_add_a_scheme_how_to_runs_and_prints_what_it_shows(tmp_path, monkeypatch):
    blocks = fenced_blocks(ADD_A_SCHEME)
    files = [body for lang, body in blocks if lang == "yaml"]
    assert len(files) == 2, "the catalogue entry and the grid"
    for body in files:
        first_line = body.splitlines()[0]
        assert first_line.startswith("# file: ")
        target = tmp_path / first_line.removeprefix("# file: ").strip()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "add_a_scheme"}
    python_blocks = [i for i, (lang, _) in enumerate(blocks) if lang == "python"]
    assert len(python_blocks) == 4
    for index in python_blocks:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(blocks[index][1], f"add-a-scheme.md python block {index}", "exec"), namespace)  # noqa: S102 - the page is the test
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following is not None and following[0] == "text":
            assert printed.getvalue().strip() == following[1].strip()
        else:
            assert printed.getvalue() == ""
    defined_tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(defined_tests) == 2
    for test in defined_tests:
        test()
