"""Hostile input for every dossier step of DOSSIER.md, through the application and the CLI.

For each step, a dossier is brought to the point where a valid step of that kind is
allowed; then each bad variant of the step (see ``hostile_catalogue``) is sent. Each must be
refused with an error naming the step, the field and the value; the store's event count
must not move; and ``aidflow dossier run`` must exit 1 with one line, never a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aidflow.adapters.cli import main
from aidflow.application.dossier import StepRefused, run_dossier
from aidflow.application.service import Aidflow
from reliability.hostile_catalogue import VALID_STEPS, Mutation, ValidStep, mutations, step_models
from reliability.rel_support import record_figure

DOSSIER_MD = Path(__file__).resolve().parents[3] / "shared" / "domain" / "DOSSIER.md"

CASES = [
    pytest.param(do, mutation, id=f"{do}:{mutation.name}")
    for do in sorted(VALID_STEPS)
    for mutation in mutations(do)
]



def _one_per_field(cases: list[Any]) -> list[Any]:
    """The first bad variant of each field of each step (the CLI runs are slower)."""
    seen: set[tuple[str, str]] = set()
    chosen = []
    for case in cases:
        do, mutation = case.values
        if (do, mutation.field) not in seen:
            seen.add((do, mutation.field))
            chosen.append(case)
    return chosen


CLI_CASES = _one_per_field(CASES)


def _documented_steps() -> set[str]:
    candidates = [DOSSIER_MD, Path("/work/shared/domain/DOSSIER.md")]
    for path in candidates:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            return set(re.findall(r"^\| (\w+) \|", text, flags=re.MULTILINE)) - {"do"}
    pytest.skip("DOSSIER.md is not beside the repository")


def test_the_catalogue_covers_every_step_of_the_format() -> None:
    assert set(step_models()) <= set(VALID_STEPS), "add a valid example of the new step to the catalogue"


def test_the_catalogue_covers_every_step_of_dossier_md() -> None:
    assert _documented_steps() <= set(VALID_STEPS)


def test_every_step_has_at_least_six_bad_variants() -> None:
    assert all(len(mutations(do)) >= 6 for do in VALID_STEPS)


# ----------------------------------------------------------- prepared stores


class Prepared:
    """A store where ``valid.prefix`` was recorded: each bad step is tried on it."""

    def __init__(self, valid: ValidStep, store: str) -> None:
        self.valid = valid
        self.store = store
        self.app = Aidflow(store=store)
        result = run_dossier(self.app, valid.header() | {"steps": valid.prefix})
        assert result.steps_recorded == len(valid.prefix)
        self.events = self.app.event_count()

    def dossier(self, step: dict[str, Any]) -> dict[str, Any]:
        return self.valid.header() | {"steps": [step]}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Prepared]]:
    cache: dict[tuple[str, str], Prepared] = {}
    yield cache
    for item in cache.values():
        item.app.close()


def _prepared(cache: dict[tuple[str, str], Prepared], do: str, kind: str, folder: Path) -> Prepared:
    if (do, kind) not in cache:
        store = "memory:" if kind == "memory" else f"sqlite:///{folder / f'{do}.sqlite'}"
        cache[do, kind] = Prepared(VALID_STEPS[do], store)
    return cache[do, kind]


@pytest.mark.parametrize("do", sorted(VALID_STEPS))
def test_the_valid_example_of_each_step_is_accepted(do: str) -> None:
    """Guards the catalogue: a bad variant is refused for its flaw, not because its base was bad."""
    app = Aidflow(store="memory:")
    valid = VALID_STEPS[do]

    result = run_dossier(app, valid.header() | {"steps": [*valid.prefix, valid.step]})

    assert result.steps_recorded == len(valid.prefix) + 1


@pytest.mark.parametrize(("do", "mutation"), CASES)
def test_bad_step_is_refused_naming_field_and_value(
    do: str, mutation: Mutation, prepared: dict[tuple[str, str], Prepared],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    store = _prepared(prepared, do, "memory", tmp_path_factory.mktemp("m"))

    with pytest.raises(StepRefused) as raised:
        run_dossier(store.app, store.dossier(mutation.step))

    error = raised.value
    assert error.index == 0
    assert error.field is not None
    assert error.field == f"steps[0].{mutation.field}" or error.field.startswith(
        f"steps[0].{mutation.field}."), error
    assert mutation.shows in str(error), error
    assert store.app.event_count() == store.events
    record_figure("bad inputs tried", 1)
    record_figure("events recorded by bad inputs", store.app.event_count() - store.events)


@pytest.mark.parametrize(("do", "mutation"), CLI_CASES)
def test_bad_step_in_a_file_exits_1_without_traceback(
    do: str, mutation: Mutation, prepared: dict[tuple[str, str], Prepared],
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    store = _prepared(prepared, do, "sqlite", tmp_path_factory.mktemp("s"))
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(store.dossier(mutation.step)), encoding="utf-8")

    status = main(["dossier", "run", str(file), "--store", store.store])

    printed = capsys.readouterr()
    assert status == 1, printed
    assert "Traceback" not in printed.err + printed.out
    assert "step 0" in printed.err
    assert mutation.field.split(".")[0] in printed.err
    assert store.app.event_count() == store.events
    record_figure("bad inputs tried", 1)
    record_figure("tracebacks shown", int(status == 3 or "Traceback" in printed.err))
