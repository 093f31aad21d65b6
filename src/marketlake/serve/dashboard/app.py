"""The script ``streamlit run`` executes (``marketlake dashboard`` starts it)."""

from __future__ import annotations

import streamlit as st

from marketlake.config import get_settings
from marketlake.serve.dashboard import data, pages, widgets


def main() -> None:
    """Configure the page, draw the sidebar, run the page picked in the menu."""
    st.set_page_config(
        page_title="marketlake",
        page_icon=":material/candlestick_chart:",
        layout="wide",
        menu_items={"About": "marketlake: raw market data in, analysis-ready data out."},
    )
    page = pages.navigation()
    with st.sidebar:
        st.caption(f"Data: {widgets.md(get_settings().data_dir.absolute())}")
        if not data.has_gold():
            st.caption("Gold: not built yet (`marketlake build`).")
    page.run()


main()
