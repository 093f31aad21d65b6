"""Layout detection: every storage layout is recognised, columns get their roles, and a file
that holds no trades is explained by naming what it does hold."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from marketlake.errors import SourceError
from marketlake.sources.hdf5_ticks import KeyLayout, describe_file, select_keys
from tests.unit.sources.hdf5_ticks.conftest import ticks


def roles(layout: KeyLayout) -> dict[str, str]:
    return {c.name: c.role for c in layout.columns if c.role}


@pytest.mark.parametrize(
    ("options", "layout"),
    [
        ({"format": "table", "index": False}, "table"),
        ({"format": "table", "index": False, "data_columns": True}, "table+data_columns"),
        ({"format": "fixed"}, "fixed"),
    ],
)
def test_pandas_layouts_are_recognised_with_roles(
    tmp_path: Path, frame: pd.DataFrame, options: dict[str, object], layout: str
) -> None:
    path = tmp_path / "ES.h5"
    frame.to_hdf(path, key="tick/trades", **options)  # type: ignore[arg-type]
    [found] = describe_file(path)
    assert (found.key, found.layout, found.nrows) == ("tick/trades", layout, 12)
    assert found.is_trades
    assert roles(found) == {"index": "ts", "price": "price", "volume": "size", "symbol": "symbol"}
    assert found.column("ts").ns_per_unit == 1  # type: ignore[union-attr]


def test_a_datetime_column_and_vendor_flags(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame = frame.rename_axis("DateTime").reset_index()
    frame["Sales Condition"] = "A"
    frame.to_hdf(tmp_path / "x.h5", key="trades", format="table", index=False)
    [found] = describe_file(tmp_path / "x.h5")
    assert roles(found) == {
        "DateTime": "ts",
        "price": "price",
        "volume": "size",
        "symbol": "symbol",
        "Sales Condition": "flag",
    }


def test_microsecond_and_zoned_times_are_read_as_stored(tmp_path: Path) -> None:
    frame = ticks(4, symbols=False)
    frame.index = frame.index.as_unit("us").tz_localize("America/Chicago")
    frame.to_hdf(tmp_path / "x.h5", key="t", format="table", index=False)
    ts = describe_file(tmp_path / "x.h5")[0].column("ts")
    assert ts is not None
    assert (ts.ns_per_unit, ts.tz_aware) == (1_000, True)


def test_plain_h5py_compound_and_column_groups(tmp_path: Path) -> None:
    path = tmp_path / "plain.h5"
    records = np.zeros(3, dtype=[("timestamp", "<i8"), ("Price", "<f8"), ("Size", "<i4")])
    records["timestamp"] = [1_600_000_000_000_000_000 + i for i in range(3)]
    with h5py.File(path, "w") as f:
        f["trades"] = records
        group = f.create_group("columns")
        group["time"] = np.array([1_600_000_000.5, 1_600_000_001.0])  # float epoch seconds
        group["px"] = np.array([1.0, 2.0])
        group["qty"] = np.array([1, 2])
    found = {k.key: k for k in describe_file(path)}
    compound, columns = found["trades"], found["columns"]
    assert (compound.layout, compound.is_trades) == ("compound", True)
    assert compound.column("ts").ns_per_unit == 1  # type: ignore[union-attr]
    assert (columns.key, columns.layout, columns.is_trades) == ("columns", "columns", True)
    ts = columns.column("ts")
    assert ts is not None
    assert (ts.time_encoding, ts.ns_per_unit) == ("float", 1_000_000_000)


def test_unknown_layout_names_keys_and_dtypes(tmp_path: Path) -> None:
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        f["matrix"] = np.zeros((4, 3))
        group = f.create_group("quotes")
        group["when"] = np.arange(4)
        group["bid"] = np.ones(4)
    with pytest.raises(SourceError) as caught:
        select_keys(describe_file(path), None, path=str(path))
    text = str(caught.value)
    assert "unknown layout" in text
    assert "matrix" in text
    assert "4x3 float64" in text
    assert "quotes (columns, 4 rows: bid <f8, when <i8)" in text
    assert "path=" in text


def test_a_key_that_is_not_trades_says_what_is_missing(tmp_path: Path) -> None:
    pd.DataFrame({"bid": [1.0], "ask": [2.0]}).to_hdf(tmp_path / "q.h5", key="q", format="table")
    with pytest.raises(
        SourceError, match=r"key q: lacks a time .*, a price column .*, a size column"
    ):
        select_keys(describe_file(tmp_path / "q.h5"), ["q"], path="q.h5")
    with pytest.raises(SourceError, match="key nope not found"):
        select_keys(describe_file(tmp_path / "q.h5"), ["nope"], path="q.h5")


def test_the_unfiltered_key_is_the_default_and_views_are_listed(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    path = tmp_path / "ES.h5"
    frame.to_hdf(path, key="tick/trades", format="table")
    frame[frame.volume > 1].to_hdf(path, key="tick/trades_filter0vol", format="table")
    found = describe_file(path)
    assert [k.key for k in select_keys(found, None, path=str(path))] == ["tick/trades"]
    both = select_keys(found, ["tick/trades", "/tick/trades_filter0vol"], path=str(path))
    assert [k.key for k in both] == ["tick/trades", "tick/trades_filter0vol"]

    frame.to_hdf(path, key="other/trades", format="table")
    with pytest.raises(
        SourceError, match="holds 3 trade keys: other/trades, tick/trades, tick/trades_filter0vol"
    ):
        select_keys(describe_file(path), None, path=str(path))


def test_not_an_hdf5_file(tmp_path: Path) -> None:
    (tmp_path / "ES.h5").write_text("Date,Price\n")
    with pytest.raises(SourceError, match="not a readable HDF5 file"):
        describe_file(tmp_path / "ES.h5")
