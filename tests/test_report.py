"""The offline report, opened in headless Chromium: numbers, charts, no console errors, PNG."""

from __future__ import annotations

import re

import pytest
from browser import A4_AT_150_DPI, chromium, dump_dom, png_size, screenshot
from node_fixtures import run
from oversight_fixtures import REGION, at


@pytest.fixture(scope="module")
def report(oversight_synced, tmp_path_factory):
    assert chromium(), "headless Chromium is needed: apt-get install -y chromium (.ci/run does)"
    fed, _ = oversight_synced
    out = tmp_path_factory.mktemp("report") / "report.html"
    printed = run(fed.nodes[REGION].home, "report", "--out", str(out), "--subtree",
                  env=at("2026-11-18")).output
    assert printed.startswith(f"wrote {out}: 10 applications, 2 red and 1 yellow")
    return out


def test_the_file_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "default-src 'none'" in text          # and the browser is told to load nothing
    assert oct(report.stat().st_mode & 0o777) == "0o600"


def test_rendered_page_has_the_numbers_and_the_charts(report):
    dom, console = dump_dom(report)
    assert console == []
    cards = dict(re.findall(r"<div class=\"card\">([^<]+)<b>([^<]+)</b>", dom))
    assert (cards["申请"], cards["办结"], cards["按时办结率"], cards["红灯"], cards["黄灯"],
            cards["好评率"], cards["网上可办率"]) == ("10", "5", "60.0%", "2", "1", "50.0%",
                                                  "64.3%")  # 18 of the sample's 28 items
    assert (cards["异地代收"], cards["异地承办"]) == ("0", "0")  # no hand-over in this subtree
    assert "chinese-calendar" in dom                 # the report says which calendar it used
    charts = re.findall(r"<svg[^>]*class=\"pygal-chart\".*?</svg>", dom, re.S)
    assert len(charts) == 4
    monthly, on_time, levels, loops = charts
    assert len(re.findall(r"class=\"rect reactive tooltip-trigger\"", monthly)) == 10
    assert ">75.0%<" in on_time and ">0.0%<" in on_time
    assert len(re.findall(r"class=\"slice reactive tooltip-trigger\"", levels)) == 4
    assert "回访核实" in loops and "已超期" in loops


def test_a_broken_page_is_caught_by_the_same_check(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<p>x</p><script>console.error('drawn badly')</script>", encoding="utf-8")
    _, console = dump_dom(page)
    assert len(console) == 1 and "drawn badly" in console[0]


def test_screenshot_is_an_a4_png(report, tmp_path):
    png = tmp_path / "report.png"
    screenshot(report, png)
    assert png_size(png) == A4_AT_150_DPI
    assert png.stat().st_size > 50_000               # a blank page compresses to a few kB
