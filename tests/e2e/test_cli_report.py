"""`marketlake report` as a user runs it: one HTML file that opens offline and explains itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from marketlake.config import load_settings
from marketlake.lake import open_lake
from tests.e2e.conftest import CLI
from tests.unit.analytics.sample import sample_bars_info, write_bars_info, write_continuous

pytestmark = pytest.mark.e2e

SECTIONS = (
    "Coverage",
    "Sources",
    "Data quality",
    "Daily bars (gold)",
    "Indicators (gold)",
    "Anomalies (gold)",
    "Bar statistics",
    "Continuous futures contract",
)
# Anything a browser would fetch: scripts, stylesheets, images, fonts.
EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//"""
)


def test_report_is_one_self_contained_html_file(cli: CLI, tmp_path: Path) -> None:
    lake = open_lake(load_settings(data_dir=tmp_path / "data"))
    write_bars_info(lake, sample_bars_info("ES", weeks=6))
    write_bars_info(lake, sample_bars_info("NQ", weeks=6, seed=5))
    write_continuous(lake)
    output = tmp_path / "out" / "es.html"

    proc = cli("report", "--symbols", "ES", "--output", str(output))

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(output)
    assert "4 bar series" in proc.stdout
    page = output.read_text()
    assert not EXTERNAL.search(page)
    assert "http://" not in page
    assert "https://" not in page
    assert "<script" not in page
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in page
    assert page.count("<svg") >= 5  # weekly counts, ACF, variance, histograms, futures
    assert "<h3>NQ</h3>" not in page


def test_report_of_an_empty_lake_says_plainly_what_is_missing(cli: CLI, tmp_path: Path) -> None:
    proc = cli("report")

    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "data" / "report.html"
    assert proc.stdout.strip().splitlines()[-1] == str(path)
    assert "nothing in the lake yet: " in proc.stdout
    page = path.read_text()
    assert "silver/bars_info is empty" in page
    assert "run `marketlake build`" in page
    for title in SECTIONS:  # every section is written, saying what is missing
        assert f"<h2>{title}</h2>" in page
    assert "No indicators in gold" in page
    assert "No anomalies in gold" in page
    assert "Nothing landed in bronze yet" in page


def test_empty_symbols_is_one_red_line(cli: CLI) -> None:
    proc = cli("report", "--symbols", " , ")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: --symbols is empty — give symbols separated by commas, e.g. --symbols ES,NQ"
    ]
