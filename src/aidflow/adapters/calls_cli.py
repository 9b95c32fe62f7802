# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""``aidflow calls``: list calls, show one, and run call files.

``aidflow.adapters.cli`` adds it as ``aidflow calls``; it uses only ``cli_common``'s helpers.

A refused call file exits with status 1 and one line naming the step index, field and
value (never a traceback); the steps before it stay recorded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aidflow.adapters.cli_common import (
    EXIT_REFUSED,
    JsonOption,
    StoreOption,
    _eur,
    _jsonable,
    _print_json,
    err,
    open_app,
    out,
    styled,
)
from aidflow.adapters.fixtures import cma_call_file
from aidflow.application.calls import (
    CallStepRefused,
    CallView,
    ProjectView,
    RankView,
    call_file_schema,
    load_call_file,
    run_call_file,
)
from aidflow.domain.errors import AidflowError

calls_cli = typer.Typer(
    help="Calls for projects (AMI/AAP): candidacies, selection and the dossiers they open.",
    no_args_is_help=True,
)


def _refused(error: AidflowError, as_json: bool) -> typer.Exit:
    """Report a refusal on one line (and as JSON with ``--json``); the caller raises the Exit."""
    if as_json:
        detail: dict[str, Any] = {
            "field": error.field, "value": _jsonable(error.value), "message": error.message,
        }
        if isinstance(error, CallStepRefused):
            detail = {"step": error.index, "do": error.do} | detail
        _print_json({"error": detail})
    err.print(styled(("error:", "red"), f" {error.message}"), soft_wrap=True)
    return typer.Exit(EXIT_REFUSED)


def _percent(value: Any) -> str:  # noqa: ANN401 - a Decimal or None
    return "-" if value is None else f"{value} %"


# ---------------------------------------------------------------- commands


@calls_cli.command("list")
def list_calls(store: StoreOption = None, as_json: JsonOption = False) -> None:
    """List the published calls with their envelope and retained total."""
    app = open_app(store)
    calls = app.calls()
    if as_json:
        _print_json([
            {"code": k.code, "kind": k.terms.kind.value, "title": k.terms.title,
             "candidacies": len(k.received), "envelope": str(k.terms.envelope),
             "retained": str(k.retained_total)}
            for k in calls
        ])
        return
    table = Table(title="Calls (AMI/AAP)")
    for name in ("code", "kind", "title", "candidacies", "envelope", "retained"):
        right = name in ("envelope", "retained")
        table.add_column(name, overflow="fold", justify="right" if right else "left")
    for k in calls:
        table.add_row(k.code, k.terms.kind.value, k.terms.title, str(len(k.received)),
                      _eur(k.terms.envelope.amount), _eur(k.retained_total.amount))
    out.print(table)


@calls_cli.command("show")
def show_call(
    code: Annotated[str, typer.Argument(help="The call's code (e.g. AMI-CMA).")],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a call: its projects, partners, amounts, decisions and the dossiers they opened."""
    app = open_app(store)
    try:
        view = app.call_view(code)
        ranking = app.call_ranking(code)
    except AidflowError as error:
        raise _refused(error, as_json) from None
    if as_json:
        _print_json({"call": view.model_dump(mode="json"),
                     "ranking": [r.model_dump(mode="json") for r in ranking]})
        return
    _print_call(view, ranking)


def _print_call(view: CallView, ranking: list[RankView]) -> None:
    _print_header(view)
    _print_projects(view)
    _print_members(view)
    if any(r.score is not None for r in ranking):
        _print_ranking(ranking)


def _print_header(view: CallView) -> None:
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    for label, value in (
        ("call", f"{view.code} ({view.kind})"), ("title", view.title), ("theme", view.theme),
        ("legal basis", "; ".join(view.legal_basis)),
        ("dates", f"{view.opens_on} → {view.deadline}"),
        ("envelope", _eur(view.envelope)), ("retained", _eur(view.retained)),
        ("remaining", _eur(view.remaining)), ("budgets of retained projects", _eur(view.budget_of_retained)),
        ("scheme of the partners' applications", view.scheme or "- (none: no regional application)"),
    ):
        header.add_row(label, str(value))
    out.print(header)
    if view.waves:
        waves = Table(title="Waves (levées)")
        for name in ("wave", "label", "deadline", "envelope", "retained"):
            waves.add_column(name, justify="right" if name in ("envelope", "retained") else "left")
        for w in view.waves:
            waves.add_row(w.code, w.label, str(w.deadline), _eur(w.envelope), _eur(w.retained))
        out.print(waves)


def _decision_text(p: ProjectView) -> str:
    decision = "-"
    if p.decision is not None:
        decision = f"{p.decision['body']}, {p.decision['deliberation']} ({p.decision['on']})"
    if p.reasons:
        decision += ": " + "; ".join(p.reasons)
    if p.label is not None:
        until = f" until {p.label['expires_on']}" if p.label["expires_on"] else ""
        decision += f" [label {p.label['name']}{until}]"
    return decision


def _print_projects(view: CallView) -> None:
    projects = Table(title="Projects (candidacies)")
    for name in ("project", "wave", "strand", "lead", "status", "budget", "requested", "granted",
                 "rate", "score", "decision"):
        right = name in ("budget", "requested", "granted", "rate", "score")
        projects.add_column(name, overflow="fold", justify="right" if right else "left")
    for p in view.projects:
        projects.add_row(
            f"{p.reference}\n{p.title}", p.wave or "-", p.strand, p.lead, p.status, _eur(p.budget),
            _eur(p.requested), _eur(p.granted), _percent(p.rate_percent),
            "-" if p.score is None else str(p.score), _decision_text(p),
        )
    out.print(projects)


def _print_members(view: CallView) -> None:
    members = Table(title="Members and their dossiers")
    for name in ("project", "#", "role", "member", "budget", "requested", "granted", "application",
                 "status", "convention"):
        right = name in ("budget", "requested", "granted")
        members.add_column(name, overflow="fold", justify="right" if right else "left")
    for p in view.projects:
        for m in p.members:
            members.add_row(
                p.reference, str(m.index), m.role, m.name, _eur(m.budget), _eur(m.requested),
                _eur(m.granted), m.application or "-", m.application_status or "-", m.convention or "-",
            )
    out.print(members)


def _print_ranking(ranking: list[RankView]) -> None:
    table = Table(title="Ranking within the envelope")
    for name in ("rank", "project", "status", "score", "priorities", "amount", "cumulative", "fits"):
        table.add_column(name, justify="right" if name in ("amount", "cumulative", "score") else "left")
    for r in ranking:
        table.add_row(str(r.rank), r.project, r.status, "-" if r.score is None else str(r.score),
                      ", ".join(r.priorities) or "-", _eur(r.amount), _eur(r.cumulative),
                      "yes" if r.within_envelope else "no")
    out.print(table)


@calls_cli.command("run")
def run_call(
    file: Annotated[
        Path | None, typer.Argument(help="A call file (JSON or YAML); omit with --fixture.")
    ] = None,
    fixture: Annotated[
        str | None, typer.Option("--fixture", help="Run a shipped call file instead: cma.")
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish a call file's call and record its candidacies and decisions, in order."""
    try:
        data = _call_file_data(file, fixture)
        app = open_app(store)
        result = run_call_file(app, data)
    except AidflowError as error:
        raise _refused(error, as_json) from None
    if as_json:
        _print_json(result.state.model_dump(mode="json"))
        return
    state = result.state
    retained = sum(1 for p in state.projects if p.status == "retained")
    out.print(f"{result.steps_recorded} steps recorded for call {result.call}.")
    out.print(f"{len(state.projects)} projects, {retained} retained: {_eur(state.retained)} of an envelope "
              f"of {_eur(state.envelope)} (projects' budgets {_eur(state.budget_of_retained)}).")
    out.print(styled("Next: ", (f"aidflow calls show {result.call}", "bold")))


def _call_file_data(file: Path | None, fixture: str | None) -> dict[str, Any]:
    if fixture is not None:
        if file is not None:
            msg = "give a call file or --fixture, not both"
            raise AidflowError(msg, field="fixture", value=fixture)
        if fixture != "cma":
            msg = f"unknown fixture {fixture!r} (fixtures: cma)"
            raise AidflowError(msg, field="fixture", value=fixture)
        return cma_call_file()
    if file is None:
        msg = "give a call file (JSON or YAML), or --fixture cma"
        raise AidflowError(msg, field="file", value=None)
    return load_call_file(file)


@calls_cli.command("schema")
def schema() -> None:
    """Print the JSON Schema of call files."""
    sys.stdout.write(json.dumps(call_file_schema(), indent=2, ensure_ascii=False) + "\n")
