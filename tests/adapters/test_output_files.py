"""Output files are never replaced silently (ADR 0009).

Every CLI option that writes a file (``report --out``, ``export scdl --out``, ``portfolio
--csv`` and ``--chart``, ``export-bundle DIRECTORY``) refuses an existing file unless
``--force`` is given, refuses a folder where a file is expected, and writes whole or not at
all: a refused or failed write leaves the existing file byte for byte as it was. Each case
runs the real ``aidflow`` entry point (``main``) on a SQLite store holding the DOSSIER.md
example.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from aidflow.adapters.cli import main
from aidflow.application.dossier import run_dossier
from aidflow.application.service import Aidflow
from helpers import CONVENTION, DOSSIER_EXAMPLE, REFERENCE

OLD = b"a file someone needs\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('outputs') / 'aidflow.sqlite'}"
    app = Aidflow(store=url)
    try:
        run_dossier(app, copy.deepcopy(DOSSIER_EXAMPLE))
    finally:
        app.close()
    return url


Command = Callable[[str, Path], list[str]]

COMMANDS: dict[str, tuple[str, Command]] = {
    "report --out": (
        "--out",
        lambda store, path: ["report", CONVENTION, "--out", str(path), "--store", store],
    ),
    "export scdl --out": (
        "--out",
        lambda store, path: [
            "export",
            "scdl",
            "--out",
            str(path),
            "--id-attribuant",
            "73282932000074",
            "--store",
            store,
        ],
    ),
    "portfolio --csv": ("--csv", lambda store, path: ["portfolio", "--csv", str(path), "--store", store]),
}


def _run(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(arguments)
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    return status, printed.err


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    """A file someone needs, alone in its folder."""
    target = tmp_path / "existing.out"
    target.write_bytes(OLD)
    return target


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_an_existing_file_is_refused_and_kept(
    name: str, store: str, existing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    option, command = COMMANDS[name]
    target = existing

    status, message = _run(command(store, target), capsys)

    assert status == 1
    assert option in message
    assert "already exists" in message
    assert "--force" in message
    assert str(target) in message.replace("\n", "")
    assert target.read_bytes() == OLD
    assert sorted(p.name for p in target.parent.iterdir()) == ["existing.out"]  # no temporary file left


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_force_replaces_the_file(
    name: str, store: str, existing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, command = COMMANDS[name]

    status, message = _run([*command(store, existing), "--force"], capsys)

    assert status == 0, message
    assert existing.read_bytes() != OLD
    assert existing.stat().st_size > 0
    assert sorted(p.name for p in existing.parent.iterdir()) == ["existing.out"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_folder_is_refused(
    name: str, store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    option, command = COMMANDS[name]

    status, message = _run([*command(store, tmp_path), "--force"], capsys)

    assert status == 1
    assert option in message
    assert "is a folder" in message


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_missing_folder_is_refused_and_nothing_is_created(
    name: str, store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    option, command = COMMANDS[name]
    target = tmp_path / "no-such-folder" / "out.txt"

    status, message = _run(command(store, target), capsys)

    assert status == 1
    assert option in message
    assert "cannot write" in message
    assert list(tmp_path.iterdir()) == []


def test_a_new_file_is_written_without_force(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.html"

    status, message = _run(COMMANDS["report --out"][1](store, target), capsys)

    assert status == 0, message
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_the_chart_is_not_replaced_without_force(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "chart.png"
    target.write_bytes(OLD)

    status, message = _run(["portfolio", "--chart", str(target), "--store", store], capsys)
    assert status == 1
    assert "--chart" in message
    assert target.read_bytes() == OLD

    status, message = _run(["portfolio", "--chart", str(target), "--store", store, "--force"], capsys)
    assert status == 0, message
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_bundle_is_not_written_over_another(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bundle"
    status, message = _run(["export-bundle", REFERENCE, str(folder), "--store", store], capsys)
    assert status == 0, message
    manifest = (folder / "manifest.json").read_bytes()

    status, message = _run(["export-bundle", REFERENCE, str(folder), "--store", store], capsys)
    assert status == 1
    assert "already exists" in message
    assert (folder / "manifest.json").read_bytes() == manifest

    status, message = _run(["export-bundle", REFERENCE, str(folder), "--store", store, "--force"], capsys)
    assert status == 0, message
    assert main(["verify", "--bundle", str(folder)]) == 0


def test_a_bundle_is_not_written_into_a_file(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "not-a-folder"
    target.write_bytes(OLD)

    status, message = _run(["export-bundle", REFERENCE, str(target), "--store", store, "--force"], capsys)

    assert status == 1
    assert "is a file" in message
    assert target.read_bytes() == OLD


def test_force_replaces_a_link_never_the_file_it_points_to(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A link planted at the output path (to a system file, say) is replaced, never written through."""
    target = tmp_path / "someone-elses-file"
    target.write_bytes(OLD)
    link = tmp_path / "report.html"
    link.symlink_to(target)

    status, _ = _run(COMMANDS["report --out"][1](store, link), capsys)
    assert status == 1  # an existing path, even a link

    status, message = _run([*COMMANDS["report --out"][1](store, link), "--force"], capsys)
    assert status == 0, message
    assert not link.is_symlink()
    assert link.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert target.read_bytes() == OLD


def test_csv_and_json_on_standard_output_together_are_refused(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, message = _run(["portfolio", "--csv", "-", "--json", "--store", store], capsys)

    assert status == 1
    assert "choose one" in message
