"""The Streamlit dashboard (``marketlake dashboard``): charts, aggregates, bar types, quality, runs.

``APP_FILE`` is the script ``streamlit run`` is given. Importing this package does not import
Streamlit, so the CLI stays light; the pages are listed in :mod:`.pages` (add one there).
"""

from __future__ import annotations

from pathlib import Path

APP_FILE = Path(__file__).with_name("app.py")

__all__ = ["APP_FILE"]
