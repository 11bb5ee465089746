#!/usr/bin/env python3
"""Render a pool's CloudWatch dashboard to SVG (and PNG) from the metrics of a local run.

The widgets are the ones infra/pool.yaml's PoolDashboard defines: its DashboardBody is
read from the template, its ${...} substituted with the pool stack's parameter defaults
(and --param overrides), and every metric of every widget is read back with GetMetricData
from the CloudWatch the environment points at (ministack: AWS_ENDPOINT_URL_CLOUDWATCH).
Horizontal annotations (the scale-out / scale-in thresholds, the queue-wait alarm) are
drawn as dashed lines. PNG needs `rsvg-convert` (Debian: librsvg2-bin); without it only the
SVG is written.

    .venv/bin/python infra/local/render-dashboard.py --namespace CIFleetDemo123 --pool linux \\
        --start 2026-11-22T08:39:30Z --end 2026-11-22T08:39:50Z --period 1 --out .local/dashboard

Prints the paths written, one a line. Standard library plus boto3 and cfn-lint's template
decoder (both in the project venv).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import boto3
from cfnlint.decode import decode

REPO = Path(__file__).resolve().parents[2]
# CloudWatch's default line colours, in order.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
COLUMN_PX, ROW_PX, MARGIN = 50, 46, 8
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"


def fail(message: str) -> None:
    print(f"render-dashboard: ERROR: {message}", file=sys.stderr)
    raise SystemExit(1)


# ---------------------------------------------------------------- the dashboard definition

def dashboard_body(template_path: Path, resource: str, params: dict) -> dict:
    """The widgets of `resource`'s DashboardBody with its Fn::Sub applied."""
    template, problems = decode(str(template_path))
    if template is None:
        fail(f"{template_path} does not parse: {problems}")
    try:
        body = template["Resources"][resource]["Properties"]["DashboardBody"]
    except KeyError:
        fail(f"{template_path} has no {resource} with a DashboardBody")
    values = {name: str(spec.get("Default")) for name, spec in template.get("Parameters", {}).items() if "Default" in spec}
    values.update(params)
    if isinstance(body, dict) and "Fn::Sub" in body:
        sub = body["Fn::Sub"]
        text, extra = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1] or {})
        values.update({k: str(v) for k, v in extra.items()})
    elif isinstance(body, str):
        text = body
    else:
        fail(f"{resource}.DashboardBody is neither a string nor an Fn::Sub")

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            fail(f"{resource}.DashboardBody uses ${{{name}}}: pass --param {name}=VALUE")
        return values[name]

    text = re.sub(r"\$\{([A-Za-z0-9_:.]+)\}", substitute, text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        fail(f"{resource}.DashboardBody is not JSON after substitution: {error}")


def widget_metrics(properties: dict) -> list[dict]:
    """A metric widget's rows, with CloudWatch's "." and "..." shorthands expanded."""
    metrics, previous = [], []
    for row in properties.get("metrics", []):
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        items = [x for x in row if not isinstance(x, dict)]
        if not items:
            continue  # a math expression row: not used by the pool dashboard
        if items[0] == "...":
            items = previous[: len(previous) - (len(items) - 1)] + items[1:]
        else:
            items = [previous[i] if item == "." and i < len(previous) else item for i, item in enumerate(items)]
        previous = items
        namespace, name, dims = items[0], items[1], items[2:]
        dimensions = [{"Name": dims[i], "Value": dims[i + 1]} for i in range(0, len(dims) - 1, 2)]
        metrics.append({
            "namespace": namespace, "name": name, "dimensions": dimensions,
            "stat": options.get("stat", properties.get("stat", "Average")),
            "period": int(options.get("period", properties.get("period", 300))),
            "label": options.get("label", name), "axis": options.get("yAxis", "left"), "color": options.get("color"),
        })
    return metrics


# ---------------------------------------------------------------- the data

def read_metrics(cloudwatch, widgets: list[dict], start: datetime, end: datetime, period_override: int | None) -> None:
    """Fills each metric's "points" ([(datetime, value)], oldest first) with GetMetricData."""
    everything = [m for w in widgets for m in w["metrics"]]
    for offset in range(0, len(everything), 400):
        batch = everything[offset: offset + 400]
        queries = [{
            "Id": f"m{offset + i}",
            "MetricStat": {
                "Metric": {"Namespace": m["namespace"], "MetricName": m["name"], "Dimensions": m["dimensions"]},
                "Period": period_override or m["period"], "Stat": m["stat"],
            },
        } for i, m in enumerate(batch)]
        results, token = {}, None
        while True:
            kwargs = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"}
            if token:
                kwargs["NextToken"] = token
            answer = cloudwatch.get_metric_data(**kwargs)
            for result in answer["MetricDataResults"]:
                results.setdefault(result["Id"], []).extend(zip(result["Timestamps"], result["Values"]))
            token = answer.get("NextToken")
            if not token:
                break
        for i, m in enumerate(batch):
            m["points"] = sorted(results.get(f"m{offset + i}", []))


# ---------------------------------------------------------------- drawing

def nice_step(span: float, ticks: int = 4) -> float:
    """A 1, 2, 2.5 or 5 x 10^k step that cuts `span` into about `ticks` intervals."""
    raw = span / ticks if span > 0 else 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * magnitude >= raw:
            return multiple * magnitude
    return 10 * magnitude


def axis_ticks(values: list[float], spec: dict) -> list[float]:
    """The axis' tick values, lowest first: from 0 (or the data's minimum, or yAxis min) to a
    round value at or above the largest value (or yAxis max)."""
    low = float(spec.get("min", min([0.0] + values)))
    top = float(spec.get("max", max(values) if values else 1.0))
    if top <= low:
        top = low + 1
    step = nice_step(top - low)
    if "max" not in spec:
        top = low + math.ceil((top - low) / step - 1e-9) * step
    count = int(round((top - low) / step))
    return [low + i * step for i in range(count + 1)]


def fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:.3g}" if value != int(value) else f"{int(value)}"


def render_widget(widget: dict, t0: datetime, t1: datetime, period_note: str) -> list[str]:
    p = widget["properties"]
    x, y = widget["x"] * COLUMN_PX + MARGIN, widget["y"] * ROW_PX + 64
    w, h = widget["width"] * COLUMN_PX - MARGIN, widget["height"] * ROW_PX - MARGIN
    out = [f'<g transform="translate({x},{y})">',
           f'<rect width="{w}" height="{h}" rx="3" fill="#ffffff" stroke="#d5dbdb"/>',
           f'<text x="12" y="22" font-size="14" font-weight="bold" fill="#16191f">{escape(p.get("title", ""))}</text>',
           f'<text x="{w - 12}" y="22" font-size="11" fill="#687078" text-anchor="end">{escape(period_note(widget))}</text>']
    metrics = widget["metrics"]
    has_right = any(m["axis"] == "right" for m in metrics) or any(a.get("yAxis") == "right" for a in p.get("annotations", {}).get("horizontal", []))
    left_pad, right_pad = 46, (50 if has_right else 16)
    legend, lx, row = [], 12.0, 0
    for m in metrics:
        label = m["label"] + (" (right axis)" if m["axis"] == "right" else "") + ("" if m["points"] else ": no data")
        item_w = 14 + 6.5 * len(label) + 18
        if lx + item_w > w - 12 and lx > 12:
            lx, row = 12.0, row + 1
        legend.append([lx, row, m, label])
        lx += item_w
    legend_rows = row + 1
    for item in legend:
        item[1] = h - 10 - (legend_rows - 1 - item[1]) * 16
    plot_x, plot_y = left_pad, 34
    plot_w, plot_h = w - left_pad - right_pad, h - 34 - 26 - 16 * legend_rows
    annotations = p.get("annotations", {}).get("horizontal", [])
    axes, ticks = {}, {}
    for side in ("left", "right"):
        values = [v for m in metrics if m["axis"] == side for _, v in m["points"]]
        values += [float(a["value"]) for a in annotations if a.get("yAxis", "left") == side]
        ticks[side] = axis_ticks(values, p.get("yAxis", {}).get(side, {}))
        axes[side] = (ticks[side][0], ticks[side][-1])
    span = (t1 - t0).total_seconds() or 1.0

    def sx(t: datetime) -> float:
        return plot_x + (t - t0).total_seconds() / span * plot_w

    def sy(value: float, side: str) -> float:
        low, high = axes[side]
        return plot_y + plot_h - (value - low) / (high - low) * plot_h

    # grid and axes
    for value in ticks["left"]:
        gy = sy(value, "left")
        out.append(f'<line x1="{plot_x}" y1="{gy:.1f}" x2="{plot_x + plot_w}" y2="{gy:.1f}" stroke="#eaeded"/>')
        out.append(f'<text x="{plot_x - 6}" y="{gy + 4:.1f}" font-size="10" fill="#687078" text-anchor="end">{fmt(value)}</text>')
    if has_right:
        for value in ticks["right"]:
            gy = sy(value, "right")
            out.append(f'<text x="{plot_x + plot_w + 6}" y="{gy + 4:.1f}" font-size="10" fill="#687078">{fmt(value)}</text>')
    for i in range(5):
        t = t0 + timedelta(seconds=span * i / 4)
        tx = sx(t)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        out.append(f'<line x1="{tx:.1f}" y1="{plot_y + plot_h}" x2="{tx:.1f}" y2="{plot_y + plot_h + 4}" stroke="#aab7b8"/>')
        out.append(f'<text x="{tx:.1f}" y="{plot_y + plot_h + 16}" font-size="10" fill="#687078" text-anchor="{anchor}">{t.strftime("%H:%M:%S")}</text>')
    out.append(f'<line x1="{plot_x}" y1="{plot_y + plot_h}" x2="{plot_x + plot_w}" y2="{plot_y + plot_h}" stroke="#aab7b8"/>')

    # thresholds
    for a in annotations:
        side = a.get("yAxis", "left")
        ay = sy(float(a["value"]), side)
        color = a.get("color", "#7f7f7f")
        out.append(f'<line x1="{plot_x}" y1="{ay:.1f}" x2="{plot_x + plot_w}" y2="{ay:.1f}" stroke="{color}" stroke-width="1.5" stroke-dasharray="6 4"/>')
        label_x = plot_x + plot_w - 4 if side == "right" else plot_x + 4
        anchor = "end" if side == "right" else "start"
        out.append(f'<text x="{label_x}" y="{ay - 4:.1f}" font-size="11" fill="{color}" text-anchor="{anchor}" stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(a.get("label", ""))} ({fmt(float(a["value"]))})</text>')

    # series
    if not any(m["points"] for m in metrics):
        out.append(f'<text x="{plot_x + plot_w / 2}" y="{plot_y + plot_h / 2}" font-size="13" fill="#879596" text-anchor="middle">No data in this run</text>')
    for i, m in enumerate(metrics):
        color = m["color"] or PALETTE[i % len(PALETTE)]
        m["drawn_color"] = color
        points = [(sx(t), sy(v, m["axis"])) for t, v in m["points"]]
        if len(points) > 1:
            path = " ".join(f"{'M' if j == 0 else 'L'}{px:.1f},{py:.1f}" for j, (px, py) in enumerate(points))
            out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for px, py in points:
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{color}"/>')

    # legend: items flow left to right and wrap (about 6.5 px a character at 11 px)
    for item in legend:
        lx, ly, m, label = item
        out.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="10" height="10" fill="{m["drawn_color"]}"/>')
        out.append(f'<text x="{lx + 14:.1f}" y="{ly:.1f}" font-size="11" fill="#16191f">{escape(label)}</text>')
    out.append("</g>")
    return out


def render_svg(title: str, subtitle: str, widgets: list[dict], t0: datetime, t1: datetime, period_note) -> str:
    width = 24 * COLUMN_PX + MARGIN
    height = max(w["y"] + w["height"] for w in widgets) * ROW_PX + 64 + MARGIN
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}">',
             f'<rect width="{width}" height="{height}" fill="#f2f3f3"/>',
             f'<text x="{MARGIN + 4}" y="26" font-size="19" font-weight="bold" fill="#16191f">{escape(title)}</text>',
             f'<text x="{MARGIN + 4}" y="48" font-size="12" fill="#545b64">{escape(subtitle)}</text>']
    for widget in widgets:
        parts += render_widget(widget, t0, t1, period_note)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------- command line

def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", action="append", required=True, help="pool name (repeatable): one picture per pool")
    parser.add_argument("--asg", action="append", default=[], help="the pool's group name, in --pool order (default ci-POOL)")
    parser.add_argument("--namespace", default="CIFleet", help="metrics namespace (default CIFleet)")
    parser.add_argument("--start", type=parse_time, help="ISO time (default: --minutes before --end)")
    parser.add_argument("--end", type=parse_time, help="ISO time (default: now)")
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--period", type=int, help="override every widget's period (seconds): a short local run at period 1 shows each poll")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a pool stack parameter (thresholds...) other than its default")
    parser.add_argument("--template", type=Path, default=REPO / "infra/pool.yaml")
    parser.add_argument("--resource", default="PoolDashboard")
    parser.add_argument("--out", type=Path, default=REPO / ".local/dashboard")
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL_CLOUDWATCH") or os.environ.get("AWS_ENDPOINT_URL"),
                        help="CloudWatch endpoint (default $AWS_ENDPOINT_URL_CLOUDWATCH, else $AWS_ENDPOINT_URL)")
    parser.add_argument("--no-png", action="store_true")
    args = parser.parse_args()

    if not args.endpoint:
        fail("no CloudWatch endpoint: set AWS_ENDPOINT_URL_CLOUDWATCH (eval \"$(infra/local/stack.sh env)\") or pass --endpoint")
    end = args.end or datetime.now(timezone.utc)
    start = args.start or end - timedelta(minutes=args.minutes)
    if start >= end:
        fail(f"--start {start.isoformat()} is not before --end {end.isoformat()}")
    params = dict(p.split("=", 1) for p in args.param if "=" in p)
    bad = [p for p in args.param if "=" not in p]
    if bad:
        fail(f"--param {bad[0]!r} is not NAME=VALUE")
    cloudwatch = boto3.client("cloudwatch", endpoint_url=args.endpoint,
                              region_name=os.environ.get("AWS_REGION", "us-east-1"),
                              aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                              aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    rsvg = None if args.no_png else shutil.which("rsvg-convert")
    args.out.mkdir(parents=True, exist_ok=True)
    for n, pool in enumerate(args.pool):
        asg = args.asg[n] if n < len(args.asg) else f"ci-{pool}"
        values = {"PoolName": pool, "AutoScalingGroupName": asg, "MetricsNamespace": args.namespace,
                  "AWS::Region": os.environ.get("AWS_REGION", "us-east-1"), **params}
        body = dashboard_body(args.template, args.resource, values)
        widgets = [w for w in body.get("widgets", []) if w.get("type") == "metric"]
        for widget in widgets:
            widget["metrics"] = widget_metrics(widget["properties"])
        try:
            read_metrics(cloudwatch, widgets, start, end, args.period)
        except Exception as error:  # botocore's errors: name the endpoint
            fail(f"GetMetricData against {args.endpoint} failed: {error}")

        def period_note(widget: dict) -> str:
            period = widget["properties"].get("period", 300)
            stat = widget["properties"].get("stat", "Average")
            return f"{stat}, {args.period} s (dashboard: {period} s)" if args.period and args.period != period else f"{stat}, {period} s"

        title = f"ci-fleet-{pool}: pool dashboard ({args.template.name} {args.resource})"
        subtitle = (f"Rendered from CloudWatch at {args.endpoint}, namespace {args.namespace}, group {asg}, "
                    f"{start.strftime('%Y-%m-%d %H:%M:%S')} to {end.strftime('%H:%M:%S')} UTC. Dashed lines: the alarm thresholds.")
        svg = render_svg(title, subtitle, widgets, start, end, period_note)
        svg_path = args.out / f"dashboard-{pool}.svg"
        svg_path.write_text(svg)
        print(svg_path)
        if rsvg:
            png_path = svg_path.with_suffix(".png")
            result = subprocess.run([rsvg, "--format", "png", "--output", str(png_path), str(svg_path)], capture_output=True, text=True)
            if result.returncode != 0:
                fail(f"rsvg-convert failed on {svg_path}: {result.stderr.strip()}")
            print(png_path)
    if not rsvg and not args.no_png:
        print("render-dashboard: no rsvg-convert, SVG only (PNG: apt-get install librsvg2-bin)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
