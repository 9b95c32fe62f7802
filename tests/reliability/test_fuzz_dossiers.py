"""Hypothesis feeds garbage dossiers: only named refusals, nothing half-recorded, no traceback.

Two kinds of garbage: arbitrary JSON values, and DOSSIER.md's example with random damage
(a value replaced by arbitrary JSON, a key deleted or added, steps duplicated or shuffled).
Whatever happens, ``run_dossier`` either records the dossier or raises an ``AidflowError``
naming a field; when step *i* is refused, exactly the events of steps before *i* are stored.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aidflow.adapters.cli import main
from aidflow.application.dossier import StepRefused, run_dossier
from aidflow.application.service import Aidflow
from aidflow.domain.errors import AidflowError
from helpers import DOSSIER_EXAMPLE
from reliability.rel_support import record_figure

SRC = Path(__file__).resolve().parents[2] / "src" / "aidflow"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.sampled_from(["2024-02-30", "-1.00", "1.001", "CONV-2024-0042", "P1", "submit", "pay", "1e400"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=12,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def damaged_dossiers(draw: st.DrawFn) -> Any:
    dossier = copy.deepcopy(DOSSIER_EXAMPLE)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(dossier)
        path = draw(st.sampled_from(paths))
        *parents, last = path
        node: Any = dossier
        for key in parents:
            node = node[key]
        action = draw(st.sampled_from(["replace", "delete", "add", "duplicate-step", "swap-steps"]))
        if action == "replace":
            node[last] = draw(json_values)
        elif action == "delete":
            del node[last]
        elif action == "add" and isinstance(node, dict):
            node[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
        elif action in ("duplicate-step", "swap-steps") and isinstance(dossier.get("steps"), list):
            steps = dossier["steps"]
            if steps:
                i, j = draw(st.integers(0, len(steps) - 1)), draw(st.integers(0, len(steps) - 1))
                if action == "duplicate-step":
                    steps.insert(j, copy.deepcopy(steps[i]))
                else:
                    steps[i], steps[j] = steps[j], steps[i]
        if not isinstance(dossier, dict):
            break
    return dossier


garbage = st.one_of(json_values, damaged_dossiers(), damaged_dossiers())


def _check(app: Aidflow, data: Any) -> None:
    counts = [app.event_count()]

    def after_step(_index: int, _step: object) -> None:
        counts.append(app.event_count())

    try:
        if not isinstance(data, dict):
            from aidflow.application.dossier import parse_text  # noqa: PLC0415

            data = parse_text(json.dumps(data))
        run_dossier(app, data, on_step=after_step)
    # Both outcomes are allowed (a damaged dossier may still be valid), so no pytest.raises.
    except StepRefused as refused:
        assert refused.field  # noqa: PT017
        assert refused.message  # noqa: PT017
        assert app.event_count() == counts[refused.index], "a refused step recorded something"  # noqa: PT017
    except AidflowError as error:
        assert error.field, error  # noqa: PT017
        assert app.event_count() == counts[-1]
    record_figure("bad inputs tried", 1)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(garbage)
def test_garbage_dossiers_are_refused_by_name_and_never_half_recorded(data: Any) -> None:
    app = Aidflow(store="memory:")
    try:
        _check(app, data)
    finally:
        app.close()


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          deadline=None)
@given(data=garbage)
def test_garbage_dossier_files_exit_without_traceback(
    data: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "garbage.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    store = f"sqlite:///{tmp_path / 'fuzz.sqlite'}"
    (tmp_path / "fuzz.sqlite").unlink(missing_ok=True)  # the folder is shared by every example

    status = main(["dossier", "run", str(file), "--store", store])

    printed = capsys.readouterr()
    assert status in (0, 1), printed
    assert "Traceback" not in printed.err + printed.out
    record_figure("bad inputs tried", 1)
    record_figure("tracebacks shown", int(status not in (0, 1)))


# ------------------------------------------------------------ no string-built SQL


def _sql_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("execute", "executemany") and node.args
    ]


IDENTIFIER_SOURCES = re.compile(r"table|schema|where|placeholders|columns|_name\b|^t\[")
"""What an f-string SQL statement may interpolate: table and schema names from constants, and
``WHERE … IN (?,?,…)`` fragments made of placeholders only."""


def _interpolations(statement: ast.expr) -> list[str]:
    if isinstance(statement, ast.JoinedStr):
        return [ast.unparse(v.value) for v in statement.values if isinstance(v, ast.FormattedValue)]
    if isinstance(statement, ast.BinOp):
        return _interpolations(statement.left) + _interpolations(statement.right) + [
            ast.unparse(side) for side in (statement.left, statement.right)
            if not isinstance(side, ast.Constant | ast.JoinedStr | ast.BinOp)]
    if isinstance(statement, ast.Call) and isinstance(statement.func, ast.Attribute) and (
            statement.func.attr == "format"):
        return [ast.unparse(a) for a in statement.args] or ["format(...)"]
    return []


def test_storage_adapters_never_execute_sql_built_from_values() -> None:
    """Every value reaches the database through ``?`` / ``%s`` placeholders or psycopg.sql.

    Statements given straight to ``execute`` may interpolate identifiers only (table and
    schema names from constants, which ruff's S608 makes each module justify); an
    interpolated value such as ``f"… WHERE ref='{reference}'"`` fails this test.
    """
    offenders = []
    checked = 0
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _sql_calls(tree):
            checked += 1
            offenders += [
                f"{path.relative_to(SRC)}:{call.lineno}: {{{source}}}"
                for source in _interpolations(call.args[0]) if not IDENTIFIER_SOURCES.search(source)
            ]
    assert checked > 10
    assert offenders == []
