"""Hostile files and hostile arguments for every CLI command.

Files: non-UTF-8, huge, deeply nested, YAML alias bombs, giant integers, devices and
folders. Commands: every command registered on the ``aidflow`` CLI (walked from the typer
app, so commands added later are probed too) gets a bad store, an unknown option, and
hostile values for each of its arguments and options. Each run must exit non-zero (or, for
a harmless lookup, 0) with a clear line and no traceback, and leave the store unchanged.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import typer

from aidflow.adapters import cli as cli_module
from aidflow.adapters.cli import main
from aidflow.application.dossier import MAX_FILE_BYTES, run_dossier
from aidflow.application.service import Aidflow
from helpers import DOSSIER_EXAMPLE
from reliability.rel_support import record_figure

AIDFLOW = [sys.executable, "-c", "import sys; from aidflow.adapters.cli import main; sys.exit(main())"]
SQL_INJECTION = "'; DROP TABLE stored_events; --"


def _example_text() -> str:
    return json.dumps(DOSSIER_EXAMPLE)


def _nested(depth: int) -> str:
    nested = "[" * depth + "]" * depth
    return '{"aidflow": "dossier/1", "reference": "R-1", "extra": ' + nested + ', "steps": []}'


YAML_BOMB = "\n".join(
    ["aidflow: dossier/1", "reference: R-1", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["steps: []"]
)

HOSTILE_FILES: dict[str, tuple[str, bytes | None]] = {
    # name: (file name, content; None = something that is not a regular file)
    "latin-1": ("latin1.json", _example_text().replace("Garonne", "Garonn\u00e9").encode("latin-1")),
    "utf-16": ("utf16.json", _example_text().encode("utf-16")),
    "bom": ("bom.json", b"\xef\xbb\xbf" + _example_text().encode()),
    "huge": ("huge.json", b" " * (MAX_FILE_BYTES + 1)),
    "deeply-nested-json": ("deep.json", _nested(100_000).encode()),
    "nested-just-below-the-limit": ("deep900.json", _nested(900).encode()),
    "yaml-alias-bomb": ("bomb.yaml", YAML_BOMB.encode()),
    "recursive-yaml": ("recursive.yaml", b"aidflow: dossier/1\nreference: &r [*r]\nsteps: []\n"),
    "giant-integer": ("bigint.json", _example_text().replace('"jobs": 12', '"jobs": ' + "9" * 5000).encode()),
    "top-level-list": ("list.json", b"[1, 2, 3]"),
    "empty": ("empty.json", b""),
    "truncated": ("truncated.json", _example_text()[:200].encode()),
    "nan-amount": ("nan.json", _example_text().replace('"250000.00"', "NaN", 1).encode()),
    "yaml-python-tag": ("tag.yaml", b"aidflow: !!python/object/apply:os.system ['true']\nsteps: []\n"),
    "steps-not-a-list": ("steps.json", json.dumps(DOSSIER_EXAMPLE | {"steps": {"do": "submit"}}).encode()),
    "too-many-steps": ("many.json", json.dumps(DOSSIER_EXAMPLE | {"steps": [{}] * 10_001}).encode()),
    "folder": ("a-folder", None),
}


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A SQLite store holding DOSSIER.md's example dossier."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    app = Aidflow(store=url)
    run_dossier(app, DOSSIER_EXAMPLE)
    app.close()
    return url


def _count(url: str) -> int:
    app = Aidflow(store=url)
    try:
        return app.event_count()
    finally:
        app.close()


def _write(folder: Path, name: str, content: bytes | None) -> Path:
    path = folder / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", HOSTILE_FILES, ids=list(HOSTILE_FILES))
def test_hostile_file_is_refused_without_traceback(
    case: str, store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, content = HOSTILE_FILES[case]
    path = _write(tmp_path, name, content)
    before = _count(store)

    status = main(["dossier", "run", str(path), "--store", store])

    printed = capsys.readouterr()
    assert status == 1, printed
    assert "Traceback" not in printed.err + printed.out
    assert printed.err.startswith("error:"), printed.err
    assert len(printed.err) < 2000
    assert _count(store) == before
    record_figure("bad inputs tried", 1)
    record_figure("events recorded by bad inputs", _count(store) - before)


def test_dev_zero_is_read_no_further_than_the_limit(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["dossier", "run", "/dev/zero", "--store", store])

    assert status == 1
    assert "limit" in capsys.readouterr().err
    record_figure("bad inputs tried", 1)


@pytest.mark.parametrize("case", ["latin-1", "huge", "deeply-nested-json", "yaml-alias-bomb"])
def test_the_real_command_exits_1_on_hostile_files(case: str, store: str, tmp_path: Path) -> None:
    """The installed entry point, in its own process, with a time bound."""
    name, content = HOSTILE_FILES[case]
    path = _write(tmp_path, name, content)

    done = subprocess.run([*AIDFLOW, "dossier", "run", str(path), "--store", store],
                          capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") <= 3
    record_figure("bad inputs tried", 1)
    record_figure("tracebacks shown", int("Traceback" in done.stderr or done.returncode == 3))


# ------------------------------------------------------------- every command


# typer vendors click (typer._click): commands and parameters are inspected by duck typing.
Command = Any


def _is_argument(param: Any) -> bool:
    return bool(param.param_type_name == "argument")


def _type(param: Any) -> str:
    """``path``, ``integer``, ``float``, ``choice`` or ``text``."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None:  # a plain click parameter
        return str(param.type.name)
    annotation = descriptor.annotation
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "path"
    if annotation in (int, float):
        return "integer" if annotation is int else "float"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "choice"
    return "text"


def _leaf_commands(group: Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Command]]:
    if hasattr(group, "commands"):
        for name, command in sorted(group.commands.items()):
            yield from _leaf_commands(command, (*path, name))
    else:
        yield path, group


def cli_commands() -> list[tuple[tuple[str, ...], Command]]:
    return list(_leaf_commands(typer.main.get_command(cli_module.cli)))


def _hostile_value(param: Any, tmp: Path) -> list[str]:
    """Hostile values for one argument or option, from its type and name."""
    if _type(param) == "path":
        return [str(tmp / "no" / "such" / "file.json")]
    if _type(param) in ("integer", "float"):
        return ["not-a-number"]
    if _type(param) == "choice":
        return ["not-a-choice"]
    if param.name in ("on", "as_of", "since", "until", "date", "from_", "to"):
        return ["2024-02-30", "yesterday"]
    # File options receive these too: the probe runs in a temporary folder (see the test), and
    # the traversal names a folder that does not exist, so no probe can write outside it.
    # "[/x]" is rich markup: printed back in an error message it must stay text.
    return [SQL_INJECTION, "R" * 5000, "../../no-such-aidflow-folder/passwd", "-", "\u202eevil", "[/x] [red]"]


def _base_args(command: Command, tmp: Path) -> list[str]:
    """Plausible values for the required arguments (a reference that is not recorded)."""
    return [
        str(tmp / "missing.json") if _type(param) == "path" else "NO-SUCH-REF"
        for param in command.params if _is_argument(param) and param.required
    ]


def _probes(path: tuple[str, ...], command: Command, store: str, tmp: Path) -> list[tuple[list[str], bool]]:
    """(argv, must_fail) pairs for one command."""
    takes_store = any(p.name == "store" for p in command.params)
    base = [*path, *_base_args(command, tmp)]
    probes: list[tuple[list[str], bool]] = [([*base, "--no-such-option-anywhere"], True)]
    if takes_store:
        probes.append(([*base, "--store", "nosuch://x"], True))
    store_args = ["--store", store] if takes_store else []
    arguments = [p for p in command.params if _is_argument(p)]
    for position, param in enumerate(arguments):
        for value in _hostile_value(param, tmp):
            argv = [*path, *_base_args(command, tmp)]
            argv[len(path) + position:len(path) + position + 1] = [value]
            must_fail = _type(param) == "path"
            probes.append(([*argv, *store_args], must_fail))
    for param in command.params:
        if not _is_argument(param) and not param.is_flag and param.name != "store":
            for value in _hostile_value(param, tmp):
                must_fail = value in ("2024-02-30", "yesterday", "not-a-number", "not-a-choice")
                probes.append(([*base, param.opts[0], value, *store_args], must_fail))
    return probes


COMMANDS = cli_commands()


def test_every_command_is_probed() -> None:
    assert len(COMMANDS) >= 8
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"dossier run", "show", "explain", "clawback assess", "monitoring due"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_hostile_arguments_never_show_a_traceback_nor_record(
    path: tuple[str, ...], command: Command, store: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Commands that write files (--csv, --out) write them here, never in the checkout.
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = _count(store)
    probes = _probes(path, command, store, tmp_path)
    failures: list[Any] = []

    for argv, must_fail in probes:
        status = main(argv)
        printed = capsys.readouterr()
        output = printed.out + printed.err
        if status == 3 or "Traceback" in output or (must_fail and status == 0):
            failures.append((argv[:6], status, output[-400:]))

    assert failures == []
    assert _count(store) == before
    with sqlite3.connect(store.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT count(*) FROM stored_events").fetchone()[0] == before
    record_figure("bad inputs tried", len(probes))
    record_figure("tracebacks shown", len(failures))
    record_figure("events recorded by bad inputs", _count(store) - before)
