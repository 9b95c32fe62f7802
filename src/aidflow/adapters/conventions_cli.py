# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""``aidflow conventions``: framework conventions (conventions-cadres) — run files, show, alerts.

``aidflow.adapters.cli`` adds it as ``aidflow conventions``; it uses only ``cli_common``'s helpers.

A refused framework file exits with status 1 and one line naming the step index, field
and value (never a traceback); the steps before it stay recorded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aidflow.adapters.cli_common import (
    JsonOption,
    StoreOption,
    _print_json,
    iso_day,
    open_app,
    out,
    print_step_refusal,
)
from aidflow.application.frameworks import (
    DEFAULT_ALERT_DAYS,
    FrameworkStepRefused,
    FrameworkView,
    framework_file_schema,
    load_framework_file,
    run_framework_file,
)

conventions_cli = typer.Typer(
    help="Framework conventions (conventions-cadres): parties, articles, term, governance, alerts.",
    no_args_is_help=True,
)


@conventions_cli.command("run")
def run(
    file: Annotated[Path, typer.Argument(help="A framework file (framework/1, JSON or YAML).")],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a framework file: the convention as signed, then its steps in order."""
    data = load_framework_file(file)
    app = open_app(store)
    try:
        result = run_framework_file(app, data)
    except FrameworkStepRefused as refused:
        if as_json:
            print_step_refusal(refused.index, refused.do, refused)
        raise
    if as_json:
        _print_json(result.state.model_dump(mode="json"))
        return
    out.print(f"{result.steps_recorded} steps recorded for framework {result.reference}.")
    _render(result.state)


@conventions_cli.command("show")
def show(
    reference: Annotated[str, typer.Argument(help="The framework convention's reference.")],
    on: Annotated[str | None, typer.Option("--on", help="Date to view it as of (default: today).")] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a framework convention: parties, articles, term, governance, children, history."""
    app = open_app(store)
    view: FrameworkView = app.framework_view(reference, iso_day(on, "--on"))
    if as_json:
        history = app.framework_history(reference)
        _print_json({"state": view.model_dump(mode="json"),
                     "history": [h.model_dump(mode="json") for h in history]})
        return
    _render(view)


def _render(view: FrameworkView) -> None:
    _render_head(view)
    _render_tables(view)


def _render_head(view: FrameworkView) -> None:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    term = view.term
    period = view.renewal["period_months"]
    signed = f"{view.signed_on}" + (f" at {view.signed_at}" if view.signed_at else "")
    for label, value in (
        ("reference", view.reference), ("kind", view.kind),
        ("title", view.title + (f" — {view.subtitle}" if view.subtitle else "")),
        ("object", view.object), ("signed", signed),
        ("term", f"{term['start']} → {term['current_end']}"
                 + (f" ({term['wording']})" if term["wording"] else "")),
        ("renewal", view.renewal["mode"] + (f", every {period} months" if period else "")),
        ("status", f"{view.status} on {view.as_of}"),
    ):
        head.add_row(label, str(value))
    out.print(head)


def _render_tables(view: FrameworkView) -> None:
    parties = Table(title="Parties")
    for name in ("organisation", "role", "represented by"):
        parties.add_column(name, overflow="fold")
    for p in view.parties:
        parties.add_row(p["organisation"], p["role"], p["represented_by"] or "-")
    out.print(parties)
    articles = Table(title="Articles")
    for name in ("no.", "title", "source"):
        articles.add_column(name, overflow="fold")
    for a in view.articles:
        articles.add_row(a["number"], a["title"], a["source"] or "")
    out.print(articles)
    bodies = Table(title="Governance")
    for name in ("body", "name", "at least every", "meetings", "last met", "next due"):
        bodies.add_column(name, overflow="fold")
    for b in view.governance:
        every = f"{b.every_months} months" if b.every_months else "-"
        bodies.add_row(b.code, b.name, every, str(b.meetings), str(b.last_met or "-"), str(b.next_due or "-"))
    out.print(bodies)
    _render_children(view)


def _render_children(view: FrameworkView) -> None:
    if view.children:
        children = Table(title="Child contracts")
        for name in ("reference", "kind", "title", "parties", "start", "end"):
            children.add_column(name, overflow="fold")
        for ch in view.children:
            children.add_row(ch["reference"], ch["kind"], ch["title"], ", ".join(ch["parties"]),
                             str(ch["start"]), str(ch["effective_end"]))
        out.print(children)
    elif view.child_kinds:
        out.print("Declined through: " + "; ".join(k["label"] for k in view.child_kinds))


@conventions_cli.command("schema")
def schema() -> None:
    """Print the JSON Schema of framework files (framework/1)."""
    sys.stdout.write(json.dumps(framework_file_schema(), indent=2, ensure_ascii=False) + "\n")


@conventions_cli.command("alerts")
def alerts(
    on: Annotated[str, typer.Option("--on", help="Date to evaluate (ISO YYYY-MM-DD).")],
    within: Annotated[
        int, typer.Option("--within", help="Days ahead for the 'term approaching' alert.")
    ] = DEFAULT_ALERT_DAYS,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Committees that have not met within their frequency; frameworks reaching their term."""
    day = iso_day(on, "--on")
    rows = open_app(store).framework_alerts(day, within)
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table(title=f"Framework alerts on {day} (terms within {within} days)")
    for name in ("framework", "alert", "due", "message"):
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(r.framework, r.kind, str(r.due), r.message)
    out.print(table)
    out.print(f"{len(rows)} alerts.")
