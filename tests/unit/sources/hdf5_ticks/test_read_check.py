"""Chunked reading and the columnar checks: every row is read once, in order, whatever the
layout, and lands either in a silver part (time-ordered per symbol) or in quarantine with the
rule it broke, carried correctly across chunk boundaries."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from marketlake.sources.hdf5_ticks import (
    CheckRules,
    KeyLayout,
    check_chunk,
    describe_file,
    iter_chunks,
    quarantined_rows,
    silver_parts,
)
from tests.unit.sources.hdf5_ticks.conftest import ticks

RULES = CheckRules(
    default_symbol="ES",
    price_min=0.01,
    price_max=1e6,
    ts_min_ns=int(pd.Timestamp("1980-01-01").value),
    ts_max_ns=int(pd.Timestamp("2100-01-01").value),
)


def run(
    path: Path, key: str, *, chunk_rows: int, rules: CheckRules = RULES
) -> tuple[pa.Table, pa.Table, list[tuple[str, int]]]:
    """Check every chunk of a key: (silver rows, quarantined rows, (symbol, year) of parts)."""
    layout = next(k for k in describe_file(path) if k.key == key)
    carry: dict[str, int] = {}
    silver, quarantine, parts = [], [], []
    for raw in iter_chunks(path, layout, chunk_rows=chunk_rows):
        checked = check_chunk(raw, layout, rules, carry)
        carry = checked.carry
        for part in silver_parts(checked, raw, layout, source="hdf5:t", ingest_id="i"):
            silver.append(part.table)
            parts.append((part.symbol, part.year))
        quarantine.append(quarantined_rows(checked, raw, layout, rules, ingest_id="i"))
    rows = pa.concat_tables(silver).combine_chunks() if silver else None
    return rows, pa.concat_tables(quarantine), parts  # type: ignore[return-value]


def write_plain(path: Path, frame: pd.DataFrame, *, compound: bool) -> None:
    ts = frame.index.as_unit("ns").asi8
    with h5py.File(path, "w") as f:
        if compound:
            records = np.zeros(
                len(frame),
                [("timestamp", "<i8"), ("price", "<f8"), ("size", "<i8"), ("symbol", "S4")],
            )
            records["timestamp"], records["price"] = ts, frame.price
            records["size"], records["symbol"] = frame.volume, frame.symbol.str.encode("ascii")
            f["t"] = records
        else:
            group = f.create_group("t")
            group["timestamp"], group["price"] = ts, frame.price.to_numpy()
            group["size"] = frame.volume.to_numpy()
            group["symbol"] = frame.symbol.str.encode("ascii").to_numpy().astype("S4")


@pytest.mark.parametrize("layout", ["table", "data_columns", "fixed", "compound", "columns"])
def test_every_row_is_read_once_in_order_in_every_layout(tmp_path: Path, layout: str) -> None:
    frame = ticks(25)
    path = tmp_path / "t.h5"
    if layout in ("compound", "columns"):
        write_plain(path, frame, compound=layout == "compound")
    else:
        options = {"format": "fixed"} if layout == "fixed" else {"format": "table", "index": False}
        frame.to_hdf(path, key="t", data_columns=layout == "data_columns" or None, **options)  # type: ignore[arg-type]
    key_layout = describe_file(path)[0]
    chunks = list(iter_chunks(path, key_layout, chunk_rows=10))
    assert [(c.number, c.start, c.stop) for c in chunks] == [(0, 0, 10), (1, 10, 20), (2, 20, 25)]
    resumed = list(iter_chunks(path, key_layout, chunk_rows=10, first_chunk=2))
    assert [(c.start, c.stop) for c in resumed] == [(20, 25)]

    silver, quarantine, parts = run(path, "t", chunk_rows=10)
    assert quarantine.num_rows == 0
    assert silver["ts_event"].cast(pa.int64()).to_pylist() == list(frame.index.asi8)
    assert silver["price"].to_pylist() == list(frame.price)
    assert silver["size"].to_pylist() == list(frame.volume.astype(float))
    assert silver["sequence"].to_pylist() == list(range(25))
    assert silver["symbol"].to_pylist() == list(frame.symbol)
    assert set(silver["source"].to_pylist()) == {"hdf5:t"}
    assert parts == [("ESH1", 2021), ("ESH1", 2021), ("ESM1", 2021), ("ESM1", 2021)]


def test_faults_are_quarantined_with_their_rule_and_the_row_as_stored(tmp_path: Path) -> None:
    frame = ticks(10, symbols=False)
    index = frame.index.to_numpy().copy()
    index[1] = np.datetime64("NaT")
    index[2] = np.datetime64("1970-01-01T00:00:01")
    index[7] = index[5] - np.timedelta64(30, "s")  # goes back in time
    frame.index = pd.DatetimeIndex(index)
    frame.loc[frame.index[3], "price"] = np.nan
    frame.iloc[4, 1] = -2  # volume
    frame.iloc[6, 0] = 0.0  # price
    frame.iloc[8, 1] = 0  # zero volume: kept, flagged
    frame.to_hdf(tmp_path / "t.h5", key="t", format="table", index=False)
    silver, quarantine, _ = run(tmp_path / "t.h5", "t", chunk_rows=4)

    rules = dict(
        zip(quarantine["source_row"].to_pylist(), quarantine["rule_id"].to_pylist(), strict=True)
    )
    assert rules == {
        1: "ts.invalid",
        2: "ts.invalid",
        3: "value.missing",
        4: "volume.negative",
        6: "price.range",
        7: "ts.unsorted",
    }
    messages = dict(
        zip(quarantine["source_row"].to_pylist(), quarantine["message"].to_pylist(), strict=True)
    )
    assert "NaT is missing or outside 1980-01-01" in messages[1]
    assert "value.missing: price is NaN" in messages[3]
    assert "volume.negative: size -2.0 < 0" in messages[4]
    assert "ts.unsorted: 2021-03-01T14:29:35 is before 2021-03-01T14:30:05" in messages[7]
    assert "latest time already seen for ES" in messages[7]
    raw = json.loads(quarantine["raw"].to_pylist()[2])
    assert raw == {"index": "2021-03-01T14:30:03", "price": None, "volume": 4}

    assert silver["sequence"].to_pylist() == [0, 5, 8, 9]
    assert silver["quality_flags"].to_pylist() == [None, None, "size.zero", None]
    assert silver["symbol"].to_pylist() == ["ES"] * 4
    ts = silver["ts_event"].cast(pa.int64()).to_pylist()
    assert ts == sorted(ts)


def test_order_is_kept_per_contract_across_chunks(tmp_path: Path) -> None:
    # Two contracts interleaved (a roll): each in time order, the file as a whole not.
    base = pd.Timestamp("2021-03-10 14:30").value
    second = 1_000_000_000
    rows = [
        ("ESH1", 0), ("ESM1", 5), ("ESH1", 1), ("ESM1", 6), ("ESH1", 2),
        ("ESM1", 7), ("ESH1", 3), ("ESM1", 4),  # ESM1 goes back: 4 < 7 (across a chunk edge)
        ("ESH1", 9), ("ESM1", 8),
    ]  # fmt: skip
    frame = pd.DataFrame(
        {
            "price": 3900.0,
            "volume": 1,
            "symbol": [s for s, _ in rows],
        },
        index=pd.DatetimeIndex([base + t * second for _, t in rows]),
    )
    frame.to_hdf(tmp_path / "t.h5", key="t", format="table", index=False)
    silver, quarantine, _ = run(tmp_path / "t.h5", "t", chunk_rows=7)
    assert quarantine["source_row"].to_pylist() == [7]
    assert quarantine["rule_id"].to_pylist() == ["ts.unsorted"]
    for symbol in ("ESH1", "ESM1"):
        ts = [
            t
            for s, t in zip(
                silver["symbol"].to_pylist(),
                silver["ts_event"].cast(pa.int64()).to_pylist(),
                strict=True,
            )
            if s == symbol
        ]
        assert ts == sorted(ts)
    assert silver.num_rows == 9


def test_contract_codes_are_normalised_and_empty_ones_quarantined(tmp_path: Path) -> None:
    frame = ticks(4, symbols=False)
    frame["symbol"] = [" esh1", "ESH1 ", "", "ESH1"]
    frame.to_hdf(tmp_path / "t.h5", key="t", format="table", index=False)
    silver, quarantine, _ = run(tmp_path / "t.h5", "t", chunk_rows=100)
    assert silver["symbol"].to_pylist() == ["ESH1"] * 3
    assert quarantine["rule_id"].to_pylist() == ["value.missing"]
    assert "contract symbol is empty" in quarantine["message"].to_pylist()[0]


def test_vendor_flags_become_conditions(tmp_path: Path) -> None:
    frame = ticks(3, symbols=False)
    frame["Sales Condition"] = ["A", "", "C"]
    frame["Exclude Record Flag"] = [0, 1, 0]
    frame.to_hdf(tmp_path / "t.h5", key="t", format="table", index=False)
    silver, _, _ = run(tmp_path / "t.h5", "t", chunk_rows=2)
    assert silver["conditions"].to_pylist() == [
        ["Sales Condition=A", "Exclude Record Flag=0"],
        ["Exclude Record Flag=1"],
        ["Sales Condition=C", "Exclude Record Flag=0"],
    ]


def test_naive_times_are_read_in_the_configured_zone(tmp_path: Path) -> None:
    frame = ticks(2, start="2021-03-01 08:30", symbols=False)  # Chicago wall time, no zone
    frame.to_hdf(tmp_path / "t.h5", key="t", format="table", index=False)
    chicago = CheckRules(**{**RULES.__dict__, "naive_timezone": "America/Chicago"})
    silver, _, _ = run(tmp_path / "t.h5", "t", chunk_rows=10, rules=chicago)
    first = silver["ts_event"].to_pylist()[0]
    assert first == pd.Timestamp("2021-03-01 14:30", tz="UTC")


def test_a_new_year_splits_the_parts(tmp_path: Path) -> None:
    frame = ticks(4, start="2020-12-31 23:59:58", symbols=False)
    frame.to_hdf(tmp_path / "t.h5", key="t", format="table", index=False)
    silver, _, parts = run(tmp_path / "t.h5", "t", chunk_rows=10)
    assert parts == [("ES", 2020), ("ES", 2021)]
    assert silver.num_rows == 4


def test_layout_without_contract_uses_the_default_symbol() -> None:
    layout = KeyLayout("t", "table", 0)
    assert layout.column("symbol") is None


@pytest.mark.parametrize("code", ["ESH", "ESH1", "ESH10", "ESH10ABC", "ESH10ABCD"])
def test_contract_codes_of_any_width(tmp_path: Path, code: str) -> None:
    frame = ticks(6, symbols=False)
    other = code[:-1] + "Z"
    frame["symbol"] = [code, code, other, code, other, other]
    frame.to_hdf(tmp_path / "t.h5", key="t", format="table", index=False)
    silver, quarantine, _ = run(tmp_path / "t.h5", "t", chunk_rows=4)
    assert quarantine.num_rows == 0
    assert silver["symbol"].to_pylist() == [code, code, code, other, other, other]
    assert silver["sequence"].to_pylist() == [0, 1, 3, 2, 4, 5]


@pytest.mark.parametrize(
    ("times", "unit"),
    [
        (np.array([b"2021-03-01T14:30:00", b"2021-03-01 14:30:01.5", b"garbage"]), None),
        (np.array([1614609000.0, 1614609001.5, np.nan]), None),
        (np.array([1614609000000, 1614609001500, -(2**63)]), "ms"),
    ],
)
def test_plain_time_encodings(tmp_path: Path, times: np.ndarray, unit: str | None) -> None:
    with h5py.File(tmp_path / "t.h5", "w") as f:
        group = f.create_group("t")
        group["timestamp"] = times
        if unit:
            group["timestamp"].attrs["unit"] = unit
        group["price"] = np.array([1.0, 2.0, 3.0])
        group["volume"] = np.array([1, 1, 1])
    silver, quarantine, _ = run(tmp_path / "t.h5", "t", chunk_rows=10)
    assert silver["ts_event"].to_pylist() == [
        pd.Timestamp("2021-03-01 14:30:00", tz="UTC"),
        pd.Timestamp("2021-03-01 14:30:01.5", tz="UTC"),
    ]
    assert quarantine["rule_id"].to_pylist() == ["ts.invalid"]
