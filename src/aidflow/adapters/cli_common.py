"""Helpers shared by every ``aidflow`` sub-command module (consoles, options, formatting)."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console

from aidflow.adapters.store import resolve_store_url
from aidflow.application.service import Aidflow

EXIT_REFUSED = 1
EXIT_INTERNAL = 3

_WIDTH = None if sys.stdout.isatty() else 150
out = Console(highlight=False, width=_WIDTH)
err = Console(stderr=True, highlight=False)

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


def open_app(store: str | None) -> Aidflow:
    return Aidflow(store=resolve_store_url(store))


def _eur(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f} €".replace(",", " ")


def _print_json(data: Any) -> None:  # noqa: ANN401 - any JSON-ready value
    out.print_json(json.dumps(data, ensure_ascii=False, default=str), indent=2)
