"""The continuous futures section of the report: each root's series with its roll points.

Pure: frames in, HTML text out.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from marketlake.analytics import report_figures as figures
from marketlake.analytics import report_html as html
from marketlake.analytics.report_data import ReportInputs
from marketlake.analytics.report_sections import SECTION_TITLES, for_symbols


def continuous_section(inputs: ReportInputs) -> html.Section:
    """The continuous futures contract of each root, with its roll points."""
    explanation = (
        "A continuous futures series strings the contracts together, rolling from one to the "
        "next on the dates marked; with an adjustment (difference: the roll's gap added; "
        "ratio: multiplied) prices before each roll are shifted so the series has no "
        "artificial jumps, which is why the adjusted and the raw (traded) close differ before "
        "the last roll; with none, the jumps at the rolls are the contracts' price differences."
    )
    if inputs.continuous is None:
        body = html.absent(
            f"No continuous futures contract in silver{for_symbols(inputs)} "
            "(silver/continuous is empty): build one from futures trades, e.g. "
            "`marketlake continuous ES`, then write the report again."
        )
        return html.Section("continuous", SECTION_TITLES["continuous"], explanation, body)
    body = ""
    for variant, daily in continuous_variants(inputs.continuous):
        rolls = _rolls_of(inputs.rolls, daily)
        title = variant["symbol"] + "".join(
            f" · {name} {variant[column]}"
            for column, name in VARIANT_COLUMNS.items()
            if variant.get(column) is not None
        )
        body += html.heading(title)
        body += html.figure(
            figures.continuous_contract(daily, rolls, variant["symbol"]),
            "Blue: the continuous (adjusted) close; grey: the close of the contract actually "
            "traded that day; red dashed lines: roll dates, labelled with the contract rolled "
            "into.",
        )
        if rolls is not None and rolls.height:
            body += html.table(
                ["roll date", "from", "to", "gap", "ratio", "trigger"],
                [
                    [
                        r["roll_date"],
                        r.get("from_contract"),
                        r.get("to_contract"),
                        r.get("gap"),
                        r.get("ratio"),
                        r.get("trigger"),
                    ]
                    for r in rolls.iter_rows(named=True)
                ],
            )
        else:
            body += html.absent(f"No roll points recorded for {title} (silver/continuous_rolls).")
    return html.Section("continuous", SECTION_TITLES["continuous"], explanation, body)


# A root may have several continuous series: one per roll rule, adjustment and source.
VARIANT_COLUMNS = {"roll_rule": "roll", "adjustment": "adjustment", "source": "source"}


def continuous_variants(
    continuous: pl.DataFrame,
) -> list[tuple[dict[str, Any], pl.DataFrame]]:
    """Each continuous series (root x roll rule x adjustment x source), sorted by session."""
    keys = ["symbol", *(c for c in VARIANT_COLUMNS if c in continuous.columns)]
    parts = continuous.sort(keys).partition_by(keys, as_dict=True, maintain_order=True)
    return [
        (dict(zip(keys, key, strict=True)), part.sort("session_date"))
        for key, part in parts.items()
    ]


def _rolls_of(rolls: pl.DataFrame | None, daily: pl.DataFrame) -> pl.DataFrame | None:
    """The rolls of one continuous series: same root, and same roll rule and source if known."""
    if rolls is None:
        return None
    mine = rolls.filter(pl.col("symbol") == daily["symbol"][0])
    for daily_column, roll_column in (("roll_rule", "rule"), ("source", "source")):
        if daily_column in daily.columns and roll_column in mine.columns:
            mine = mine.filter(pl.col(roll_column) == daily[daily_column][0])
    return mine.sort("roll_date")
