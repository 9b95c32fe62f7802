"""A self-contained HTML audit report of one convention (issue 6 item 4).

:func:`render_audit_report` returns one HTML document that an auditor can open, archive or
mail as a single file: inline CSS, inline SVG for the obligation windows and the headcount
chart, no script, no external resource (no font, image or style sheet is fetched). Every
recorded text is escaped, so a beneficiary named ``<script>…`` shows as text.

Sections: the header (convention, beneficiary, scheme, status, size at signature and the
amounts awarded, paid, repaid and due), the dated timeline (business date and recording
time of every event), the obligation windows O1-O7 as bars on a date axis (with the
"today" or "as of" marker and the breaches), declared headcounts against the committed
jobs, payments and recovery, clawback assessments with their explanations and policy
version, the decision trail (rule-book versions and citations), the hash-chain check and a
footer naming the aidflow version and the inputs of the report.

With ``as_of``, the report shows the dossier as of that business date (RULES.md §6, through
:mod:`aidflow.application.audit`): facts dated later are left out, and "today" is that date.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import aidflow
from aidflow.adapters.store import describe_store
from aidflow.application import audit
from aidflow.application.views import DossierView, HistoryEntry
from aidflow.domain.clawback import breach_status, counts_for_jobs
from aidflow.domain.errors import AidflowError
from aidflow.domain.obligations import OBLIGATIONS, FactKind, ObligationId

if TYPE_CHECKING:
    from aidflow.application.service import Aidflow
    from aidflow.domain.clawback import Breach, ClawbackAssessment
    from aidflow.domain.convention import Convention
    from aidflow.domain.obligations import MonitoringFact, ObligationWindow

# ------------------------------------------------------------------ markup helpers


class Html(str):
    """Markup that is already safe (built here); any other ``str`` is escaped when inserted."""

    __slots__ = ()


def esc(value: object) -> Html:
    """``value`` as HTML text: ``None`` shows as a dash, everything else is escaped."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("—" if value is None else str(value), quote=True))


def join(parts: Iterable[object], separator: str = "") -> Html:
    return Html(esc(separator).join(esc(p) for p in parts))


def tag(name: str, *content: object, **attributes: object) -> Html:
    """``<name attr="…">content</name>``; ``class_`` gives ``class``, ``None`` drops an attribute."""
    attrs = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for key, value in attributes.items()
        if value is not None
    )
    return Html(f"<{name}{attrs}>{join(content)}</{name}>")


def eur(value: Decimal | str | None) -> Html:
    """An amount as ``18 750.00 €`` (the CLI's format), kept on one line."""
    if value is None:
        return esc(None)
    text = f"{Decimal(value):,.2f} €".replace(",", " ")
    return tag("span", text, class_="eur")


def day(value: date | str | None) -> str:
    if value is None:
        return "—"
    return value.isoformat() if isinstance(value, date) else str(value)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, caption: str | None = None,
    id_: str | None = None, numeric: Iterable[int] = (), nowrap: Iterable[int] = (),
) -> Html:
    """A table with ``<th scope="col">`` headers; cells are escaped unless they are :class:`Html`.

    ``numeric`` columns are right-aligned, ``nowrap`` ones (dates) never break.
    """
    classes = dict.fromkeys(numeric, "num") | dict.fromkeys(nowrap, "nowrap")
    head = tag("tr", *(tag("th", h, scope="col", class_=classes.get(i)) for i, h in enumerate(headers)))
    body = [
        tag("tr", *(tag("td", cell, class_=classes.get(i)) for i, cell in enumerate(row)))
        for row in rows
    ]
    if not body:
        body = [tag("tr", tag("td", "none recorded", colspan=str(len(headers)), class_="empty"))]
    return tag(
        "table",
        tag("caption", caption) if caption else "",
        tag("thead", head),
        tag("tbody", *body),
        id=id_,
    )


def definitions(items: Iterable[tuple[str, object]], class_: str | None = None) -> Html:
    return tag("dl", *(join((tag("dt", k), tag("dd", v))) for k, v in items), class_=class_)


def section(id_: str, title: str, *content: object) -> Html:
    return tag("section", tag("h2", title, id=f"{id_}-title"), *content, id=id_,
               aria_labelledby=f"{id_}-title")


# ------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report shows, read from the application once (through the lens if any)."""

    reference: str
    as_of: date | None
    today: date
    view: DossierView
    convention: Convention | None
    history: list[HistoryEntry]
    decisions: list[dict[str, Any]]
    chain: audit.VerifyView | str
    store: str
    generated_at: datetime


def gather(
    app: Aidflow, reference: str, *, as_of: date | None = None, generated_at: datetime | None = None
) -> ReportInputs:
    """Read the dossier, its convention, history, decisions and chain check for a report."""
    with audit.viewing(app, as_of):
        view = app.dossier(reference)
        convention = app.convention(view.convention) if view.convention else None
        decisions = app.decisions(reference)
        today = app.clock()
    history = audit.history_as_of(app, reference, as_of)
    chain: audit.VerifyView | str
    try:
        chain = app.verify_chain(reference)
    except AidflowError as error:
        chain = error.message
    return ReportInputs(
        reference=reference, as_of=as_of, today=today, view=view, convention=convention,
        history=history, decisions=decisions, chain=chain, store=describe_store(app.store_url),
        generated_at=(generated_at or datetime.now(UTC)).astimezone(UTC),
    )


def render_audit_report(
    app: Aidflow, reference: str, *, as_of: date | None = None, generated_at: datetime | None = None
) -> str:
    """One self-contained HTML audit report of a convention (or of an application without one).

    Args:
        app: the application (its store is read, never written).
        reference: a convention number or an application reference.
        as_of: show the dossier as of this business date (default: everything recorded, today).
        generated_at: the generation time printed in the footer (default: now, UTC).
    """
    return render(gather(app, reference, as_of=as_of, generated_at=generated_at))


def render(inputs: ReportInputs) -> str:
    view = inputs.view
    subject = f"convention {view.convention}" if view.convention else f"application {view.reference}"
    title = f"Audit report — {subject} — {view.beneficiary}"
    body = join((
        header(inputs),
        tag("main",
            timeline(inputs),
            obligations_section(inputs),
            headcount_section(inputs),
            payments_section(inputs),
            amendments_section(inputs),
            clawback_section(inputs),
            decisions_section(inputs),
            chain_section(inputs)),
        footer(inputs),
    ))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="aidflow {esc(aidflow.__version__)}">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d5d9e0; --bg: #f6f7f9; --accent: #1f5fa8;
  --bad: #b3261e; --warn: #b86e00; --ok: #2e7d32; --idle: #9aa3b2; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif;
  color: var(--ink); background: var(--bg); }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 10px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px;
  margin: 16px 0; }
.subtitle { color: var(--muted); margin: 0 0 12px; }
dl.facts { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 8px 16px;
  background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px; margin: 0; }
dl.facts div, dl.facts dt, dl.facts dd { margin: 0; }
dl.facts dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
dl.facts dd { font-weight: 600; font-size: 15px; margin-bottom: 6px; }
dl.facts .sub { display: block; font-weight: 400; font-size: 12px; color: var(--muted); white-space: nowrap; }
dl.plain { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; }
dl.plain dt { color: var(--muted); } dl.plain dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.nowrap, .nowrap .mono { white-space: nowrap; word-break: normal; }
td.empty { color: var(--muted); font-style: italic; }
.eur { white-space: nowrap; font-variant-numeric: tabular-nums; }
code, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12px;
  word-break: break-all; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; color: #fff; background: var(--idle); }
.badge.in_breach, .badge.breached, .badge.TAMPERED, .badge.established { background: var(--bad); }
.badge.pending_decision, .badge.pending, .badge.waived { background: var(--warn); }
.badge.running, .badge.signed, .badge.awarded, .badge.paid { background: var(--accent); }
.badge.OK, .badge.ended, .badge.closed { background: var(--ok); }
.due { color: var(--bad); }
svg { width: 100%; height: auto; display: block; }
svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: var(--ink); }
svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .tick { fill: var(--muted); }
svg .marker { stroke: var(--ink); stroke-width: 1.5; stroke-dasharray: 5 3; }
svg .event-line { stroke: var(--idle); stroke-width: 1; stroke-dasharray: 2 3; }
svg .bar.running { fill: var(--accent); } svg .bar.ended { fill: var(--ok); }
svg .bar.not_started { fill: var(--idle); } svg .bar.breached { fill: var(--bad); }
svg .bar.waived, svg .bar.pending_decision { fill: var(--warn); }
svg .breach { fill: #fff; stroke: var(--bad); stroke-width: 2.5; }
svg .breach.waived, svg .breach.pending { stroke: var(--warn); }
svg .na { fill: var(--idle); font-style: italic; }
svg .committed { stroke: var(--bad); stroke-width: 2; stroke-dasharray: 7 4; }
svg .window { fill: #e8f0fb; }
svg .col.short { fill: var(--bad); } svg .col.met { fill: var(--ok); }
svg .completion { fill: #fff; stroke: var(--accent); stroke-width: 2; }
svg .value { font-weight: 700; }
svg text.on-bar { fill: #fff; font-weight: 600; } svg text.committed-label { fill: var(--bad); }
.legend { color: var(--muted); font-size: 12px; margin: 4px 0 8px; }
ul.tree { margin: 4px 0 8px; padding-left: 18px; } ul.tree ul { padding-left: 18px; }
.src { color: var(--muted); font-size: 12px; }
.decision h3 { margin-top: 12px; }
.explanation { background: #f4f6f9; border-left: 3px solid var(--accent); padding: 6px 10px; margin: 6px 0; }
footer { color: var(--muted); font-size: 12px; padding-bottom: 24px; }
@media print { body { background: #fff; } section { break-inside: avoid; border: none; } }
"""


# ------------------------------------------------------------------ header and footer


def badge(text: str) -> Html:
    return tag("span", text.replace("_", " "), class_=f"badge {text}")


def header(inputs: ReportInputs) -> Html:
    view = inputs.view
    latest = inputs.convention.latest_assessment if inputs.convention else None
    beneficiary = f"{view.beneficiary} (SIREN {view.siren})" if view.siren else view.beneficiary
    programme = view.programme
    due: object = "no assessment"
    if latest is not None:
        due = join((tag("span", eur(latest.total_due.amount), class_="due"),
                    tag("span", f"as of {day(latest.as_of)}", class_="sub")))
    items: list[tuple[str, object]] = [
        ("Convention", view.convention or "not signed"),
        ("Beneficiary", beneficiary),
        ("Scheme", view.scheme),
        ("Status", badge(view.status)),
        ("Application", view.reference),
        ("Signed on", day(view.signed_on)),
        ("Size at signature", view.size_at_signature or "—"),
        ("Programme", f"{day(programme['start'])} → {day(programme['end'])}, {programme['jobs']} jobs"),
        ("Awarded", eur(view.awarded)),
        ("Paid", eur(view.paid)),
        ("Repaid", eur(view.repaid)),
        ("Due (clawback)", due),
    ]
    scope = (f"as of {day(inputs.as_of)} (facts dated later are left out)" if inputs.as_of
             else f"every recorded fact, today {day(inputs.today)}")
    subject = f"Convention {view.convention}" if view.convention else f"Application {view.reference}"
    return tag(
        "header",
        tag("h1", f"Audit report — {subject}"),
        tag("p", f"{view.beneficiary} · scheme {view.scheme} · {scope}", class_="subtitle"),
        tag("dl", *(tag("div", tag("dt", k), tag("dd", v)) for k, v in items), class_="facts"),
    )


def footer(inputs: ReportInputs) -> Html:
    items = [
        f"Generated by aidflow {aidflow.__version__}",
        f"at {inputs.generated_at.strftime('%Y-%m-%d %H:%M:%S')} UTC",
        f"from store {inputs.store}",
        f"reference {inputs.reference}",
        f"as of {day(inputs.as_of)}" if inputs.as_of else "all recorded facts",
        f"today {day(inputs.today)}",
    ]
    return tag(
        "footer",
        tag("p", " · ".join(items)),
        tag("p", "Self-contained report: inline styles and SVG, no script, no external resource. "
                 "Amounts in euros; dates are business dates unless marked as recording times (UTC)."),
    )


# ------------------------------------------------------------------ timeline


def _money(value: object) -> Html:
    try:
        return eur(Decimal(str(value)))
    except ArithmeticError:
        return esc(value)


def _summary_award(data: Mapping[str, Any]) -> object:
    award = data.get("award") or {}
    split = {k: v for k, v in (award.get("split") or {}).items() if Decimal(str(v))}
    decision = award.get("decision") or {}
    parts = [join((k, " ", _money(v))) for k, v in split.items()]
    return join((join(parts, ", "), f" — {decision.get('body', '')} {decision.get('deliberation', '')}"))


def _summary_fact(data: Mapping[str, Any]) -> object:
    fact = data.get("fact") or {}
    words = [f"{fact.get('kind', '')}".replace("_", " ")]
    if fact.get("jobs") is not None:
        words.append(f"{fact['jobs']} jobs declared")
    if fact.get("value") is not None:
        words.append(f"value {fact['value']}")
    if fact.get("destination"):
        words.append(f"to {fact['destination']}")
    return ", ".join(words)


def _summary_assessment(data: Mapping[str, Any]) -> object:
    record = data.get("assessment") or {}
    breaches = ", ".join(b.get("obligation", "?") for b in record.get("breaches", [])) or "no breach"
    policy = f"{record.get('policy', '')}/{record.get('policy_version', '')}"
    return join(("total due ", _money(record.get("total_due", "0")), f" ({breaches}; policy {policy})"))


def _summary_movement(data: Mapping[str, Any]) -> object:
    movement = next((v for v in data.values() if isinstance(v, Mapping) and "amount" in v), {})
    return join((f"{movement.get('ref', '')} ", _money(movement.get("amount", "0")),
                 f" {movement.get('kind', '')}".rstrip()))


def _summary_breach_decision(data: Mapping[str, Any]) -> object:
    decision = data.get("decision") or {}
    if decision.get("waived"):
        return f"{decision.get('obligation', '')}: the Region waives the breach"
    return join((f"{decision.get('obligation', '')}: the Region claws back ", _money(decision.get("amount"))))


def _summary_waiver(data: Mapping[str, Any]) -> object:
    waiver = data.get("waiver") or {}
    return join((_money(waiver.get("amount")), f" waived — {waiver.get('deliberation', '')}"))


def _summary_schedule(data: Mapping[str, Any]) -> object:
    schedule = data.get("schedule") or []
    total = sum((Decimal(str(i.get("amount", "0"))) for i in schedule), Decimal(0))
    first = schedule[0].get("due_on", "—") if schedule else "—"
    return join((f"{len(schedule)} instalments from {first}, total ", eur(total)))


def _summary_completion(data: Mapping[str, Any]) -> object:
    completion = data.get("completion") or {}
    parts: list[object] = ["programme completed"]
    if completion.get("investment_realised") is not None:
        parts += [", investment realised ", _money(completion["investment_realised"])]
    if completion.get("jobs_created") is not None:
        parts.append(f", {completion['jobs_created']} jobs created")
    return join(parts)


SUMMARIES: Mapping[str, Any] = {
    "BreachDecided": _summary_breach_decision,
    "Waived": _summary_waiver,
    "RepaymentScheduled": _summary_schedule,
    "ProgrammeCompleted": _summary_completion,
    "Closed": lambda _d: "closed",
    "Submitted": lambda d: join((f"{d.get('scheme_code', '')} requested ", _money(d.get("requested", "0")))),
    "EligibilityChecked": lambda d: "eligible" if d.get("eligible") else "not eligible",
    "Awarded": _summary_award,
    "Rejected": lambda d: "; ".join(d.get("reasons", [])) or "rejected",
    "Signed": lambda d: f"convention {d.get('number', '')} signed, size "
                        f"{d.get('size_at_signature') or '—'}",
    "ConventionSigned": lambda d: f"convention {d.get('number', '')}",
    "PaymentRecorded": _summary_movement,
    "RecoveryOrderIssued": _summary_movement,
    "RepaymentReceived": _summary_movement,
    "InstalmentReceived": _summary_movement,
    "HeadcountDeclared": _summary_fact,
    "InvestmentDisposed": _summary_fact,
    "ActivityCeased": _summary_fact,
    "Relocated": _summary_fact,
    "ControlChanged": _summary_fact,
    "RdOutsideRegion": _summary_fact,
    "ExploitationRenounced": _summary_fact,
    "ClawbackAssessed": _summary_assessment,
}


def _brief(value: object) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_brief(v)}" for k, v in value.items() if v not in (None, [], {}, ""))
    if isinstance(value, list):
        return ", ".join(_brief(v) for v in value)
    return str(value)


def summarise(entry: HistoryEntry) -> object:
    """A one-line summary of an event; unknown events list their recorded facts."""
    summary = SUMMARIES.get(entry.event)
    if summary is not None:
        try:
            return summary(entry.data)
        except (AttributeError, TypeError, ValueError, ArithmeticError):
            pass
    text = _brief({k: v for k, v in entry.data.items() if k != "record"})
    return text if len(text) <= 200 else text[:197] + "…"  # noqa: PLR2004 - summary length


def timeline(inputs: ReportInputs) -> Html:
    rows = [
        (day(e.on), tag("span", audit.as_utc(e.recorded_at).strftime("%Y-%m-%d %H:%M:%S"), class_="mono"),
         f"{e.aggregate} v{e.version}", e.event, summarise(e))
        for e in sorted(inputs.history, key=lambda e: (e.on or date.min, e.recorded_at))
    ]
    return section(
        "timeline", "Timeline",
        tag("p", "Every recorded event of the dossier, by business date; the recording time (UTC) "
                 "shows when the Region learnt of it.", class_="legend"),
        table(("business date", "recorded at (UTC)", "record", "event", "summary"), rows,
              id_="timeline-table", nowrap=(0, 1, 2)),
    )


# ------------------------------------------------------------------ date axis


@dataclass(frozen=True)
class Axis:
    """Maps dates to x coordinates between ``left`` and ``right``."""

    start: date
    end: date
    left: float
    right: float

    def x(self, value: date) -> float:
        span = max((self.end - self.start).days, 1)
        return round(self.left + (value - self.start).days / span * (self.right - self.left), 1)

    def years(self) -> list[date]:
        return [date(y, 1, 1) for y in range(self.start.year, self.end.year + 1)]


def _axis_for(inputs: ReportInputs, convention: Convention, left: float, right: float) -> Axis:
    days = [w.start for w in convention.windows] + [w.until for w in convention.windows]
    days += [convention.signed_on, convention.programme.start, inputs.today]
    days += [f.on for f in convention.facts]
    start, end = min(days), max(days)
    return Axis(date(start.year, 1, 1), date(end.year + 1, 1, 1), left, right)


def _svg(width: int, height: int, title: str, description: str, *content: object) -> Html:
    return tag(
        "svg", tag("title", title), tag("desc", description), *content,
        viewBox=f"0 0 {width} {height}", role="img", aria_label=title,
    )


def _year_grid(axis: Axis, top: float, bottom: float) -> Html:
    parts = []
    for year in axis.years():
        x = axis.x(year)
        parts.append(tag("line", x1=x, x2=x, y1=top, y2=bottom, class_="grid"))
        parts.append(tag("text", str(year.year), x=x, y=bottom + 14, text_anchor="middle", class_="tick"))
    parts.append(tag("line", x1=axis.left, x2=axis.right, y1=bottom, y2=bottom, class_="axis"))
    return join(parts)


def _vertical_marker(axis: Axis, on: date, label: str, top: float, bottom: float, css: str) -> Html:
    x = axis.x(on)
    anchor = "end" if x > (axis.left + axis.right) / 2 else "start"
    shift = -4 if anchor == "end" else 4
    return tag(
        "g",
        tag("title", f"{label} {day(on)}"),
        tag("line", x1=x, x2=x, y1=top, y2=bottom, class_=css),
        tag("text", f"{label} {day(on)}", x=x + shift, y=top + 10, text_anchor=anchor),
        class_="date-marker",
    )


# ------------------------------------------------------------------ obligations


def _states(view: DossierView) -> dict[str, str]:
    return {str(row["id"]): str(row["state"]) for row in view.obligations}


def obligations_chart(inputs: ReportInputs, convention: Convention) -> Html:
    width, left, right, row_h, top = 1000, 190, 975, 30, 34
    windows = {w.id: w for w in convention.windows}
    states = _states(inputs.view)
    latest = convention.latest_assessment
    breaches = {b.obligation: b for b in latest.breaches} if latest else {}
    axis = _axis_for(inputs, convention, left, right)
    bottom = top + row_h * len(ObligationId) + 6
    parts: list[Html] = [_year_grid(axis, top - 6, bottom)]
    parts.append(_vertical_marker(axis, convention.signed_on, "signed", top - 26, bottom, "event-line"))
    for index, obligation in enumerate(ObligationId):
        y = top + index * row_h
        window = windows.get(obligation)
        parts.append(_obligation_row(axis, y, obligation, window, states.get(obligation.value)))
        breach = breaches.get(obligation)
        if breach is not None:
            parts.append(_breach_marker(axis, y, breach))
    if latest is not None and latest.as_of != inputs.today:
        parts.append(_vertical_marker(axis, latest.as_of, "assessed", top - 26, bottom, "event-line"))
    label = "as of" if inputs.as_of else "today"
    parts.append(_vertical_marker(axis, inputs.today, label, top - 14, bottom, "marker"))
    return _svg(
        width, bottom + 24, "Obligation windows O1–O7 on a date axis",
        f"Each bar spans an obligation's window; diamonds mark breaches; the dashed line marks {label}.",
        *parts,
    )


def _obligation_row(
    axis: Axis, y: float, obligation: ObligationId, window: ObligationWindow | None, state: str | None
) -> Html:
    wording = OBLIGATIONS[obligation].wording.value
    name = tag("text", f"{obligation.value} {wording}", x=8, y=y + 15)
    if window is None:
        return join((name, tag("text", "not applicable (innovation schemes only)", x=axis.left + 4, y=y + 15,
                               class_="na")))
    x1, x2 = axis.x(window.start), axis.x(window.until)
    summary = f"{obligation.value} {day(window.start)} → {day(window.until)} ({wording}): {state or '—'}"
    return tag(
        "g",
        tag("title", summary),
        name,
        tag("rect", x=x1, y=y + 4, width=max(x2 - x1, 2), height=16, rx=3,
            class_=f"bar {state or 'running'}"),
        tag("text", day(window.until), x=x2 - 4, y=y + 16, text_anchor="end", class_="on-bar"),
        class_="obligation", data_obligation=obligation.value,
    )


def _breach_marker(axis: Axis, y: float, breach: Breach) -> Html:
    x, cy = axis.x(breach.on), y + 12
    points = f"{x},{cy - 9} {x + 9},{cy} {x},{cy + 9} {x - 9},{cy}"
    status = breach.status
    return tag(
        "g",
        tag("title", f"breach of {breach.obligation.value} on {day(breach.on)} ({status}): "
                     f"{breach.amount} — {breach.explanation}"),
        tag("polygon", points=points, class_=f"breach {status}"),
        class_="breach-marker",
    )


def obligations_section(inputs: ReportInputs) -> Html:
    convention = inputs.convention
    if convention is None:
        return section("obligations", "Obligation windows",
                       tag("p", "No convention is signed: no obligation."))
    states = _states(inputs.view)
    windows = {w.id: w for w in convention.windows}
    rows = []
    for obligation in ObligationId:
        definition = OBLIGATIONS[obligation]
        window = windows.get(obligation)
        state = states.get(obligation.value)
        rows.append((
            obligation.value,
            definition.description,
            day(window.start) if window else "—",
            day(window.until) if window else "—",
            definition.wording.value,
            badge(state) if state else "not applicable",
            "; ".join(f"{r.title}, {r.article}" if r.article else r.title for r in definition.references),
        ))
    return section(
        "obligations", "Obligation windows",
        obligations_chart(inputs, convention),
        tag("p", f"Windows computed at signature ({day(convention.signed_on)}, size "
                 f"{inputs.view.size_at_signature or '—'}) and programme end "
                 f"{day(convention.programme_end)}; states as of the latest assessment, else today.",
            class_="legend"),
        table(("obligation", "requirement", "from", "until", "wording", "state", "citation"), rows,
              id_="obligations-table", nowrap=(2, 3)),
    )


# ------------------------------------------------------------------ headcount


def _headcounts(convention: Convention) -> list[MonitoringFact]:
    return sorted((f for f in convention.facts if f.kind is FactKind.HEADCOUNT), key=lambda f: f.on)


def headcount_chart(inputs: ReportInputs, convention: Convention) -> Html:
    width, left, right, top, bottom = 1000, 60, 975, 30, 250
    committed = convention.terms.jobs
    declared = _headcounts(convention)
    completion = convention.completion
    created = completion.jobs_created if completion is not None else None
    highest = max([committed, *(f.jobs or 0 for f in declared), created or 0, 1])
    step = max(1, -(-highest // 5))
    ceiling = step * (-(-highest // step)) + step
    axis = _axis_for(inputs, convention, left, right)

    def y(jobs: float) -> float:
        return round(bottom - jobs / ceiling * (bottom - top), 1)

    parts: list[Html] = []
    o2 = next((w for w in convention.windows if w.id is ObligationId.O2), None)
    if o2 is not None:
        parts.append(tag("rect", tag("title", f"O2 jobs window {day(o2.start)} → {day(o2.until)}"),
                         x=axis.x(o2.start), y=top, width=axis.x(o2.until) - axis.x(o2.start),
                         height=bottom - top, class_="window"))
        parts.append(tag("text", "O2 jobs window", x=axis.x(o2.start) + 4, y=top + 12, class_="tick"))
    for jobs in range(0, ceiling + 1, step):
        parts.append(tag("line", x1=left, x2=right, y1=y(jobs), y2=y(jobs), class_="grid"))
        parts.append(tag("text", str(jobs), x=left - 6, y=y(jobs) + 4, text_anchor="end", class_="tick"))
    parts.append(_year_grid(axis, top, bottom))
    parts.append(tag("line", x1=left, x2=left, y1=top, y2=bottom, class_="axis"))
    parts.append(tag(
        "g", tag("title", f"{committed} jobs committed"),
        tag("line", x1=left, x2=right, y1=y(committed), y2=y(committed), class_="committed"),
        tag("text", f"{committed} committed", x=right - 4, y=y(committed) - 6, text_anchor="end",
            class_="value committed-label"),
    ))
    for fact in declared:
        jobs = fact.jobs or 0
        x = axis.x(fact.on)
        css = "met" if jobs >= committed else "short"
        parts.append(tag(
            "g",
            tag("title", f"{jobs} jobs declared on {day(fact.on)} ({committed} committed)"),
            tag("rect", x=x - 9, y=y(jobs), width=18, height=bottom - y(jobs), class_=f"col {css}"),
            tag("text", str(jobs), x=x, y=y(jobs) - 5, text_anchor="middle", class_="value"),
            class_="declaration",
        ))
    if completion is not None and created is not None:
        parts.append(tag(
            "g", tag("title", f"{created} jobs created at completion on {day(completion.on)}"),
            tag("circle", cx=axis.x(completion.on), cy=y(created), r=6, class_="completion"),
        ))
    label = "as of" if inputs.as_of else "today"
    parts.append(_vertical_marker(axis, inputs.today, label, top - 14, bottom, "marker"))
    return _svg(
        width, bottom + 24, "Declared headcount against committed jobs",
        f"Columns are declared headcounts (red below the commitment); the dashed red line is the "
        f"{committed} jobs committed; the shaded band is the O2 window.",
        *parts,
    )


def _headcount_state(fact: MonitoringFact, convention: Convention) -> str:
    if (fact.jobs or 0) >= convention.terms.jobs:
        return "met"
    if counts_for_jobs(fact, convention.terms):
        return "below commitment"
    end = day(convention.terms.programme_end)
    return f"below commitment, before the programme end {end} (not held against O2)"


def headcount_section(inputs: ReportInputs) -> Html:
    convention = inputs.convention
    if convention is None:
        return section("headcount", "Headcount", tag("p", "No convention is signed: no declaration."))
    committed = convention.terms.jobs
    rows = [
        (day(f.on), f.jobs, committed, max(committed - (f.jobs or 0), 0), _headcount_state(f, convention))
        for f in _headcounts(convention)
    ]
    due = [
        (day(d.anniversary), day(d.due_by), d.state.value, day(d.made_on))
        for d in convention.declarations(inputs.today)
    ]
    return section(
        "headcount", "Headcount declared vs jobs committed",
        headcount_chart(inputs, convention),
        tag("p", f"Columns: declared headcounts (red below the {committed} jobs committed, green at or "
                 "above); dashed red line: the commitment; shaded band: the O2 window; circle: jobs "
                 "created at completion, when declared.", class_="legend"),
        table(("declared on", "declared jobs", "committed jobs", "shortfall", "reading"), rows,
              caption="Headcount declarations", id_="headcount-table", numeric=(1, 2, 3), nowrap=(0,)),
        table(("anniversary", "due by", "state", "made on"), due,
              caption=f"Declaration calendar on {day(inputs.today)}", id_="declarations-table",
              nowrap=(0, 1, 3)),
    )


# ------------------------------------------------------------------ payments


def payments_section(inputs: ReportInputs) -> Html:
    view = inputs.view
    rows: list[Sequence[object]] = [(p.ref, day(p.on), p.kind, eur(p.amount)) for p in view.payments]
    if rows:
        rows.append((tag("strong", "total paid"), "", "", tag("strong", eur(view.paid))))
    parts: list[object] = [
        table(("payment", "on", "kind", "amount"), rows, id_="payments-table", numeric=(3,), nowrap=(1,)),
    ]
    if view.split:
        parts.append(definitions(
            [("Awarded", eur(view.awarded)), *((f"of which {k}", eur(v)) for k, v in view.split.items())],
            class_="plain",
        ))
    convention = inputs.convention
    if convention is not None:
        movements = [
            *(("recovery order", o.ref, day(o.on), eur(o.amount.amount))
              for o in convention.recovery_orders.values()),
            *(("repayment", r.ref, day(r.on), eur(r.amount.amount)) for r in convention.repayments.values()),
            *(("instalment", r.ref, day(r.on), eur(r.amount.amount))
              for r in convention.instalments_received.values()),
            *(("waiver", w.deliberation, day(w.on), eur(w.amount.amount)) for w in convention.waivers),
        ]
        parts.append(table(("movement", "reference", "on", "amount"), movements,
                           caption="Recovery", id_="recovery-table", numeric=(3,)))
    if view.recovery:
        parts.append(definitions([(k.replace("_", " "), eur(v)) for k, v in view.recovery.items()],
                                 class_="plain"))
    return section("payments", "Payments and recovery", *parts)


# ------------------------------------------------------------------ amendments


_TERMS_ROWS = (
    ("programme end in force", "programme_end"), ("planned end", "planned_end"), ("jobs", "jobs"),
    ("investment", "investment"), ("awarded", "awarded"), ("split", "split"), ("site", "site"),
)


def _term(key: str, value: object) -> object:
    if key in ("investment", "awarded"):
        return eur(str(value))
    if key == "split" and isinstance(value, dict):
        return ", ".join(f"{k} {Decimal(str(v)):,.2f} €".replace(",", " ") for k, v in value.items())
    if key == "site" and isinstance(value, dict):
        return f"{value.get('commune')} ({value.get('department')}) {value.get('siret') or ''}".strip()
    return value


def amendments_section(inputs: ReportInputs) -> Html:
    """Each avenant with the terms before and after it (the windows follow the terms in force)."""
    amendments = inputs.view.amendments
    if not amendments:
        return section("amendments", "Amendments (avenants)",
                       tag("p", "No amendment: the terms signed are in force.", class_="legend"))
    parts: list[object] = []
    for amendment in amendments:
        before, after = amendment["before"], amendment["after"]
        rows = [
            (label, _term(key, before.get(key)), _term(key, after.get(key)),
             "changed" if before.get(key) != after.get(key) else "")
            for label, key in _TERMS_ROWS
        ]
        caption = (f"Avenant no. {amendment['number']} signed {amendment['signed_on']}: "
                   f"{amendment['reason']} ({', '.join(amendment['kinds'])})")
        parts.append(table(("term", "before", "after", ""), rows, caption=caption,
                           id_=f"amendment-{amendment['number']}"))
    return section("amendments", "Amendments (avenants)", *parts)


# ------------------------------------------------------------------ clawback


def _assessment(assessment: ClawbackAssessment, latest: bool) -> Html:
    rows = [
        (b.obligation.value, day(b.on), eur(b.amount.amount), badge(b.status),
         eur(b.proposed.amount) if b.proposed else "—", b.explanation)
        for b in assessment.breaches
    ]
    title = f"Assessment as of {day(assessment.as_of)}" + (" (latest)" if latest else "")
    return tag(
        "div",
        tag("h3", title),
        definitions([
            ("Policy", f"{assessment.policy}/{assessment.policy_version}"),
            ("Paid (P)", eur(assessment.paid.amount)),
            ("Repaid (R)", eur(assessment.repaid.amount)),
            ("Total due", tag("strong", eur(assessment.total_due.amount), class_="due")),
        ], class_="plain"),
        table(("obligation", "on", "amount", "status", "proposed", "explanation"), rows,
              caption="Breaches", numeric=(2, 4), nowrap=(1,)),
        tag("p", assessment.explanation, class_="explanation"),
        class_="assessment", data_as_of=day(assessment.as_of),
    )


def clawback_section(inputs: ReportInputs) -> Html:
    convention = inputs.convention
    if convention is None or not convention.assessments:
        return section("clawback", "Breaches and clawback", tag("p", "No clawback assessment recorded."))
    count = len(convention.assessments)
    parts: list[object] = [
        _assessment(a, i == count - 1) for i, a in reversed(list(enumerate(convention.assessments)))
    ]
    if convention.decisions:
        parts.append(table(
            ("obligation", "decided on", "decision"),
            [(d.obligation.value, day(d.on), "waived" if d.waived else join(("claw back ", eur(
                d.amount.amount if d.amount else None))))
             for d in convention.decisions],
            caption="The Region's decisions on discretionary breaches",
        ))
    return section("clawback", "Breaches and clawback", *parts)


# ------------------------------------------------------------------ decisions


def explanation_tree(node: Mapping[str, Any]) -> Html:
    value = node.get("value", "")
    source = node.get("source", "")
    line = join((
        tag("strong", node.get("label", "")),
        f": {value}" if value else "",
        join((" ", tag("span", f"[{source}]", class_="src"))) if source else "",
    ))
    children = node.get("children") or []
    nested = tag("ul", *(explanation_tree(c) for c in children)) if children else ""
    return tag("li", line, nested)


def _decision_body(kind: str, record: Mapping[str, Any]) -> Html:
    explanation = record.get("explanation")
    if isinstance(explanation, Mapping):
        return tag("ul", explanation_tree(explanation), class_="tree")
    if kind == "clawback":
        items = [
            tag("li", f"{b.get('obligation')} on {b.get('on')}: ", _money(b.get("amount")),
                f" ({breach_status(established=bool(b.get('established')), waived=bool(b.get('waived')))})"
                f" — {b.get('explanation', '')}")
            for b in record.get("breaches", [])
        ]
        return join((tag("ul", *items, class_="tree") if items else "",
                     tag("p", str(explanation or ""), class_="explanation")))
    scalars = [(k, v) for k, v in record.items() if not isinstance(v, Mapping | list)]
    return definitions(scalars, class_="plain")


def _citations(record: Mapping[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, Mapping):
            source = value.get("source")
            if isinstance(source, str) and source not in ("", "input") and source not in found:
                found.append(source)
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(record)
    return found


def decisions_section(inputs: ReportInputs) -> Html:
    if not inputs.decisions:
        return section("decisions", "Decision trail", tag("p", "No decision recorded yet."))
    parts = []
    for item in inputs.decisions:
        record: Mapping[str, Any] = item.get("record") or {}
        version = record.get("rulebook_version")
        basis = f"rule book {version}" if version else (f"policy {record['policy']}" if "policy" in record
                                                       else "")
        citations = _citations(record)
        parts.append(tag(
            "div",
            tag("h3", f"#{item['number']} {item['kind']} on {item.get('on', '—')}"
                      + (f" — {basis}" if basis else "")),
            _decision_body(str(item["kind"]), record),
            tag("p", tag("strong", "Citations: "), "; ".join(citations), class_="src") if citations else "",
            class_="decision", data_kind=str(item["kind"]),
        ))
    return section("decisions", "Decision trail", *parts)


# ------------------------------------------------------------------ chain


def chain_section(inputs: ReportInputs) -> Html:
    chain = inputs.chain
    if isinstance(chain, str):
        return section("chain", "Tamper evidence", tag("p", f"Hash-chain check not available: {chain}"))
    verdict = "OK" if chain.ok else "TAMPERED"
    heads = [(label, head.get("version"), tag("code", head.get("link", "")))
             for label, head in chain.heads.items()]
    findings = [(f.kind, f.aggregate, f.version, f.detail) for f in chain.findings]
    parts: list[object] = [
        definitions([
            ("Verification", badge(verdict)),
            ("Scope", chain.scope),
            ("Events re-hashed", chain.events_checked),
            ("Aggregates", chain.aggregates_checked),
            ("Store digest", tag("code", chain.store_digest)),
            ("Links in digest", chain.links),
        ], class_="plain"),
        table(("aggregate", "version", "head link"), heads, caption="Chain heads", id_="chain-heads"),
    ]
    if findings:
        parts.append(table(("kind", "aggregate", "version", "detail"), findings, caption="Discrepancies"))
    parts.append(tag("p", "Checked when the report was generated, over every stored event of the "
                          "dossier (whatever the as-of date). Re-check with: aidflow verify "
                          f"{inputs.reference}", class_="legend"))
    return section("chain", "Tamper evidence", *parts)


__all__ = ["Html", "ReportInputs", "esc", "gather", "render", "render_audit_report"]
