"""The ``aidflow`` command line.

Every command takes ``--store`` (else ``$AIDFLOW_STORE``, else
``sqlite:///aidflow.sqlite``). Refused input exits with status 1 and one clear
line naming the field and the value, never a traceback; ``AIDFLOW_DEBUG=1``
shows tracebacks of unexpected errors.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aidflow.adapters.audit_cli import register_audit_commands
from aidflow.adapters.calls_cli import calls_cli
from aidflow.adapters.cli_common import (
    EXIT_INTERNAL,
    EXIT_REFUSED,
    JsonOption,
    StoreOption,
    _eur,
    _print_json,
    close_opened,
    err,
    iso_day,
    open_app,
    out,
    print_step_refusal,
    styled,
)
from aidflow.adapters.conventions_cli import conventions_cli
from aidflow.adapters.demo import demo_dossiers, record_demo
from aidflow.adapters.demo_amendment import record_demo_amendment
from aidflow.adapters.demo_call import record_demo_call
from aidflow.adapters.import_cli import register_import_commands
from aidflow.adapters.portfolio_cli import register_portfolio_commands
from aidflow.adapters.privacy_cli import register_privacy_commands
from aidflow.adapters.report_cli import register_report_command
from aidflow.adapters.store import describe_store, resolve_store_url
from aidflow.application.dossier import StepRefused, load_file, run_dossier, schema
from aidflow.application.errors import InputError
from aidflow.application.service import Aidflow
from aidflow.domain.clawback import breach_status
from aidflow.domain.errors import AidflowError
from aidflow.domain.rulebook import Explanation

cli = typer.Typer(
    name="aidflow",
    help="Event-sourced lifecycle of regional business aids (Occitanie 2022-2028 rules).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dossier_cli = typer.Typer(help="Record dossier files (DOSSIER.md).", no_args_is_help=True)
schema_cli = typer.Typer(help="Print the JSON Schema of an interchange file.", no_args_is_help=True)
clawback_cli = typer.Typer(help="Assess clawback (reversement) on conventions.", no_args_is_help=True)
monitoring_cli = typer.Typer(help="Monitoring calendar of conventions.", no_args_is_help=True)
cli.add_typer(dossier_cli, name="dossier")
cli.add_typer(schema_cli, name="schema")
cli.add_typer(clawback_cli, name="clawback")
cli.add_typer(monitoring_cli, name="monitoring")
register_audit_commands(cli)
register_report_command(cli)
register_privacy_commands(cli)
register_import_commands(cli)
register_portfolio_commands(cli)
cli.add_typer(calls_cli, name="calls")
cli.add_typer(conventions_cli, name="conventions")

# --------------------------------------------------------------------- demo


@cli.command()
def demo(store: StoreOption = None) -> None:
    """Record a realistic demo portfolio and print a summary table (the main job)."""
    url = resolve_store_url(store)
    started = time.perf_counter()
    app = open_app(url)
    total = sum(1 for _ in demo_dossiers())
    with err.status("Recording the demo portfolio…") as status:
        done = 0

        def progress(reference: str) -> None:
            nonlocal done
            done += 1
            status.update(f"Recording the demo portfolio… {done}/{total} {reference}")

        recorded, present = record_demo(app, progress)
        status.update("Recording the demo call for projects…")
        record_demo_call(app)
        status.update("Signing an amendment (avenant)…")
        running = [c for c in app.conventions() if c.status.value == "signed" and c.completion is None]
        if running:
            record_demo_amendment(app, running[0].number)
    elapsed = time.perf_counter() - started
    _portfolio_table(app)
    out.print(
        f"\n{recorded} dossiers recorded, {present} already present, "
        f"{app.event_count()} events in {describe_store(url)} ({elapsed:.1f} s)."
    )
    first = next(demo_dossiers())["reference"]
    out.print(styled("Next: ", (f"aidflow show {first}", "bold"), "   (or aidflow schemes, aidflow --help)"))


def _portfolio_table(app: Aidflow) -> None:
    rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"dossiers": 0, "status": defaultdict(int), "awarded": Decimal(0), "paid": Decimal(0),
                 "breach": 0, "due": Decimal(0)}
    )
    for application in app.applications():
        row = rows[application.scheme_code]
        row["dossiers"] += 1
        row["status"][application.status.value] += 1
        if application.award is not None:
            row["awarded"] += application.award.amount.amount
    for convention in app.conventions():
        row = rows[convention.scheme_code]
        row["paid"] += convention.paid.amount
        if convention.status.value == "in_breach":
            row["breach"] += 1
        if convention.latest_assessment is not None:
            row["due"] += convention.latest_assessment.total_due.amount
    table = Table(title="aidflow portfolio", show_footer=True)
    table.add_column("scheme", footer="total")
    for name in ("dossiers", "awarded / signed", "rejected", "withdrawn"):
        table.add_column(name, justify="right")
    table.add_column("awarded", justify="right")
    table.add_column("paid", justify="right")
    table.add_column("in breach", justify="right")
    table.add_column("clawback due", justify="right")
    totals: dict[str, Any] = {"dossiers": 0, "ok": 0, "rejected": 0, "withdrawn": 0,
                              "awarded": Decimal(0), "paid": Decimal(0), "breach": 0, "due": Decimal(0)}
    for code in sorted(rows):
        row = rows[code]
        ok = row["status"]["awarded"] + row["status"]["signed"]
        table.add_row(code, str(row["dossiers"]), str(ok), str(row["status"]["rejected"]),
                      str(row["status"]["withdrawn"]), _eur(row["awarded"]), _eur(row["paid"]),
                      str(row["breach"]), _eur(row["due"]))
        totals["dossiers"] += row["dossiers"]
        totals["ok"] += ok
        totals["rejected"] += row["status"]["rejected"]
        totals["withdrawn"] += row["status"]["withdrawn"]
        totals["awarded"] += row["awarded"]
        totals["paid"] += row["paid"]
        totals["breach"] += row["breach"]
        totals["due"] += row["due"]
    for column, key in zip(table.columns[1:5], ("dossiers", "ok", "rejected", "withdrawn"), strict=True):
        column.footer = str(totals[key])
    table.columns[5].footer = _eur(totals["awarded"])
    table.columns[6].footer = _eur(totals["paid"])
    table.columns[7].footer = str(totals["breach"])
    table.columns[8].footer = _eur(totals["due"])
    out.print(table)


# ------------------------------------------------------------------ schemes


@cli.command()
def schemes(store: StoreOption = None, as_json: JsonOption = False) -> None:
    """List the scheme catalogue (built-in and opened in the store)."""
    views = open_app(store).schemes()
    if as_json:
        _print_json([v.model_dump(mode="json") for v in views])
        return
    table = Table(title="Aid schemes (dispositifs)")
    for name in ("code", "title", "instruments", "ceiling", "regime", "admitted", "legal basis"):
        table.add_column(name, overflow="fold")
    for v in views:
        table.add_row(v.code, v.title, ", ".join(v.instruments), _eur(v.ceiling), v.regime,
                      ", ".join(v.admitted), "; ".join(v.legal_basis))
    out.print(table)


# --------------------------------------------------------------------- show


@cli.command()
def show(
    reference: Annotated[str, typer.Argument(help="Application reference or convention number.")],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one dossier's state and its dated history."""
    app = open_app(store)
    view = app.dossier(reference)
    history = app.history(reference)
    if as_json:
        _print_json({"state": view.model_dump(mode="json"),
                     "history": [h.model_dump(mode="json") for h in history]})
        return
    state = Table.grid(padding=(0, 2))
    state.add_column(style="bold")
    state.add_column()
    for label, value in (
        ("reference", view.reference), ("scheme", view.scheme), ("status", view.status),
        ("beneficiary", f"{view.beneficiary} (SIREN {view.siren})" if view.siren else view.beneficiary),
        ("requested", _eur(view.requested)), ("awarded", _eur(view.awarded)),
        ("split", ", ".join(f"{k} {_eur(v)}" for k, v in (view.split or {}).items()) or "-"),
        ("convention", view.convention or "-"),
        ("size at signature", view.size_at_signature or "-"),
        ("programme", (f"{view.programme['start']} → {view.programme['end']}, "
                       f"{_eur(view.programme['investment'])}, {view.programme['jobs']} jobs")),
        ("paid", _eur(view.paid)),
    ):
        state.add_row(label, str(value))
    if view.rejection:
        state.add_row("rejection", "; ".join(view.rejection["reasons"]))
    for amendment in view.amendments:
        before, after = amendment["before"], amendment["after"]
        changes = ", ".join(
            f"{key} {before[key]} → {after[key]}"
            for key in ("programme_end", "jobs", "investment", "awarded")
            if before.get(key) != after.get(key)
        )
        state.add_row(f"avenant {amendment['number']}",
                      f"signed {amendment['signed_on']}: {amendment['reason']} ({changes or 'site'})")
    if view.advance:
        advance = view.advance
        late = f", {_eur(advance['late'])} late" if advance["late"] else ""
        state.add_row("advance repayment",
                      f"{_eur(advance['received'])} received of {_eur(advance['scheduled'])} scheduled "
                      f"({len(advance['instalments'])} instalments){late}, as of {advance['as_of']}")
    out.print(state)
    table = Table(title="History")
    for name in ("on", "recorded at (UTC)", "record", "event", "details"):
        table.add_column(name, overflow="fold")
    for h in history:
        details = ", ".join(f"{k}={_brief(v)}" for k, v in h.data.items())
        table.add_row(str(h.on or ""), h.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
                      f"{h.aggregate} v{h.version}", h.event, details)
    out.print(table)


def _brief(value: Any) -> str:  # noqa: ANN401 - any JSON-ready value
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= 120 else text[:117] + "..."


# ------------------------------------------------------------------ explain


@cli.command()
def explain(
    reference: Annotated[str, typer.Argument(help="Application reference or convention number.")],
    decision: Annotated[
        int | None, typer.Option("--decision", help="Decision number (default: all).")
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the decision trail: each decision's rules, version, inputs and explanation."""
    trail = open_app(store).decisions(reference)
    if decision is not None:
        chosen = [d for d in trail if d["number"] == decision]
        if not chosen:
            msg = f"dossier {reference} has {len(trail)} decisions; there is no decision {decision}"
            raise InputError(msg, field="--decision", value=decision)
        trail = chosen
    if as_json:
        _print_json(trail)
        return
    if not trail:
        out.print(f"No decision recorded yet on {reference}.")
    for item in trail:
        record = item["record"]
        version = record.get("rulebook_version") or record.get("policy") or ""
        out.print(styled((f"#{item['number']} {item['kind']}", "bold"),
                         f" on {item['on']}" + (f" — {version}" if version else "")))
        out.print(_render_decision(item["kind"], record), markup=False, highlight=False)
        out.print()


def _render_decision(kind: str, record: dict[str, Any]) -> str:
    if "explanation" in record and isinstance(record["explanation"], dict):
        return Explanation.from_dict(record["explanation"]).render_text()
    if kind == "clawback":
        lines = [f"total due {record['total_due']} (paid {record['paid']}, repaid {record['repaid']})"]
        lines += [
            f"├─ {b['obligation']} on {b['on']}: {b['amount']}"
            f" ({breach_status(established=b['established'], waived=b['waived'])})"
            f" — {b['explanation']}"
            for b in record["breaches"]
        ]
        lines.append(f"└─ {record['explanation']}")
        return "\n".join(lines)
    return "\n".join(f"{k}: {v}" for k, v in record.items())


# ------------------------------------------------------------------ dossier


@dossier_cli.command("run")
def dossier_run(
    file: Annotated[Path, typer.Argument(help="A dossier file (JSON or YAML).")],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a dossier file's steps in order and print the resulting state."""
    data = load_file(file)
    app = open_app(store)
    try:
        result = run_dossier(app, data)
    except StepRefused as refused:
        if as_json:
            print_step_refusal(refused.index, refused.do, refused)
        raise
    if as_json:
        _print_json(result.state.model_dump(mode="json") if result.state else None)
        return
    out.print(f"{result.steps_recorded} steps recorded for {result.reference}.")
    if result.state is not None:
        out.print(styled("status: ", (result.state.status, "bold"),
                         f", awarded {_eur(result.state.awarded)}, paid {_eur(result.state.paid)}"))


@clawback_cli.command("assess")
def clawback_assess(
    reference: Annotated[str, typer.Argument(help="Application reference or convention number.")],
    on: Annotated[str | None, typer.Option("--on", help="Assessment date (default: today).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compute without recording.")] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Assess what a convention's beneficiary must repay as of a date, and record it."""
    app = open_app(store)
    day = iso_day(on, "--on") or app.clock()
    if dry_run:
        assessment = app.preview_clawback(reference, day)
    else:
        assessment = app.assess_clawback(reference, {"on": day.isoformat()})
    if as_json:
        _print_json(assessment.to_dict())
        return
    out.print(f"Clawback as of {assessment.as_of} — policy {assessment.policy}/{assessment.policy_version}"
              + (" (dry run, nothing recorded)" if dry_run else ""))
    table = Table()
    for name in ("obligation", "on", "amount", "status", "explanation"):
        table.add_column(name, overflow="fold")
    for breach in assessment.breaches:
        table.add_row(breach.obligation.value, str(breach.on), _eur(breach.amount.amount), breach.status,
                      breach.explanation)
    out.print(table)
    out.print(styled(f"paid {_eur(assessment.paid.amount)}, repaid {_eur(assessment.repaid.amount)}, ",
                     (f"total due {_eur(assessment.total_due.amount)}", "bold")))
    out.print(assessment.explanation)


@monitoring_cli.command("due")
def monitoring_due(
    on: Annotated[str | None, typer.Option("--on", help="Date to evaluate (default: today).")] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Headcount declarations due or overdue on a date, across all conventions."""
    app = open_app(store)
    day = iso_day(on, "--on") or app.clock()
    rows = app.monitoring_due(day)
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"Declarations due or overdue on {day}")
    for name in ("convention", "beneficiary", "anniversary", "due by", "state"):
        table.add_column(name)
    for row in rows:
        style = "red" if row["state"] == "overdue" else ""
        table.add_row(row["convention"], row["beneficiary"], str(row["anniversary"]), str(row["due_by"]),
                      row["state"], style=style)
    out.print(table)
    out.print(f"{len(rows)} declarations due or overdue.")


@schema_cli.command("dossier")
def schema_dossier() -> None:
    """Print the JSON Schema of dossier files."""
    sys.stdout.write(json.dumps(schema(), indent=2, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning refusals into one clear line and exit status 1."""
    try:
        return _run(argv)
    finally:
        close_opened()  # every store the command opened, whatever happened


def _run(argv: list[str] | None) -> int:
    try:
        cli(args=argv, prog_name="aidflow")
    except AidflowError as error:
        known = not error.field or error.field in error.message or isinstance(error, StepRefused)
        where = "" if known else f"{error.field}: "
        err.print(styled(("error:", "red"), f" {where}{error.message}"), soft_wrap=True)
        return EXIT_REFUSED
    except SystemExit as done:  # usage errors and --help, already printed by typer
        return done.code if isinstance(done.code, int) else EXIT_REFUSED
    except OSError as error:  # a file named on the command line cannot be read or written
        name = f" {error.filename!s:.80}" if error.filename else ""
        err.print(styled(("error:", "red"), f" cannot use{name}: {error.strerror or error}"), soft_wrap=True)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        err.print("interrupted: every step recorded before the interruption is kept")
        return 130
    except Exception as error:
        if os.environ.get("AIDFLOW_DEBUG"):
            raise
        err.print(styled(("internal error:", "red"), f" {type(error).__name__}: {error}"), soft_wrap=True)
        err.print("(set AIDFLOW_DEBUG=1 to see the traceback)")
        return EXIT_INTERNAL
    return 0
