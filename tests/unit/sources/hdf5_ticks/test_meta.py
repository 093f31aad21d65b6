"""pandas' pickled metadata is read without running anything a file could smuggle in."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import tables

from marketlake.errors import SourceError
from marketlake.sources.hdf5_ticks import describe_file, iter_chunks
from marketlake.sources.hdf5_ticks.meta import datetime_unit, names_of


def test_column_names_and_units() -> None:
    assert names_of(b"(lp0\nVprice\np1\naVunfiltered price\np2\na.") == [
        "price",
        "unfiltered price",
    ]
    assert datetime_unit("datetime64") == (1, False)
    assert datetime_unit("datetime64[us]") == (1_000, False)
    assert datetime_unit("datetime64[ns, UTC]") == (1, True)
    assert datetime_unit("int64") is None


def test_a_pickle_naming_code_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    assert names_of(evil) is None
    assert not marker.exists()

    # The same trick in a fixed-format string block: refused, with a way out.
    path = tmp_path / "fixed.h5"
    frame = pd.DataFrame({"price": [1.0], "volume": [1], "symbol": ["ESH1"]})
    frame.index = pd.DatetimeIndex(["2021-03-01"])
    frame.to_hdf(path, key="t", format="fixed")
    with tables.open_file(path, "a") as handle:
        handle.remove_node("/t/block2_values")
        block = handle.create_vlarray("/t", "block2_values", tables.ObjectAtom())
        block.append(os.system)  # pickled as a reference to os.system, not called
    [layout] = describe_file(path)
    with pytest.raises(SourceError, match=r"cannot be read safely.*table format"):
        list(iter_chunks(path, layout, chunk_rows=10))
