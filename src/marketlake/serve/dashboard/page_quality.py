"""The quality page: what was quarantined, by dataset and rule, with the original rows."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import streamlit as st

from marketlake.quality import RULES
from marketlake.serve.dashboard import charts, data, widgets


def render() -> None:
    """Draw the page."""
    st.header("Data quality", anchor=False)
    summary, totals = data.quality()
    if totals.is_empty() and not summary["total"]:
        widgets.missing(widgets.NO_BARS)
        return
    rows_in = int(totals["rows_in"].sum())
    quarantined = int(totals["rows_quarantined"].sum())
    cols = st.columns(4)
    cols[0].metric("Rows delivered", f"{rows_in:,}", border=True)
    cols[1].metric("In silver", f"{int(totals['rows_out'].sum()):,}", border=True)
    share = f"{quarantined / rows_in:.3%} of rows" if rows_in else None
    cols[2].metric(
        "Quarantined", f"{quarantined:,}", share, delta_color="off", delta_arrow="off", border=True
    )
    cols[3].metric(
        "Flagged (kept)",
        f"{int(totals['rows_flagged'].sum()):,}",
        help="WARNING rules: the row stays in silver and names the rule in quality_flags",
        border=True,
    )
    st.caption(
        "Every delivered row is either in silver or in quarantine with the rule it broke and its "
        "original text: rows in = rows in silver + rows quarantined."
    )
    st.dataframe(
        totals,
        hide_index=True,
        column_config={
            "dataset": widgets.text("Dataset"),
            "ingests": widgets.number("Deliveries", "localized"),
            "rows_in": widgets.number("Rows in", "localized"),
            "rows_out": widgets.number("In silver", "localized"),
            "rows_quarantined": widgets.number("Quarantined", "localized"),
            "rows_flagged": widgets.number("Flagged", "localized"),
        },
    )
    rules = summary["rules"]
    if not rules:
        st.success("Nothing quarantined.", icon=":material/check_circle:")
        return
    st.subheader("Quarantined rows by rule", anchor=False)
    frame = pl.DataFrame(
        [{k: r[k] for k in ("dataset", "rule_id", "rows")} for r in rules],
        schema={"dataset": pl.String, "rule_id": pl.String, "rows": pl.Int64},
    )
    st.plotly_chart(charts.quarantine_figure(frame), config={"displaylogo": False}, key="rules")
    for rule in sorted(rules, key=lambda r: -int(r["rows"])):
        _rule(rule)


def _rule(rule: dict[str, Any]) -> None:
    known = RULES.get(rule["rule_id"])
    meaning = known.description if known else "a rule of this lake's sources"
    rows = f"{rule['rows']:,} row" + ("" if rule["rows"] == 1 else "s")
    title = f"{rule['dataset']} · {rule['rule_id']} — {rows}: {meaning}"
    with st.expander(widgets.md(title)):
        st.dataframe(
            pl.DataFrame(
                [{**e, "raw": _original(e["raw"])} for e in rule["examples"]],
                schema={
                    "symbol": pl.String,
                    "source_row": pl.Int64,
                    "message": pl.String,
                    "raw": pl.String,
                    "ingest_id": pl.String,
                },
            ),
            hide_index=True,
            column_config={
                "symbol": widgets.text("Symbol"),
                "source_row": widgets.number("Line", "plain"),
                "message": widgets.text("Why", width="medium"),
                "raw": widgets.text("Original row", width="large"),
                "ingest_id": widgets.text("Delivery"),
            },
        )
        if rule["rows"] > len(rule["examples"]):
            st.caption(
                f"First {len(rule['examples'])} of {rule['rows']:,}; "
                f"`marketlake quality --rule {rule['rule_id']} --examples 100` shows more."
            )


def _original(raw: str) -> str:
    """The delivered row as text: the line itself, or its fields joined by commas."""
    try:
        fields = json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)
    if isinstance(fields, dict):
        if set(fields) == {"line"}:
            return str(fields["line"])
        return ", ".join(f"{k}={v}" for k, v in fields.items())
    return str(fields)
