"""Every store a CLI command opens is closed when the command ends, refused or not."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from aidflow.adapters import cli_common
from aidflow.adapters.cli import main
from aidflow.application.dossier import run_dossier
from aidflow.application.service import Aidflow
from helpers import DOSSIER_EXAMPLE, REFERENCE


@pytest.mark.parametrize(
    "arguments",
    [["show", REFERENCE], ["explain", REFERENCE], ["schemes"], ["show", "NO-SUCH-REF"], ["calls", "list"]],
)
def test_the_command_closes_what_it_opened(
    arguments: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'aidflow.sqlite'}"
    app = Aidflow(store=store)
    run_dossier(app, copy.deepcopy(DOSSIER_EXAMPLE))
    app.close()
    opened: list[Aidflow] = []
    real_open = cli_common.open_app

    def open_app(*args: object, **kwargs: object) -> Aidflow:
        opened.append(real_open(*args, **kwargs))  # type: ignore[arg-type]
        return opened[-1]

    for module in ("aidflow.adapters.cli", "aidflow.adapters.calls_cli"):
        monkeypatch.setattr(f"{module}.open_app", open_app)

    main([*arguments, "--store", store])
    capsys.readouterr()

    assert opened
    assert all(app.closing.is_set() for app in opened)  # Application.close sets it
    assert cli_common._OPENED == []
