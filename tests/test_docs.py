"""The documentation stays true: its code runs and its shown output is what aidflow prints.

- Every ```python block of README.md runs, in order, in one namespace. When a ```text block
  follows it directly, that text is exactly what the block prints.
- The tutorial's example files (examples/*.json) are the ones the tutorial shows. Recorded
  with the real ``aidflow`` console script against a temporary SQLite store, they give the
  status and the refusal the tutorial shows.
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
FIRST_DOSSIER = ROOT / "examples" / "first-dossier.json"
REFUSED_DOSSIER = ROOT / "examples" / "refused-overpayment.json"
STORE = "sqlite:///tutorial.sqlite"  # relative: inside each test's tmp_path

FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def fenced_blocks(path: Path) -> list[tuple[str, str]]:
    """(language, body) of each top-level fenced block of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    return [(m["lang"], m["body"]) for m in FENCE.finditer(text)]


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


# ----------------------------------------------------------------- README


def test_readme_python_blocks_run_and_print_what_the_readme_shows():
    blocks = fenced_blocks(README)
    python_blocks = [i for i, (lang, _) in enumerate(blocks) if lang == "python"]
    assert python_blocks, "README.md should show Python code"
    namespace: dict[str, Any] = {"__name__": "readme"}
    for index in python_blocks:
        code = blocks[index][1]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"README.md python block {index}", "exec"), namespace)  # noqa: S102 - running the README is the point
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following is not None and following[0] == "text":
            assert printed.getvalue().strip() == following[1].strip()


# --------------------------------------------------------------- tutorial


def test_tutorial_shows_the_example_files_as_they_are():
    shown = [json.loads(body) for lang, body in fenced_blocks(TUTORIAL) if lang == "json"]
    files = [json.loads(path.read_text(encoding="utf-8")) for path in (FIRST_DOSSIER, REFUSED_DOSSIER)]
    assert shown[:2] == files


def test_first_dossier_records_green_as_the_tutorial_shows(tmp_path):
    recorded = run_aidflow("dossier", "run", str(FIRST_DOSSIER), "--store", STORE, cwd=tmp_path)

    assert recorded.returncode == 0, recorded.stderr
    assert "status: signed" in recorded.stdout
    tutorial = TUTORIAL.read_text(encoding="utf-8")
    for line in recorded.stdout.strip().splitlines():
        assert line.rstrip() in tutorial, f"the tutorial no longer shows {line!r}"
    state = show_json("2024-CEA-0042", tmp_path)["state"]
    assert state["status"] == "signed"
    assert state["size_at_signature"] == "small"
    assert state["awarded"] == "250000.00"
    assert state["paid"] == "75000.00"
    assert state["programme_completed_on"] == "2025-12-31"


def test_refused_step_exits_1_naming_the_step_and_keeps_the_earlier_steps(tmp_path):
    refused = run_aidflow("dossier", "run", str(REFUSED_DOSSIER), "--store", STORE, cwd=tmp_path)

    assert refused.returncode == 1
    assert "step 4 (pay) refused" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert refused.stdout == ""
    error_line = refused.stderr.strip()
    assert error_line in TUTORIAL.read_text(encoding="utf-8"), "the tutorial shows another refusal"
    shown = show_json("2024-CEA-0043", tmp_path)
    assert shown["state"]["status"] == "signed"
    assert shown["state"]["paid"] == "36000.00"
    events = [entry["event"] for entry in shown["history"]]
    # Signing records one event on each aggregate in one transaction: their order may tie.
    assert sorted(events) == sorted(["Submitted", "Awarded", "Signed", "ConventionSigned", "PaymentRecorded"])
    assert events[-1] == "PaymentRecorded"


def test_tutorial_continuation_records_only_the_new_steps(tmp_path):
    continuation = [json.loads(body) for lang, body in fenced_blocks(TUTORIAL) if lang == "json"][2]
    continued = tmp_path / "overpayment-continued.json"
    continued.write_text(json.dumps(continuation), encoding="utf-8")
    run_aidflow("dossier", "run", str(REFUSED_DOSSIER), "--store", STORE, cwd=tmp_path)

    recorded = run_aidflow("dossier", "run", str(continued), "--store", STORE, cwd=tmp_path)

    assert recorded.returncode == 0, recorded.stderr
    tutorial = TUTORIAL.read_text(encoding="utf-8")
    for line in recorded.stdout.strip().splitlines():
        assert line.rstrip() in tutorial, f"the tutorial no longer shows {line!r}"
    assert show_json("2024-CEA-0043", tmp_path)["state"]["paid"] == "120000.00"


@pytest.mark.parametrize("path", [FIRST_DOSSIER, REFUSED_DOSSIER], ids=lambda p: p.name)
def test_example_files_are_json_dossiers(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["aidflow"] == "dossier/1"
    assert data["steps"], "an example dossier has steps"
