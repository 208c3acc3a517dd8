"""Report output: JSON, CSV of the per-tick samples, and one self-contained HTML file with SVG charts."""

from __future__ import annotations

import csv
import html
import io
import json
import time
from collections.abc import Sequence
from typing import Any

from smoothdesk.telemetry.report import ReportError, build_report
from smoothdesk.telemetry.rollup import Minute
from smoothdesk.telemetry.schema import SAMPLE_COLUMNS
from smoothdesk.telemetry.store import SnapshotStore

FORMATS = ("json", "csv", "html")
WIDTH, HEIGHT, PAD = 720.0, 180.0, 4.0
COLOURS = ("#3465a4", "#cc0000", "#4e9a06", "#c4a000", "#75507b", "#ce5c00")
# (title, unit, predicate on metric names): a chart is drawn when any metric matches.
CHARTS: tuple[tuple[str, str, Any], ...] = (
    ("CPU busy", "%", lambda n: n == "cpu_busy"),
    ("Memory available", "bytes", lambda n: n == "mem_available"),
    ("Pressure (PSI some, avg10)", "%", lambda n: n.startswith("psi_")),
    ("Scheduling latency", "ms", lambda n: "latency" in n),
)


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=1, sort_keys=True, allow_nan=False)


def to_csv(samples: Sequence[dict[str, float]], minutes: Sequence[Minute] = ()) -> str:
    """One row per tick: time, the standard metrics, then any other metric (alphabetical).

    Rolled-up minutes (older than store.raw_hours) are one row each, at their ticks' mean time,
    holding each metric's mean; a `ticks` column after `time` then says how many ticks a row
    stands for (1 for a raw tick).
    """
    rolled = [
        {"time": m.time, "ticks": m.ticks, **{n: st.mean for n, st in m.stats.items()}} for m in minutes
    ]
    rows = sorted(rolled + [{**s, "ticks": 1} if rolled else s for s in samples], key=lambda r: r["time"])
    others = sorted({k for s in rows for k in s} - {"time", "ticks", *SAMPLE_COLUMNS})
    columns = ["time", *(["ticks"] if rolled else []), *SAMPLE_COLUMNS, *others]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def polyline(times: Sequence[float], values: Sequence[float | None], lo: float, hi: float) -> str:
    """SVG points for one series: x spans the time range, y maps [lo, hi] to bottom..top."""
    t0, t1 = times[0], times[-1]
    span_t = (t1 - t0) or 1.0
    span_v = (hi - lo) or 1.0
    points = []
    for t, v in zip(times, values, strict=True):
        if v is None:
            continue
        x = PAD + (t - t0) / span_t * (WIDTH - 2 * PAD)
        y = HEIGHT - PAD - (v - lo) / span_v * (HEIGHT - 2 * PAD)
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


def chart(title: str, unit: str, series: dict[str, list[Any]], names: Sequence[str]) -> str:
    values = [v for n in names for v in series[n] if v is not None]
    if not values:
        return ""
    lo, hi = min(0.0, *values), max(values)
    lines = [
        f'<polyline fill="none" stroke="{COLOURS[i % len(COLOURS)]}" stroke-width="1.5" '
        f'data-series="{html.escape(n)}" points="{polyline(series["time"], series[n], lo, hi)}"/>'
        for i, n in enumerate(names)
    ]
    legend = " ".join(
        f'<span style="color:{COLOURS[i % len(COLOURS)]}">&#9632; {html.escape(n)}</span>'
        for i, n in enumerate(names)
    )
    return (
        f"<h2>{html.escape(title)}</h2><p>{legend} &middot; 0 to {hi:.4g} {unit}</p>"
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" '
        f'width="{WIDTH:.0f}" height="{HEIGHT:.0f}" role="img" aria-label="{html.escape(title)}">'
        f'<rect width="100%" height="100%" fill="#fafafa" stroke="#ccc"/>{"".join(lines)}</svg>'
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return html.escape(f"{v:.4g}" if isinstance(v, float) else str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _stamp(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _rolled(rng: dict[str, Any]) -> str:
    if not rng.get("rolled_up_minutes"):
        return ""
    return (
        f" Before {_stamp(rng['raw_first'])} the log keeps per-minute rollups ({rng['rolled_up_minutes']} "
        "minutes): charts show minute means, p50/p95 use them (count, mean and max are exact), and the "
        "application and class tables use one group row per minute there, each counted for a minute"
        + (f" (from {_stamp(rng['groups_first'])})." if rng.get("groups_first") else ".")
    )


def to_html(report: dict[str, Any]) -> str:
    """One file, no external scripts or styles: summary tables and an inline SVG chart per metric group."""
    series = report["series"]
    names = [n for n in series if n != "time"]
    charts = [chart(t, u, series, [n for n in names if pick(n)]) for t, u, pick in CHARTS]
    metrics = [(n, *(m[k] for k in ("mean", "p50", "p95", "max"))) for n, m in report["metrics"].items()]
    cpu = [(a["name"], a["cpu_percent_mean"], a["rss_bytes_max"]) for a in report["top_apps"]["cpu"]]
    mem = [(a["name"], a["rss_bytes_max"], a["cpu_percent_mean"]) for a in report["top_apps"]["memory"]]
    rng = report["range"]
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in report["problems"]) or "<li>none</li>"
    body = [
        "<h1>SmoothDesk report</h1>",
        f"<p>{_stamp(rng['first'])} to {_stamp(rng['last'])}: {rng['ticks']} ticks, "
        f"{report['decisions']} decision changes, {report['focus_events']} focus events.{_rolled(rng)}</p>",
        *[c for c in charts if c],
        "<h2>Metrics</h2>",
        _table(["metric", "mean", "p50", "p95", "max"], metrics),
        "<h2>Top applications by CPU</h2>",
        _table(["application", "CPU % (mean)", "peak RSS bytes"], cpu),
        "<h2>Top applications by memory</h2>",
        _table(["application", "peak RSS bytes", "CPU % (mean)"], mem),
        "<h2>Time per class (group-seconds)</h2>",
        _table(["class", "seconds"], sorted(report["class_seconds"].items())),
        f"<h2>Snapshot log problems</h2><ul>{problems}</ul>",
    ]
    style = (
        "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>SmoothDesk report</title>'
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def render_report(store: SnapshotStore, since_seconds: float, fmt: str, now: float | None = None) -> str:
    """The text of a report in `fmt` (json, csv or html); what GetReport and `smoothdeskctl report` return."""
    if fmt not in FORMATS:
        raise ReportError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    until = time.time() if now is None else now
    if fmt == "csv":
        since = until - since_seconds
        return to_csv(store.samples(since, until), store.minutes(since, until))
    report = build_report(store, since_seconds, until)
    return to_json(report) if fmt == "json" else to_html(report)
