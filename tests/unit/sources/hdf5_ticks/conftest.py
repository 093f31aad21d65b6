"""Tiny tick frames and HDF5 files written in the test, the ways vendors and users write them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def ticks(n: int = 12, *, start: str = "2021-03-01 14:30", symbols: bool = True) -> pd.DataFrame:
    """``n`` trades a second apart: price, volume (int), and a contract column."""
    index = pd.date_range(start, periods=n, freq="s", unit="ns")
    frame = pd.DataFrame(
        {
            "price": 3900.0 + 0.25 * (np.arange(n) % 5),
            "volume": np.arange(n, dtype=np.int64) % 4 + 1,
        },
        index=index,
    )
    if symbols:
        frame["symbol"] = ["ESH1"] * (n // 2) + ["ESM1"] * (n - n // 2)
    return frame


@pytest.fixture
def frame() -> pd.DataFrame:
    """Twelve trades, two contracts."""
    return ticks()
