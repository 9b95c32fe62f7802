"""Helpers shared by every ``aidflow`` sub-command module (consoles, options, formatting)."""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from aidflow.adapters.configuration import configured_options
from aidflow.adapters.files import write_whole
from aidflow.adapters.store import resolve_store_url
from aidflow.application.service import Aidflow
from aidflow.domain.errors import AidflowError, InvalidValue

EXIT_REFUSED = 1
EXIT_INTERNAL = 3

_WIDTH = None if sys.stdout.isatty() else 150
# Markup is off: names, reasons and file paths come from users, and "[/x]" in one of them must
# print as text, not break the output (styles are given as Text spans instead).
out = Console(highlight=False, markup=False, width=_WIDTH)
err = Console(stderr=True, highlight=False, markup=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of plain text with styled spans: ``styled(("error:", "red"), " message")``."""
    return Text.assemble(*parts)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="memory:, sqlite:///path.sqlite or postgresql://user:pw@host:port/db "
        "(default: $AIDFLOW_STORE, else sqlite:///aidflow.sqlite)",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Replace the output file(s) if they already exist.")
]


def check_output(path: Path, option: str, *, force: bool) -> None:
    """Refuse an output path that is a folder, or an existing file without ``--force``.

    Output options never replace a file silently: a mistyped ``--out`` must not overwrite
    a report, a CSV already sent to finance or a file of the system (ADR 0009).
    """
    if path.is_dir():
        msg = f"{option}: {str(path)!r} is a folder; give a file name"
        raise InvalidValue(msg, field=option, value=str(path))
    if not force and (path.exists() or path.is_symlink()):
        msg = f"{option}: {str(path)!r} already exists; pass --force to replace it"
        raise InvalidValue(msg, field=option, value=str(path))


def write_output(path: Path, data: str | bytes, option: str, *, force: bool) -> None:
    """Write an output file whole or not at all (a temporary file, then an atomic rename).

    A failed write (disk full, no permission, missing folder) leaves any existing file as
    it was and is refused with the option's name and the path.
    """
    check_output(path, option, force=force)
    try:
        write_whole(path, data)
    except OSError as error:
        msg = f"{option}: cannot write {str(path)!r}: {error.strerror}"
        raise InvalidValue(msg, field=option, value=str(path)) from None


def open_app(store: str | None, app_class: type[Aidflow] = Aidflow) -> Aidflow:
    """``app_class`` on the store in force, with the rules the environment configures.

    The catalogue, grids and clawback policy come from ``AIDFLOW_CATALOGUE``,
    ``AIDFLOW_GRIDS`` and ``AIDFLOW_CLAWBACK_POLICY`` (:mod:`aidflow.adapters.configuration`).
    """
    options = configured_options()
    app = app_class(store=resolve_store_url(store), **options)
    _OPENED.append(app)
    return app


_OPENED: list[Aidflow] = []
"""Applications opened by this run's command, closed by :func:`close_opened` (``main``)."""


def close_opened() -> None:
    """Close every application the command opened (their connections and pools), once."""
    while _OPENED:
        app = _OPENED.pop()
        with contextlib.suppress(Exception):  # already closed by the command, or never connected
            app.close()


def _eur(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f} €".replace(",", " ")


def _print_json(data: Any) -> None:  # noqa: ANN401 - any JSON-ready value
    out.print_json(json.dumps(data, ensure_ascii=False, default=str), indent=2)


def _jsonable(value: Any) -> Any:  # noqa: ANN401 - any value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def print_step_refusal(index: int, do: str | None, error: AidflowError) -> None:
    """A refused file step as JSON on stdout (``--json``), before the refusal exits 1."""
    _print_json({"error": {"step": index, "do": do, "field": error.field,
                           "value": _jsonable(error.value), "message": error.message}})


def iso_day(text: str | None, option: str) -> date | None:
    """An option's ISO date (None when not given); a bad one is refused naming the option."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        msg = f"{option} must be an ISO date YYYY-MM-DD, got {text!r}"
        raise InvalidValue(msg, field=option, value=text) from None
