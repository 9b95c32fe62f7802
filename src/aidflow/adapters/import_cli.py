"""``aidflow import FILE.jsonl``: bulk import of dossiers (issue 7).

Wired into ``aidflow`` by :func:`register_import_commands`; ``import_app`` holds the command
on its own (for tests). This module does not import :mod:`aidflow.adapters.cli`, so that
``cli.py`` can import it at the top without an import cycle.

Exit status: 0 when every dossier was recorded or skipped (already in the store), 1 when at
least one was refused (each refusal is listed with its line, reference, field and reason),
3 for an internal error. A killed import keeps only whole batches of whole dossiers; running
the same command again records the rest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from aidflow.adapters.bulk_import import DEFAULT_BATCH_SIZE, ImportProgress, ImportReport, import_jsonl
from aidflow.adapters.cli_common import err, open_app, out
from aidflow.adapters.store import describe_store, resolve_store_url
from aidflow.application.service import Aidflow

EXIT_REFUSED = 1


StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="memory:, sqlite:///path.sqlite or postgresql://user:pw@host:port/db "
        "(default: $AIDFLOW_STORE, else sqlite:///aidflow.sqlite)",
        show_default=False,
    ),
]


def import_dossiers(
    file: Annotated[Path, typer.Argument(help="JSON Lines file: one dossier (DOSSIER.md) per line.")],
    store: StoreOption = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Dossiers recorded per transaction.")
    ] = DEFAULT_BATCH_SIZE,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Record many dossiers: each all or nothing, many per transaction, resumable.

    A dossier whose application reference is already recorded is skipped, so the same file
    can be imported again after an interruption.
    """
    url = resolve_store_url(store)
    app = open_app(url)
    try:
        report = _run(app, file, batch_size)
    finally:
        app.close()
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        _print_report(report, describe_store(url))
    if report.refused:
        raise typer.Exit(EXIT_REFUSED)


def _run(app: Aidflow, file: Path, batch_size: int) -> ImportReport:
    columns = (
        TextColumn("importing {task.fields[name]}", markup=False),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("import", total=None, name=file.name, counts="")

        def progress(done: ImportProgress) -> None:
            counts = f"{done.recorded} recorded, {done.skipped} skipped, {done.refused} refused"
            if bar.disable:
                # Not a terminal (a scheduled job's log): one line per committed batch, so a log
                # shows how far an interrupted import got (a re-run skips what was recorded).
                err.print(f"batch committed: {done.lines_done} lines read, {counts}", soft_wrap=True)
                return
            bar.update(task, total=done.bytes_total, completed=done.bytes_done, counts=counts)

        return import_jsonl(app, file, batch_size=batch_size, progress=progress)


def _print_report(report: ImportReport, store: str) -> None:
    rate = report.events / report.seconds if report.seconds else 0.0
    out.print(
        f"{report.path}: {report.recorded} dossiers recorded ({report.events} events, "
        f"{report.batches} batches, {rate:,.0f} events/s), {len(report.skipped)} skipped "
        f"(already recorded), {len(report.refused)} refused — {store}"
    )
    if report.skipped:
        shown = ", ".join(f"{ref} (line {line})" for line, ref in report.skipped[:10])
        more = f" and {len(report.skipped) - 10} more" if len(report.skipped) > 10 else ""  # noqa: PLR2004
        out.print(f"skipped: {shown}{more}")
    if report.refused:
        table = Table(title="refused dossiers (nothing of them was recorded)")
        for name in ("line", "reference", "field", "reason"):
            table.add_column(name, overflow="fold")
        for refused in report.refused:
            table.add_row(str(refused.line), refused.reference or "-", refused.field or "-", refused.message)
        out.print(table)


def register_import_commands(app: typer.Typer) -> None:
    """Add ``import`` to a Typer app."""
    app.command("import")(import_dossiers)


import_app = typer.Typer(name="aidflow", no_args_is_help=True, add_completion=False,
                         pretty_exceptions_enable=False)


@import_app.callback()
def _group() -> None:
    """aidflow (this module's commands only)."""


register_import_commands(import_app)
