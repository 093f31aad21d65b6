"""The report in a real browser (headless Debian Chromium): every figure renders, offline.

A lake and a warehouse are built in the test (sample silver, a quarantined delivery, tick bars,
then ``dbt build`` and the gold exports), ``marketlake report`` writes the page, and Chromium
opens it with every non-``file:`` request routed to a failure. The checks are also run on
broken copies of the page, to prove that they catch what they look for.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from marketlake.config import load_settings
from marketlake.lake import open_lake
from marketlake.ops.ledger import Run
from marketlake.warehouse import build_warehouse
from tests.e2e.conftest import MARKETLAKE
from tests.integration.api.support import publish_info_bars, publish_quarantined
from tests.integration.warehouse.sample_silver import publish_sample

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

pytestmark = pytest.mark.e2e

MIN_DRAWN = 10  # a matplotlib figure draws dozens of elements: axes, ticks, labels, lines
MIN_INK = 0.01  # share of a figure's pixels that are not background

# Per figure: is there an <svg>, how big is it, how many of its elements have a box.
FIGURES_JS = """
() => Array.from(document.querySelectorAll("figure")).map((figure) => {
  const svg = figure.querySelector(":scope > svg");
  if (svg === null) return { svg: false, width: 0, height: 0, drawn: 0 };
  const box = svg.getBoundingClientRect();
  let drawn = 0;
  const shapes = "path, line, polyline, polygon, rect, circle, ellipse, use, text";
  for (const element of svg.querySelectorAll(shapes)) {
    const b = element.getBBox();
    if (b.width > 0 || b.height > 0) drawn += 1;  // a horizontal line has no height
  }
  const x = box.left + window.scrollX;
  const y = box.top + window.scrollY;
  return { svg: true, x, y, width: box.width, height: box.height, drawn };
})
"""


@dataclass(frozen=True)
class Written:
    """The report ``marketlake report`` wrote, and the figures it said it wrote."""

    path: Path
    figures: int


@dataclass
class Seen:
    """What Chromium saw opening a page."""

    figures: list[dict[str, Any]] = field(default_factory=list)  # FIGURES_JS, plus "ink"
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sections: dict[str, int] = field(default_factory=dict)  # section id -> figures in it


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    """Sample silver, ``marketlake build``'s work, then ``marketlake report`` as a user runs it."""
    root = tmp_path_factory.mktemp("report-browser")
    (root / "absent.yaml").write_text("{}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETLAKE_")}
    env |= {
        "MARKETLAKE_DATA_DIR": str(root / "data"),
        "MARKETLAKE_CONFIG": str(root / "absent.yaml"),
        "NO_COLOR": "1",
    }
    with pytest.MonkeyPatch.context() as patch:  # no developer settings leak in
        for name in os.environ:
            if name.startswith("MARKETLAKE_"):
                patch.delenv(name)
        patch.setenv("MARKETLAKE_CONFIG", env["MARKETLAKE_CONFIG"])
        settings = load_settings(data_dir=root / "data")
        lake = open_lake(settings)
        publish_sample(lake)
        publish_quarantined(lake)
        publish_info_bars(lake)
        build_warehouse(settings, run=Run(lake))
    output = root / "report.html"
    proc = subprocess.run(
        [MARKETLAKE, "report", "--output", str(output)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    said = re.search(r"report: (\d+) figures", proc.stdout)
    assert said, proc.stdout
    return Written(path=output, figures=int(said.group(1)))


def open_in_chromium(browser: Browser, path: Path, *, screenshot: Path | None = None) -> Seen:
    """Open ``path`` with every non-file: request failed, and look at each figure."""
    from PIL import Image

    seen = Seen()

    def only_files(route: Route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            seen.blocked.append(route.request.url)
            route.abort("blockedbyclient")

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        context.route("**/*", only_files)
        page = context.new_page()
        page.on("request", lambda request: seen.requests.append(request.url))
        page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_load_state("networkidle")
        seen.figures = page.evaluate(FIGURES_JS)
        for figure in seen.figures:
            figure["ink"] = 0.0
            if figure["svg"] and figure["width"] > 0 and figure["height"] > 0:
                # What reaches the screen in the svg's box (page coordinates, no scrolling).
                clip = {k: figure[k] for k in ("x", "y", "width", "height")}
                png = page.screenshot(clip=clip, full_page=True)
                figure["ink"] = _ink(Image.open(io.BytesIO(png)))
        seen.sections = page.evaluate(
            """() => Object.fromEntries(Array.from(document.querySelectorAll("section"))
                   .map((s) => [s.id, s.querySelectorAll("figure").length]))"""
        )
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    return seen


def _ink(image: Any) -> float:
    """The share of pixels that differ from white (the page and figure background)."""
    grey = image.convert("L")
    histogram = grey.histogram()
    total = sum(histogram)
    return (total - sum(histogram[245:])) / total if total else 0.0


def problems(seen: Seen, expected_figures: int) -> list[str]:
    """Everything wrong with a page: figures not drawn, requests out, console errors."""
    found = []
    for index, figure in enumerate(seen.figures):
        where = f"figure {index + 1}"
        if not figure["svg"]:
            found.append(f"{where}: no svg")
        elif figure["width"] <= 0 or figure["height"] <= 0:
            found.append(f"{where}: svg of size {figure['width']}x{figure['height']}")
        elif figure["drawn"] < MIN_DRAWN:
            found.append(f"{where}: {figure['drawn']} drawn elements")
        elif figure["ink"] < MIN_INK:
            found.append(f"{where}: blank ({figure['ink']:.4f} of its pixels drawn)")
    rendered = sum(1 for f in seen.figures if f["svg"] and f["ink"] >= MIN_INK)
    if rendered != expected_figures:
        found.append(f"{rendered} figures rendered, the report said {expected_figures}")
    outside = [u for u in seen.requests if not u.startswith(("file:", "data:", "about:"))]
    found += [f"request left the page: {u}" for u in sorted(set(outside) | set(seen.blocked))]
    found += [f"console error: {e}" for e in seen.errors]
    return found


def test_every_figure_of_the_report_renders_offline(
    browser: Browser, written: Written, tmp_path: Path
) -> None:
    screenshot = tmp_path / "report.png"

    seen = open_in_chromium(browser, written.path, screenshot=screenshot)

    assert problems(seen, written.figures) == []
    assert len(seen.figures) == written.figures > 0
    # The count is checked, not assumed: one figure more than the page holds is reported.
    assert problems(seen, written.figures + 1) == [
        f"{written.figures} figures rendered, the report said {written.figures + 1}"
    ]
    # Gold fed the page: indicator charts and bar statistics were drawn, not just "absent".
    assert seen.sections["indicators"] >= 1
    assert seen.sections["bar-statistics"] >= 1
    assert seen.sections["daily"] == 1
    assert screenshot.stat().st_size > 0


def _first_svg(page: str, replacement: str) -> str:
    return re.sub(r"<svg\b.*?</svg>", replacement, page, count=1, flags=re.DOTALL)


BROKEN = {
    # The figure keeps a sized <svg>, but nothing is drawn in it.
    "empty svg": (
        lambda page: _first_svg(
            page, '<svg width="600pt" height="300pt" viewBox="0 0 600 300"></svg>'
        ),
        "figure 1: 0 drawn elements",
    ),
    # The figure lost its plot entirely: one fewer figure renders than the report said.
    "missing svg": (lambda page: _first_svg(page, ""), "figure 1: no svg"),
    # The svg is there but collapsed to nothing.
    "zero-size svg": (
        lambda page: re.sub(r"<svg\b", '<svg style="display:none"', page, count=1),
        "figure 1: svg of size 0x0",
    ),
    # Laid out and full of shapes, but nothing reaches the screen.
    "invisible svg": (
        lambda page: re.sub(r"<svg\b", '<svg style="visibility:hidden"', page, count=1),
        "figure 1: blank",
    ),
    "remote image": (
        lambda page: page.replace("</h1>", '</h1><img src="https://example.invalid/a.png">', 1),
        "request left the page: https://example.invalid/a.png",
    ),
    "script error": (
        lambda page: page.replace("</body>", "<script>no_such_function()</script></body>", 1),
        "console error: ",
    ),
}


@pytest.mark.parametrize("fault", list(BROKEN))
def test_the_checks_catch_a_broken_page(
    browser: Browser, written: Written, tmp_path: Path, fault: str
) -> None:
    breaks, expected = BROKEN[fault]
    broken = tmp_path / "broken.html"
    broken.write_text(breaks(written.path.read_text()))

    found = problems(open_in_chromium(browser, broken), written.figures)

    assert any(p.startswith(expected) for p in found), found
    if fault.endswith("svg"):  # and one figure fewer rendered than the report said
        assert f"{written.figures - 1} figures rendered, the report said {written.figures}" in found
