"""``aidflow report``: a convention's self-contained HTML audit report (issue 6 item 4).

Wired into ``aidflow`` by :func:`register_report_command`. Like
:mod:`aidflow.adapters.audit_cli`, this module does not import :mod:`aidflow.adapters.cli`,
so that ``cli.py`` can import it at the top without a cycle.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from aidflow.adapters.cli_common import (
    ForceOption,
    StoreOption,
    check_output,
    err,
    iso_day,
    open_app,
    write_output,
)
from aidflow.adapters.report import render_audit_report


def report(
    reference: Annotated[str, typer.Argument(help="Convention number or application reference.")],
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the HTML report here (default: standard output)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Show the dossier as of this business date (YYYY-MM-DD)."),
    ] = None,
    store: StoreOption = None,
    force: ForceOption = False,
) -> None:
    """Write a convention's audit report: one self-contained HTML file (no script, no external resource)."""
    on = iso_day(as_of, "--as-of")
    if out_file is not None:
        check_output(out_file, "--out", force=force)  # before any work
    app = open_app(store)
    try:
        page = render_audit_report(app, reference, as_of=on)
    finally:
        app.close()
    if out_file is None:
        sys.stdout.write(page)
        return
    write_output(out_file, page, "--out", force=force)
    err.print(f"audit report of {reference} written to {out_file} ({len(page.encode())} bytes)",
              soft_wrap=True)


def register_report_command(cli: typer.Typer) -> None:
    """Add ``report`` to a Typer app."""
    cli.command("report")(report)

