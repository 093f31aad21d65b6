"""Structured logs: one JSON object per line, one event per ledger step with its figures."""

from __future__ import annotations

import io
import json
import logging

import pytest

from marketlake.errors import SourceError
from marketlake.lake import Lake
from marketlake.ops.ledger import Run
from marketlake.ops.logs import configure_logging


@pytest.fixture
def json_lines():  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("json", level=logging.INFO, stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def test_each_ledger_step_is_one_json_event_with_run_id_and_figures(lake: Lake, json_lines) -> None:  # type: ignore[no-untyped-def]
    run = Run(lake)
    with run.step("ingest.csv_daily", "MSFT.csv") as row:
        row.rows_in, row.rows_out, row.rows_quarantined = 10, 8, 2
    with pytest.raises(SourceError), run.step("ingest.csv_daily", "bad.csv"):
        raise SourceError("bad header", path="bad.csv")
    events = [e for e in json_lines() if e.get("event") == "step"]
    assert [(e["target"], e["status"]) for e in events] == [
        ("MSFT.csv", "ok"),
        ("bad.csv", "failed"),
    ]
    first = events[0]
    assert first["run_id"] == run.run_id
    assert (first["step"], first["rows_in"], first["rows_out"], first["rows_quarantined"]) == (
        "ingest.csv_daily", 10, 8, 2,
    )  # fmt: skip
    assert first["seconds"] >= 0
    assert first["level"] == "info"
    assert first["ts"].endswith("+00:00")
    assert "bad header" in events[1]["error"]


def test_exceptions_and_odd_values_still_give_one_json_line(json_lines) -> None:  # type: ignore[no-untyped-def]
    log = logging.getLogger("marketlake.test")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed", extra={"path": object(), "n": 3})
    (event,) = json_lines()
    assert event["message"] == "it failed"
    assert event["n"] == 3
    assert "ValueError: boom" in event["exc_info"]


def test_text_format_is_plain_lines() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("text", level=logging.WARNING, stream=stream)
        logging.getLogger("marketlake.x").warning("careful")
        logging.getLogger("marketlake.x").info("hidden")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    assert stream.getvalue() == "WARNING marketlake.x: careful\n"
