"""``aidflow portfolio``: the portfolio read model on the command line (issue 7).

Wired into ``aidflow`` by :func:`register_portfolio_commands`; ``portfolio_app`` holds the
command on its own (for tests). This module does not import :mod:`aidflow.adapters.cli`, so
that ``cli.py`` can import it at the top without an import cycle.

Each run first brings the read model up to date with the store (the events recorded since
its last run), then prints it; ``--rebuild`` projects the whole store again, with a progress
bar. ``--csv`` writes the breakdown as CSV, ``--chart`` draws committed, paid and clawed back
amounts per year (needs matplotlib: ``pip install 'aidflow[chart]'``).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from aidflow.adapters.cli_common import (
    ForceOption,
    StoreOption,
    check_output,
    err,
    iso_day,
    open_app,
    out,
    write_output,
)
from aidflow.adapters.portfolio import DIMENSIONS, CatchUp, Portfolio, PortfolioLine, YearFlows
from aidflow.application.errors import InputError

CSV_COLUMNS = ("dossiers", "awarded", "paid", "at_risk", "open_breaches", "overdue_declarations",
               "clawback_due", "repaid")


def _eur(value: Decimal) -> str:
    return f"{value:,.2f} €".replace(",", " ")


def _dimensions(by: str) -> list[str]:
    chosen = [d.strip() for d in by.split(",") if d.strip()]
    unknown = [d for d in chosen if d not in DIMENSIONS]
    if unknown:
        msg = f"unknown dimension {unknown[0]!r} for --by (known: {', '.join(DIMENSIONS)})"
        raise InputError(msg, field="by", value=unknown[0])
    return chosen


def _update(portfolio: Portfolio, *, rebuild: bool) -> int:
    head = portfolio.app.recorder.max_notification_id() or 0  # positions, as the callback reports
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    description = "rebuilding the portfolio" if rebuild else "updating the portfolio"
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(description, total=head)

        def progress(done: CatchUp) -> None:
            bar.update(task, completed=done.position, total=done.head)

        if rebuild:
            return portfolio.rebuild(progress)
        return portfolio.catch_up(progress)


def portfolio_command(
    store: StoreOption = None,
    by: Annotated[
        str, typer.Option("--by", help=f"Break down by: {', '.join(DIMENSIONS)} (comma-separated).")
    ] = "scheme",
    on: Annotated[
        str | None, typer.Option("--on", help="Date for overdue declarations, YYYY-MM-DD (default: today).")
    ] = None,
    csv_file: Annotated[
        str | None, typer.Option("--csv", help="Write the breakdown as CSV to FILE ('-' for stdout).")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Draw committed / paid / clawed back per year to FILE.png.")
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Project the whole store again.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    force: ForceOption = False,
) -> None:
    """The portfolio: dossiers, awarded, paid, at risk, clawback due and repaid, by dimension.

    "At risk" counts conventions with an open breach (established or awaiting the Region's
    decision, at their latest assessment) or a headcount declaration overdue on --on.
    """
    if csv_file == "-" and as_json:
        msg = "--csv - and --json both print to standard output: choose one (or give --csv a file)"
        raise InputError(msg, field="--csv", value="-")
    dims = _dimensions(by)
    day = iso_day(on, "--on")
    if chart is not None:
        check_output(chart, "--chart", force=force)
    if csv_file not in (None, "-"):
        check_output(Path(csv_file), "--csv", force=force)
    app = open_app(store)
    try:
        portfolio = Portfolio(app)
        _update(portfolio, rebuild=rebuild)
        lines = portfolio.summary(dims, day or app.clock())
        years = portfolio.flows()
    finally:
        app.close()
    if chart is not None:
        draw_chart(years, chart, force=force)
        err.print(f"chart written to {chart}")
    if csv_file is not None:
        text = to_csv(dims, lines)
        if csv_file == "-":
            sys.stdout.write(text)
            return
        write_output(Path(csv_file), text, "--csv", force=force)
        err.print(f"CSV written to {csv_file}")
    if as_json:
        sys.stdout.write(json.dumps({
            "by": dims, "lines": [line.to_dict() for line in lines],
            "years": [{"year": y.year, "committed": str(y.committed), "paid": str(y.paid),
                       "clawed_back": str(y.clawed_back)} for y in years],
        }, ensure_ascii=False, indent=2) + "\n")
        return
    if csv_file is None:
        _print(dims, lines)


def to_csv(dims: Sequence[str], lines: Sequence[PortfolioLine]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*dims, *CSV_COLUMNS])
    for line in lines:
        data = line.to_dict()
        writer.writerow([data[d] for d in dims] + [data[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


def _print(dims: Sequence[str], lines: Sequence[PortfolioLine]) -> None:
    table = Table(title="aidflow portfolio", show_footer=True)
    for index, dim in enumerate(dims):
        table.add_column(dim, footer="total" if index == 0 else "")
    totals = _totals(lines)
    for name, footer in (
        ("dossiers", str(totals.dossiers)), ("awarded", _eur(totals.awarded)), ("paid", _eur(totals.paid)),
        ("at risk", str(totals.at_risk)), ("open breaches", str(totals.open_breaches)),
        ("overdue declarations", str(totals.overdue_declarations)),
        ("clawback due", _eur(totals.clawback_due)), ("repaid", _eur(totals.repaid)),
    ):
        table.add_column(name, justify="right", footer=footer if dims else "")
    for line in lines:
        table.add_row(
            *(line.keys[d] or "-" for d in dims), str(line.dossiers), _eur(line.awarded), _eur(line.paid),
            str(line.at_risk), str(line.open_breaches), str(line.overdue_declarations),
            _eur(line.clawback_due), _eur(line.repaid),
        )
    out.print(table)


def _totals(lines: Sequence[PortfolioLine]) -> PortfolioLine:
    return PortfolioLine(
        keys={},
        dossiers=sum(x.dossiers for x in lines),
        awarded=sum((x.awarded for x in lines), Decimal(0)),
        paid=sum((x.paid for x in lines), Decimal(0)),
        at_risk=sum(x.at_risk for x in lines),
        open_breaches=sum(x.open_breaches for x in lines),
        overdue_declarations=sum(x.overdue_declarations for x in lines),
        clawback_due=sum((x.clawback_due for x in lines), Decimal(0)),
        repaid=sum((x.repaid for x in lines), Decimal(0)),
    )


def draw_chart(years: Sequence[YearFlows], path: Path, *, force: bool = False) -> None:
    """Grouped bars per year: committed, paid, clawed back (in millions of euros)."""
    try:
        import matplotlib as mpl  # noqa: PLC0415 - optional dependency, only for --chart

        mpl.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        msg = "--chart needs matplotlib: pip install 'aidflow[chart]' (or pip install matplotlib)"
        raise InputError(msg, field="chart", value=str(path)) from None
    labels = [str(y.year) for y in years]
    series = (
        ("committed", [float(y.committed) / 1e6 for y in years]),
        ("paid", [float(y.paid) / 1e6 for y in years]),
        ("clawed back", [float(y.clawed_back) / 1e6 for y in years]),
    )
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    width = 0.27
    for offset, (name, values) in enumerate(series):
        positions = [i + (offset - 1) * width for i in range(len(labels))]
        axes.bar(positions, values, width, label=name)
    axes.set_xticks(range(len(labels)), labels)
    axes.set_ylabel("million €")
    axes.set_title("aidflow portfolio: committed, paid and clawed back per year")
    axes.legend()
    figure.tight_layout()
    image = io.BytesIO()
    try:
        figure.savefig(image, format="png")
    finally:
        plt.close(figure)
    write_output(path, image.getvalue(), "--chart", force=force)


def register_portfolio_commands(app: typer.Typer) -> None:
    """Add ``portfolio`` to a Typer app."""
    app.command("portfolio")(portfolio_command)


portfolio_app = typer.Typer(name="aidflow", no_args_is_help=False, add_completion=False,
                            pretty_exceptions_enable=False)


@portfolio_app.callback()
def _group() -> None:
    """aidflow (this module's commands only)."""


register_portfolio_commands(portfolio_app)
