"""``tongban report``: one self-contained HTML file a regional operator opens offline.

The file must open from a USB stick on any browser, with no network: CSS is
inline, charts are inline SVG, there are no scripts and no external fonts (the
viewer's own sans-serif renders the Chinese). It prints on A4.

Charts are drawn by pygal rather than matplotlib: pygal writes SVG natively,
is pure Python with a single small dependency (no numpy, no font files),
and leaves text as SVG text, so Chinese labels render in whatever CJK font the
reader's machine has; matplotlib needs a CJK font installed where the report is
made or turns every glyph into paths. pygal's tooltip script is switched off
(``js=[]``), so a chart is plain SVG.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.etree import ElementTree

import pygal
from pygal.style import Style

from node import evaluation, stats, status, supervision, workflow
from node.clock import wall_ms
from node.lights import RED, YELLOW
from node.store import NodeStore
from node.workdays import CHINA_TZ
from sync.records import show_ms

_STYLE = Style(background="white", plot_background="white", foreground="#333",
               foreground_strong="#111", foreground_subtle="#999",
               font_family="sans-serif", colors=("#2f6fb0", "#e3a21a", "#3a9d5d", "#c0392b",
                                                  "#8e44ad"),
               title_font_size=16, label_font_size=12, major_label_font_size=12,
               value_font_size=11, legend_font_size=12)
_LEVEL_COLOURS = ("#1e8449", "#52be80", "#a9cce3", "#e67e22", "#c0392b")

_CSS = """
@page { size: A4; margin: 12mm; }
body { font-family: sans-serif; color: #222; margin: 0 auto; max-width: 186mm; font-size: 10pt; }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12pt; margin: 6mm 0 2mm;
  border-bottom: 1px solid #ccc; }
.meta { color: #555; font-size: 9pt; }
.cards { display: flex; flex-wrap: wrap; gap: 3mm; margin: 3mm 0; }
.card { border: 1px solid #ccc; border-radius: 2mm; padding: 2mm 3mm; min-width: 28mm; }
.card b { display: block; font-size: 15pt; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
th, td { border: 1px solid #ddd; padding: 1mm 1.5mm; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; }
.light { display: inline-block; width: 3mm; height: 3mm; border-radius: 50%; }
.red { background: #c0392b; } .yellow { background: #e3a21a; } .green { background: #3a9d5d; }
.chart { break-inside: avoid; margin: 2mm 0; } .chart svg { width: 100%; height: auto; }
section { break-inside: avoid; }
"""


@dataclass
class Report:
    html: str
    figures: stats.Statistics
    red: int
    yellow: int


def build(store: NodeStore, today: date, *, subtree: bool = False, start: str | None = None,
          end: str | None = None) -> Report:
    """Everything the operator reads, computed from the records held, as one HTML page."""
    by_county = stats.compute(store, subtree=subtree, by="county", start=start, end=end)
    by_month = stats.compute(store, subtree=subtree, by="month", start=start, end=end)
    items = supervision.lights(store, today, subtree=subtree)
    loops = evaluation.loops(store, subtree=subtree)
    node_status = status.collect(store)
    red = sum(i.light == RED for i in items)
    yellow = sum(i.light == YELLOW for i in items)
    now = wall_ms()
    total = by_county.total
    parts = [
        f"<h1>{_e(store.config.name)} ({store.division}) 政务服务统计与监察报告</h1>",
        f"<p class=meta>{'本级及下辖节点' if subtree else '本级'} · 申请日期 "
        f"{_e(start or '开始')} 至 {_e(end or today.isoformat())} · 生成于 "
        f"{_e(_time(now))} · 工作日历: {_e(by_county.calendar)}</p>",
        _cards(total, by_county.catalogue, red, yellow, loops, by_county.cross_region),
        "<h2>节点与链路</h2>", _nodes_table(store, node_status, items, now),
        "<h2>电子监察</h2>", _supervision_table(items),
        "<h2>月度办件量</h2>", _chart(_monthly_chart(by_month.groups)),
        "<h2>按时办结率（按区县）</h2>", _chart(_on_time_chart(by_county.groups)),
        _county_table(by_county.groups),
        "<h2>好差评</h2>", _chart(_evaluation_chart(total["evaluations"])),
        "<h2>差评整改</h2>", _chart(_follow_up_chart(loops, today)), _loops_table(loops),
        f"<p class=meta>口径: {_e(' '.join(stats.__doc__.split('Definitions')[1].split()))}</p>",
    ]
    page = ("<!DOCTYPE html><html lang=zh-CN><head><meta charset=utf-8>"
            "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\">"
            f"<title>{_e(store.config.name)} 报告</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>")
    return Report(page, by_county, red, yellow)


def _e(value: object) -> str:
    return html.escape(str(value))


def _time(ms: int | None) -> str:
    return "-" if ms is None else show_ms(ms, CHINA_TZ)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _cards(total: dict, catalogue: dict, red: int, yellow: int,
           loops: list[evaluation.Loop], cross: dict) -> str:
    open_poor = sum(not loop.closed for loop in loops)
    cards = [("申请", total["applications"]), ("办结", total["concluded"]),
             ("按时办结率", _pct(total["on_time_rate"])),
             ("平均办结工作日", total["average_days"] if total["average_days"] is not None
              else "-"),
             ("一次办结率", _pct(total["one_visit_share"])),
             ("不见面办理", _pct(total["no_visit_share"])),
             ("好评率", _pct(total["good_rate"])), ("红灯", red), ("黄灯", yellow),
             ("差评待整改", open_poor), ("网上可办率", _pct(catalogue["online_rate"])),
             ("异地代收", cross.get("received", 0)), ("异地承办", cross.get("handled", 0))]
    return "<div class=cards>" + "".join(
        f"<div class=card>{_e(label)}<b>{_e(value)}</b></div>" for label, value in cards
    ) + "</div>"


def _table(headers: list[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _dot(light: str) -> str:
    return f"<span class='light {light}'></span>"


def _nodes_table(store: NodeStore, node_status: status.Status,
                 items: list[supervision.CaseLight], now: int) -> str:
    counts: dict[str, Counter] = {}
    for item in items:
        counts.setdefault(item.owner, Counter())[item.light] += 1
    rows = []
    nodes: list[tuple[str, int | None, int | None]] = [
        (store.division, node_status.link.last_success_ms if node_status.link.parent else None,
         None)]
    nodes += [(n.origin, n.last_seen_ms, n.records) for n in node_status.subtree]
    for division, seen, held in nodes:
        c = counts.get(division, Counter())
        worst = RED if c[RED] else YELLOW if c[YELLOW] else "green"
        lag = "-" if seen is None else f"{max(0, now - seen) / 3_600_000:.1f} h"
        rows.append([_e(division) + (" (本节点)" if division == store.division else ""),
                     _dot(worst), c[RED], c[YELLOW], c["green"],
                     "-" if held is None else held, _e(_time(seen)), lag])
    return _table(["节点", "灯", "红", "黄", "绿", "日志记录数", "最近联系", "距今"], rows)


def _supervision_table(items: list[supervision.CaseLight]) -> str:
    per_clock: dict[str, Counter] = {}
    for item in items:
        for clock in item.clocks:
            per_clock.setdefault(clock.name, Counter())[clock.light] += 1
    rows = [[_e(name), c[RED], c[YELLOW], c["green"]] for name, c in sorted(per_clock.items())]
    worst = [[_e(i.case_no), _dot(i.light), _e(workflow.LABELS[workflow.State(i.state)]),
              _e("; ".join(f"{c.name} {c.due} ({c.remaining})" for c in i.clocks))]
             for i in items if i.light != "green"][:20]
    return (_table(["时钟", "红", "黄", "绿"], rows)
            + "<p class=meta>最需关注的办件（至多 20 件）:</p>"
            + _table(["办件", "灯", "状态", "时钟（到期日，剩余工作日）"], worst))


def _county_table(groups: list[dict]) -> str:
    rows = [[_e(g["county"]), g.get("rank", "-"), g["applications"], g["concluded"],
             _pct(g["on_time_rate"]), g["average_days"] if g["average_days"] is not None
             else "-", g["p90_days"] if g["p90_days"] is not None else "-",
             _pct(g["one_visit_share"]), _pct(g["no_visit_share"]), _pct(g["good_rate"])]
            for g in sorted(groups, key=lambda g: g.get("rank", 0))]
    return _table(["区县", "排名", "申请", "办结", "按时办结率", "平均工作日", "P90",
                   "一次办结", "不见面", "好评率"], rows)


def _loops_table(loops: list[evaluation.Loop]) -> str:
    rows = [[_e(lp.case_no), _e(workflow.EVALUATION_LEVELS[lp.level]), _e(lp.evaluated_on),
             *(_e(lp.done.get(s) or f"应于 {lp.due[s]}") for s in evaluation.STEP_LABELS)]
            for lp in loops]
    return _table(["办件", "评价", "评价日", *evaluation.STEP_LABELS.values()], rows)


def _base(chart_type, **options):
    return chart_type(style=_STYLE, js=[], disable_xml_declaration=True, width=700,
                      height=280, explicit_size=False, legend_at_bottom=True,
                      print_values=True, **options)


def _chart(chart) -> str:
    """The chart as inline SVG, without the config script pygal always adds for its
    (unused) tooltip code: the page carries no script at all."""
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return f"<div class=chart>{ElementTree.tostring(tree, encoding='unicode')}</div>"


def _counts_axis(chart, highest: int) -> None:
    """Whole numbers on a count axis (pygal would label 0.2, 0.4 … for small counts)."""
    step = max(1, math.ceil(highest / 8))
    chart.y_labels = list(range(0, highest + step, step))


def _monthly_chart(groups: list[dict]):
    chart = _base(pygal.Bar, x_label_rotation=0)
    chart.x_labels = [g["month"] for g in groups]
    chart.add("申请", [g["applications"] for g in groups])
    chart.add("办结", [g["concluded"] for g in groups])
    _counts_axis(chart, max((g["applications"] for g in groups), default=0))
    return chart


def _on_time_chart(groups: list[dict]):
    chart = _base(pygal.HorizontalBar, range=(0, 100), show_legend=False,
                  value_formatter=lambda v: f"{v:.1f}%")
    rated = [g for g in groups if g["on_time_rate"] is not None]
    rated.sort(key=lambda g: g["on_time_rate"])
    chart.x_labels = [g["county"] for g in rated]
    chart.add("按时办结率", [round(g["on_time_rate"] * 100, 1) for g in rated])
    return chart


def _evaluation_chart(levels: dict[str, int]):
    style = Style(**{**_STYLE.to_dict(), "colors": _LEVEL_COLOURS})
    chart = pygal.Pie(style=style, js=[], disable_xml_declaration=True, width=700, height=280,
                      inner_radius=0.45, legend_at_bottom=True, print_values=True)
    for name in workflow.EVALUATION_LEVELS.values():
        chart.add(name, levels[name])
    return chart


def _follow_up_chart(loops: list[evaluation.Loop], today: date):
    chart = _base(pygal.StackedBar)
    chart.x_labels = list(evaluation.STEP_LABELS.values())
    done, open_, late = [], [], []
    for step in evaluation.STEP_LABELS:
        done.append(sum(step in lp.done for lp in loops))
        pending = [lp for lp in loops if step not in lp.done]
        late.append(sum(date.fromisoformat(lp.due[step]) < today for lp in pending))
        open_.append(len(pending) - late[-1])
    chart.add("已完成", done)
    chart.add("未到期", open_)
    chart.add("已超期", late)
    _counts_axis(chart, len(loops))
    return chart
