"""aidflow's benchmark suite: ``python -m bench all`` (or ``--quick``).

Measures, in one run on one machine, the raw engine, stock eventsourcing 9.5.6 and aidflow
on the same work, on SQLite and on PostgreSQL, and writes ``bench/results.json`` and
``bench/results.md`` (the table it prints). See docs/scaling.md for what each line means.

    python -m bench all                      # the full run (about 10 minutes on 2 cores)
    python -m bench all --quick              # smaller sizes, for CI
    python -m bench all --postgres URL       # PostgreSQL server to use (else $AIDFLOW_BENCH_POSTGRES,
                                             # $AIDFLOW_TEST_POSTGRES, or scripts/start-postgres.sh)
    python -m bench all --no-postgres        # SQLite only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import scenarios
from bench.stores import find_postgres

HERE = Path(__file__).resolve().parent

FULL = {"append_dossiers": 1000, "replay_events": 10_000, "rebuild_events": 1_000_000,
        "clawback_conventions": 100_000, "runs": 5, "big_runs": 3}
QUICK = {"append_dossiers": 210, "replay_events": 10_000, "rebuild_events": 100_000,
         "clawback_conventions": 20_000, "runs": 3, "big_runs": 2}


def run_store(kind: str, server: str | None, sizes: dict[str, int], log: Any) -> dict[str, Any]:  # noqa: ANN401
    out: dict[str, Any] = {}
    log(f"[{kind}] append: {sizes['append_dossiers']} dossiers")
    out["append"] = {k: f.to_dict() for k, f in scenarios.append(
        kind, server, sizes["append_dossiers"], sizes["runs"]).items()}
    log(f"[{kind}] replay: {sizes['replay_events']} events")
    out["replay"] = {k: f.to_dict() for k, f in scenarios.replay(
        kind, server, sizes["replay_events"], sizes["runs"]).items()}
    log(f"[{kind}] projection rebuild over {sizes['rebuild_events']} events, then clawback")
    out["rebuild"] = {k: f.to_dict() for k, f in scenarios.rebuild_and_clawback(
        kind, server, sizes["rebuild_events"], sizes["clawback_conventions"], sizes["big_runs"],
        sizes["big_runs"]).items()}
    return out


# ------------------------------------------------------------------------ targets


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
    return float(a["median"]) / float(b["median"])


def targets(store: dict[str, Any]) -> list[dict[str, Any]]:
    a, r, b = store["append"], store["replay"], store["rebuild"]
    rows = [
        {"target": "append ≥ 0.5 × raw batched insert", "measured": _ratio(a["aidflow"], a["raw"]),
         "goal": 0.5, "kind": "ratio"},
        {"target": "append vs stock save (≈ 4×)", "measured": _ratio(a["aidflow"], a["stock"]),
         "goal": None, "kind": "ratio"},
        {"target": "replay ≥ 0.25 × raw select", "measured": _ratio(r["aidflow"], r["raw_select"]),
         "goal": 0.25, "kind": "ratio"},
        {"target": "replay ≥ 100 000 events/s", "measured": float(r["aidflow"]["median"]),
         "goal": 100_000, "kind": "rate"},
        {"target": "replay vs stock get (≈ 7×)", "measured": _ratio(r["aidflow"], r["stock"]),
         "goal": None, "kind": "ratio"},
        {"target": "rebuild ≥ 0.5 × raw select + decode",
         "measured": _ratio(b["rebuild"], b["raw_select_decode"]), "goal": 0.5, "kind": "ratio"},
        {"target": "rebuild peak memory < 300 MB", "measured": float(b["rebuild"]["peak_mib"]),
         "goal": 300, "kind": "max"},
        {"target": "clawback ≥ 20 000 conventions/s", "measured": float(b["clawback"]["median"]),
         "goal": 20_000, "kind": "rate"},
    ]
    for row in rows:
        goal = row["goal"]
        if goal is None:
            row["verdict"] = "(context)"
        elif row["kind"] == "max":
            row["verdict"] = "met" if row["measured"] < goal else "missed"
        else:
            row["verdict"] = "met" if row["measured"] >= goal else "missed"
    return rows


# ------------------------------------------------------------------------ table


def _fig(figure: dict[str, Any] | None) -> str:
    if figure is None:
        return "–"
    return f"{figure['median']:,.0f} [{figure['min']:,.0f}–{figure['max']:,.0f}]".replace(",", " ")


def table(results: dict[str, Any]) -> str:
    lines = [
        f"aidflow benchmark, {results['started']} — {results['machine']}",
        f"sizes: {results['sizes']}",
        "",
        "Rates are median [min–max] of the runs, in events/s unless stated.",
        "",
        "| store | measure | raw engine | stock eventsourcing | aidflow | aidflow ÷ raw | aidflow ÷ stock |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for kind, store in results["stores"].items():
        if "unavailable" in store:
            lines.append(f"| {kind} | **not measured**: {store['unavailable']} | | | | | |")
            continue
        a, r, b = store["append"], store["replay"], store["rebuild"]
        rows = [
            ("append (store the events of realistic dossiers)", a["raw"], a["stock"], a["aidflow"]),
            ("… the same save without the hash chain (eventsourcing's recorder)",
             a["raw"], None, a.get("aidflow_unchained")),
            ("… encoding the same events only (no store)", a["raw"], None, a.get("encode")),
            ("bulk import end to end (domain work included)", a["raw"], a["dossier_run"], a["import"]),
            ("replay one convention of 10 000 events (no snapshot)",
             r["raw_select"], r["stock"], r["aidflow"]),
            ("… raw select + JSON decode of the same rows", r["raw_select_decode"], None, r["aidflow"]),
            (f"projection rebuild, {b['rebuild']['events']:,} events".replace(",", " "),
             b["raw_select_decode"], None, b["rebuild"]),
            (f"clawback assessment from the read model, {b['clawback']['conventions']:,} conventions "
             "(conventions/s)".replace(",", " "), None, None, b["clawback"]),
        ]
        for name, raw, stock, ours in rows:
            if ours is None:  # a measure this run did not make (results of an older run)
                continue
            vs_raw = f"{_ratio(ours, raw):.2f}" if raw else "–"
            vs_stock = f"{_ratio(ours, stock):.1f}×" if stock else "–"
            cells = [kind, name, _fig(raw), _fig(stock), _fig(ours), vs_raw, vs_stock]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append(
            f"| {kind} | peak memory of the rebuild process (MiB) | {b['raw_select_decode']['peak_mib']} "
            f"| – | {b['rebuild']['peak_mib']} | | |"
        )
    lines += ["", "| store | target | measured | verdict |", "|---|---|---:|---|"]
    for kind, store in results["stores"].items():
        if "unavailable" in store:
            lines.append(f"| {kind} | all | not measured | **missed: {store['unavailable']}** |")
            continue
        for row in store["targets"]:
            value = row["measured"]
            shown = f"{value:.2f}" if row["kind"] == "ratio" else f"{value:,.0f}".replace(",", " ")
            verdict = row["verdict"] if row["verdict"] != "missed" else f"**missed** ({shown})"
            lines.append(f"| {kind} | {row['target']} | {shown} | {verdict} |")
    lines += ["", ("bulk import end to end is compared with `aidflow dossier run`, one dossier at a time "
                   "(the stock column), on a fifth of the dossiers.")]
    return "\n".join(lines)


# ------------------------------------------------------------------------ main


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] == "worker":
        scenarios.worker(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["all", "sqlite", "postgres"], nargs="?", default="all")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (CI)")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server URL")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--output", type=Path, default=HERE / "results.json")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results: dict[str, Any] = {
        "started": started,
        "machine": f"{platform.python_implementation()} {platform.python_version()}, "
                   f"{os.cpu_count()} CPUs, {platform.platform()}",
        "sizes": sizes,
        "stores": {},
    }

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    kinds = ["sqlite", "postgres"] if args.what == "all" else [args.what]
    for kind in kinds:
        server = None
        if kind == "postgres":
            if args.no_postgres:
                results["stores"][kind] = {"unavailable": "--no-postgres"}
                continue
            server, how = find_postgres(args.postgres, start=True)
            if server is None:
                log(f"[postgres] not measured: {how}")
                results["stores"][kind] = {"unavailable": how}
                continue
            log(f"[postgres] server {server.split('@')[-1]} ({how})")
        begun = time.perf_counter()
        try:
            store = run_store(kind, server, sizes, log)
        except Exception as error:  # noqa: BLE001 - one store failing must not lose the other's figures
            log(f"[{kind}] failed: {type(error).__name__}: {error}")
            results["stores"][kind] = {"unavailable": f"the run failed: {type(error).__name__}: {error}"}
            continue
        store["targets"] = targets(store)
        store["seconds"] = round(time.perf_counter() - begun, 1)
        results["stores"][kind] = store
    text = table(results)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    args.output.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
