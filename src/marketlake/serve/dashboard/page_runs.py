"""The runs page: the ledger, one row per run, and the steps of the run picked."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
import streamlit as st

from marketlake.serve.dashboard import data, widgets


def render() -> None:
    """Draw the page."""
    st.header("Runs", anchor=False)
    runs = data.runs()
    if not runs:
        widgets.missing(
            "No runs in the ledger yet — every `marketlake ingest`, `bars`, `build` or `demo` "
            "records one."
        )
        return
    failed = sum(r["status"] == "failed" for r in runs)
    shown = "The newest run" if len(runs) == 1 else f"The newest {len(runs)} runs, newest first,"
    st.caption(
        f"{shown} of the ledger (`marketlake status`)" + (f"; {failed} failed." if failed else ".")
    )
    table = pl.DataFrame([_summary(r) for r in runs], schema=_SCHEMA)
    st.dataframe(table, hide_index=True, column_config=_COLUMNS)
    run_id = st.selectbox("Steps of run", [r["run_id"] for r in runs], key="run")
    steps = next(r["steps"] for r in runs if r["run_id"] == run_id)
    if not steps:
        st.caption("This run has not recorded a step yet.")
        return
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "seq": s["seq"],
                    "step": s["step"],
                    "target": s["target"],
                    "status": s["status"],
                    "rows_in": s["rows_in"],
                    "rows_out": s["rows_out"],
                    "rows_quarantined": s["rows_quarantined"],
                    "seconds": s["seconds"],
                    "error": s["error"] or "",
                }
                for s in steps
            ]
        ),
        hide_index=True,
        column_config=_COLUMNS | {"target": widgets.text("Target", width="large")},
    )


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    steps = run["steps"]
    errors = [s["error"] for s in steps if s.get("error")]
    return {
        "run_id": run["run_id"],
        "started_at": run["started_at"].replace("T", " ")[:19],
        "status": run["status"],
        "steps": _steps(s["step"] for s in steps),
        "rows_in": sum(s["rows_in"] for s in steps),
        "rows_out": sum(s["rows_out"] for s in steps),
        "rows_quarantined": sum(s["rows_quarantined"] for s in steps),
        "seconds": sum(s["seconds"] for s in steps),
        "error": errors[0] if errors else "",
    }


def _steps(names: Iterable[str]) -> str:
    """``ingest ×18, bars ×8, build``: what a run did, in order, by kind of step."""
    kinds: dict[str, int] = {}
    for name in names:
        kind = name.split(".", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(k if n == 1 else f"{k} ×{n}" for k, n in kinds.items())


_SCHEMA = {
    "run_id": pl.String,
    "started_at": pl.String,
    "status": pl.String,
    "steps": pl.String,
    "rows_in": pl.Int64,
    "rows_out": pl.Int64,
    "rows_quarantined": pl.Int64,
    "seconds": pl.Float64,
    "error": pl.String,
}
_COLUMNS = {
    "run_id": widgets.text("Run"),
    "started_at": widgets.text("Started (UTC)"),
    "status": widgets.text("Status"),
    "steps": widgets.text("Steps", width="medium"),
    "seq": widgets.number("#", "plain"),
    "step": widgets.text("Step"),
    "rows_in": widgets.number("Rows in", "localized"),
    "rows_out": widgets.number("Rows out", "localized"),
    "rows_quarantined": widgets.number("Quarantined", "localized"),
    "seconds": widgets.number("Seconds", "%.2f"),
    "error": widgets.text("Error", width="large"),
}
