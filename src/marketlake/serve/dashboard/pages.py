"""The dashboard's pages, by section. To add one (a "Live" page, say), write a module with a
``render()`` function and add a :class:`PageSpec` to a section of :data:`SECTIONS`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from marketlake.serve.dashboard import (
    page_aggregates,
    page_bar_types,
    page_chart,
    page_live,
    page_quality,
    page_runs,
    page_symbols,
)


@dataclass(frozen=True)
class PageSpec:
    """One page: what draws it, its title and icon in the menu, and its URL path."""

    render: Callable[[], None]
    title: str
    icon: str
    url_path: str
    default: bool = False


SECTIONS: dict[str, list[PageSpec]] = {
    "Markets": [
        PageSpec(page_chart.render, "Chart", ":material/candlestick_chart:", "chart", True),
        PageSpec(page_aggregates.render, "Aggregates", ":material/table_chart:", "aggregates"),
        PageSpec(page_bar_types.render, "Bar types", ":material/bar_chart:", "bar-types"),
        PageSpec(page_live.render, "Live", ":material/sensors:", "live"),
    ],
    "Data": [
        PageSpec(page_symbols.render, "Symbols", ":material/list:", "symbols"),
        PageSpec(page_quality.render, "Quality", ":material/rule:", "quality"),
        PageSpec(page_runs.render, "Runs", ":material/history:", "runs"),
    ],
}


def navigation() -> st.Page:
    """The menu of :data:`SECTIONS`; ``.run()`` on the result draws the page picked."""
    return st.navigation(
        {
            section: [
                st.Page(
                    spec.render,
                    title=spec.title,
                    icon=spec.icon,
                    url_path=spec.url_path,
                    default=spec.default,
                )
                for spec in specs
            ]
            for section, specs in SECTIONS.items()
        }
    )
