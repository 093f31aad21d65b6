"""Pieces the pages share: pickers, the sentence shown when data is missing, formats."""

from __future__ import annotations

from typing import Any

import streamlit as st

DAILY_WINDOWS: dict[str, int | None] = {
    "3M": 92,
    "6M": 183,
    "1Y": 365,
    "3Y": 1096,
    "5Y": 1827,
    "All": None,
}
INTRADAY_WINDOWS: dict[str, int | None] = {"1D": 1, "5D": 5, "1M": 31, "3M": 92}

NO_GOLD = "No gold yet — run `marketlake build` (or `marketlake demo` for sample data)."
NO_BARS = (
    "No bars in silver yet — ingest some, e.g. `marketlake ingest csv MSFT.csv`, "
    "or run `marketlake demo` for sample data of every source."
)


def missing(sentence: str) -> None:
    """Say what is missing and what to run (never an exception on screen)."""
    st.info(sentence, icon=":material/info:")


def md(text: Any) -> str:
    """``text`` safe inside Streamlit markdown (tickers like ``X:BTCUSD``, names with ``*``)."""
    out = str(text)
    for ch in "\\`*_[]<>#|$~:":
        out = out.replace(ch, "\\" + ch)
    return out


def symbol_picker(
    options: list[str], *, key: str = "symbol", label: str = "Symbol", default: str | None = None
) -> str:
    """A symbol select box; the choice stays while the user moves between pages and is kept
    in the URL (``?symbol=MSFT``), so a view can be shared."""
    choice = st.selectbox(
        label,
        options,
        index=options.index(default) if default in options else 0,
        key=key,
        bind="query-params",
        persist_state="session",
        placeholder="Type a symbol",
    )
    return str(choice if choice in options else options[0])


def window_picker(windows: dict[str, int | None], default_days: int, *, key: str) -> int | None:
    """A segmented control of look-back windows; the one nearest ``default_days`` first."""
    labels = list(windows)
    sized = [label for label in labels if windows[label] is not None]
    nearest = min(sized, key=lambda label: abs((windows[label] or 0) - default_days))
    choice = st.segmented_control(
        "Window", labels, default=nearest, key=key, required=True, persist_state="session"
    )
    return windows[choice or nearest]


def header(symbol: str, name: str | None) -> None:
    """The page's title: the symbol, and its name in grey."""
    st.header(md(symbol) + (f" :gray[{md(name)}]" if name else ""), anchor=False)


def number(label: str, fmt: str = "%.2f", *, help: str | None = None) -> Any:
    """A numeric column: ``%.2f`` prices, ``localized`` counts, ``percent``, ``compact``..."""
    return st.column_config.NumberColumn(label, format=fmt, help=help)


def text(label: str, *, width: str | None = None, help: str | None = None) -> Any:
    """A text column."""
    return st.column_config.TextColumn(label, width=width, help=help)  # type: ignore[arg-type]
