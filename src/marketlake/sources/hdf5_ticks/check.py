"""Check one chunk of raw tick rows, columnar: every row ends in silver or in quarantine.

Rules (ids from :mod:`marketlake.quality.rules`; the first one broken, in this order, is the
row's rule id, and its message names every rule broken):

- ``ts.invalid``: the time is missing (NaT), unparseable, or outside the plausible range;
- ``value.missing``: the price or size is NaN (or the size infinite), or the contract symbol
  is empty;
- ``price.range``: the price is infinite or outside ``(price_min, price_max)``;
- ``volume.negative``: the size is below zero;
- ``ts.unsorted``: the time is before the latest time already accepted for the same symbol
  (in file order, across chunks: the running maximum is carried from chunk to chunk), so that
  silver holds each symbol's trades in time order, as bars need them;
- ``size.zero`` (WARNING): the size is zero; the trade is kept, flagged in ``quality_flags``
  (the vendor's ``filter0vol`` view is silver without these rows).

No per-row Python: NumPy over whole columns, Polars only for the (few) quarantined rows' text.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from marketlake.sources.hdf5_ticks.layout import Column, KeyLayout
from marketlake.sources.hdf5_ticks.read import RawChunk

NAT = np.iinfo(np.int64).min  # pandas' NaT, and "nothing seen yet" for the running maximum

# Rule codes per row, in order of precedence (0 = valid).
RULE_IDS = ("", "ts.invalid", "value.missing", "price.range", "volume.negative", "ts.unsorted")
TS_INVALID, VALUE_MISSING, PRICE_RANGE, VOLUME_NEGATIVE, TS_UNSORTED = 1, 2, 3, 4, 5
ZERO_SIZE_FLAG = "size.zero"


@dataclass(frozen=True)
class CheckRules:
    """What a chunk is checked against, and what its silver rows are labelled with."""

    default_symbol: str  # when the key has no contract column
    price_min: float  # prices must be > price_min
    price_max: float  # ... and < price_max
    ts_min_ns: int  # earliest plausible time (UTC ns)
    ts_max_ns: int  # latest plausible time (UTC ns)
    naive_timezone: str = "UTC"  # the zone of times stored without one


@dataclass(frozen=True)
class Selection:
    """The valid rows of one symbol in a chunk, in time order.

    Either ``ranges`` of chunk rows (a symbol alone in its chunk: slices, no copies), or
    ``positions`` of its rows (a chunk shared by contracts, e.g. during a roll).
    """

    ranges: list[tuple[int, int]] = field(default_factory=list)  # [start, stop) chunk rows
    positions: np.ndarray | None = None


@dataclass
class CheckedChunk:
    """One chunk after the checks: valid rows per symbol, and the rejected rows with rules."""

    number: int
    start: int
    stop: int
    ts: np.ndarray  # int64 UTC ns of every row (NAT where unreadable)
    price: np.ndarray  # float64
    size: np.ndarray  # float64
    symbols: list[str]  # symbol of each code ("" for an empty contract)
    codes: np.ndarray | None  # symbol code per row; None: every row has symbols[0]
    bad: np.ndarray  # chunk positions of rejected rows, ascending
    bad_rule: np.ndarray  # rule code of each rejected row (index into RULE_IDS)
    bad_before: np.ndarray  # ts.unsorted rows: the latest accepted time before them, else NAT
    good: dict[str, Selection] = field(default_factory=dict)
    carry: dict[str, int] = field(default_factory=dict)  # latest accepted time per symbol, after

    @property
    def rows_in(self) -> int:
        """Rows in the chunk."""
        return self.stop - self.start

    @property
    def rows_out(self) -> int:
        """Rows that go to silver."""
        return self.rows_in - int(self.bad.size)


def to_utc_ns(values: np.ndarray, column: Column, naive_timezone: str) -> np.ndarray:
    """Stored times as int64 UTC nanoseconds; NAT where missing or unreadable.

    Args:
        values: The stored values (integers in the column's unit, float epoch times, or text).
        column: The time column (its unit and encoding).
        naive_timezone: The zone of times stored without one (pandas aware times are UTC).
    """
    unit = column.ns_per_unit or 1
    aware = column.tz_aware
    if column.time_encoding == "iso":
        text = pl.Series(values.astype("U") if values.dtype.kind == "S" else values.astype(str))
        parsed = text.str.strip_chars().str.to_datetime(time_unit="ns", strict=False)
        # Text with an offset ("...+01:00") parses as an aware time: its physical value is UTC.
        aware = aware or getattr(parsed.dtype, "time_zone", None) is not None
        ns = parsed.to_physical().fill_null(NAT).to_numpy()
    elif column.time_encoding == "float":
        finite = np.isfinite(values) & (np.abs(values) < 9.2e18 / unit)
        ns = np.where(finite, np.round(values * unit), 0).astype(np.int64)
        ns[~finite] = NAT
    else:
        ns = np.ascontiguousarray(values, dtype=np.int64)
        if unit != 1:
            ok = (ns != NAT) & (np.abs(ns) < np.iinfo(np.int64).max // unit)
            ns = np.where(ok, ns * unit, NAT)
    if aware or naive_timezone == "UTC":
        return ns
    # Wall-clock times of a zone: the repeated hour when clocks go back is ambiguous; the
    # earlier reading is taken, so trades of its second pass arrive "unsorted" (quarantined).
    utc = pl.DataFrame({"ns": ns}).select(
        pl.when(pl.col("ns") != NAT)
        .then(pl.col("ns"))
        .cast(pl.Datetime("ns"))
        .dt.replace_time_zone(naive_timezone, ambiguous="earliest", non_existent="null")
        .to_physical()
        .fill_null(NAT)
    )
    return utc.to_series().to_numpy()


class _Words:
    """Exposes another dtype's view of an array's memory (``__array_interface__``)."""

    def __init__(self, values: np.ndarray, offset: int, dtype: np.dtype[np.generic]) -> None:
        interface = dict(values.__array_interface__)
        pointer, readonly = interface["data"]
        interface.update(
            data=(pointer + offset, readonly),
            typestr=dtype.str,
            descr=[("", dtype.str)],
            shape=(values.shape[0],),
            strides=(values.strides[0],),
        )
        self.__array_interface__ = interface
        self.base = values  # keeps the memory alive as long as the view


def _run_keys(values: np.ndarray) -> list[np.ndarray]:
    """Arrays that together compare like the symbols: integer words over each code's bytes.

    Fixed-width byte strings are compared as 8/4/2/1-byte words read in place (also from a
    strided view into the read buffer): no copy, no string comparison.
    """
    if values.dtype.kind != "S" or values.dtype.itemsize == 0:
        return [values]
    width, offset, words = values.dtype.itemsize, 0, []
    while offset < width:
        size = next(w for w in (8, 4, 2, 1) if w <= width - offset)
        words.append(np.asarray(_Words(values, offset, np.dtype(f"<u{size}"))))
        offset += size
    return words


def _symbol_codes(values: np.ndarray) -> tuple[list[str], np.ndarray | None]:
    """Normalised symbols (stripped, upper-cased) and a code per row (None: one symbol)."""
    n = values.shape[0]
    if values.dtype.kind == "O":
        values = values.astype("U")
    if n == 0:
        return [], None
    # Contracts come in long runs (a roll interleaves two): compare neighbours, then take the
    # unique values of the run starts only.
    change = np.zeros(n, bool)
    change[0] = True
    for word in _run_keys(values):
        change[1:] |= word[1:] != word[:-1]
    starts = np.flatnonzero(change)
    _, first, inverse = np.unique(values[starts], return_index=True, return_inverse=True)
    names: list[str] = []
    merged: dict[str, int] = {}
    remap = np.empty(first.size, np.int32)
    for i, row in enumerate(starts[first]):
        raw = values[row]
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        name = text.strip().upper()
        if name not in merged:
            merged[name] = len(names)
            names.append(name)
        remap[i] = merged[name]
    if len(names) == 1:
        return names, None
    lengths = np.diff(np.append(starts, n))
    return names, np.repeat(remap[inverse], lengths).astype(np.int32, copy=False)


def _first_rules(
    ts: np.ndarray, price: np.ndarray, size: np.ndarray, empty: np.ndarray, rules: CheckRules
) -> np.ndarray:
    """The first rule each (already rejected) row breaks, in the order of RULE_IDS."""
    with np.errstate(invalid="ignore"):
        invalid = (ts < rules.ts_min_ns) | (ts > rules.ts_max_ns)
        missing = np.isnan(price) | ~np.isfinite(size) | empty
        off_range = ~((price > rules.price_min) & (price < rules.price_max))
        return np.select(
            [invalid, missing, off_range, size < 0],
            [TS_INVALID, VALUE_MISSING, PRICE_RANGE, VOLUME_NEGATIVE],
            0,
        ).astype(np.uint8)


def check_chunk(
    raw: RawChunk, layout: KeyLayout, rules: CheckRules, carry: dict[str, int]
) -> CheckedChunk:
    """Apply the rules to one chunk, carrying each symbol's latest accepted time.

    Args:
        raw: The chunk as read.
        layout: The key's layout (which column is time, price, size, symbol).
        rules: Thresholds and labels.
        carry: Latest accepted time per symbol before this chunk (not modified).

    Returns:
        The checked chunk: valid rows per symbol (time-ordered in file order), rejected rows
        with their rule, and the carry after this chunk.
    """
    ts_col, price_col, size_col = layout.required()
    n = raw.rows
    ts = to_utc_ns(raw.columns[ts_col.name], ts_col, rules.naive_timezone)
    # Contiguous float64 copies: the columns may be strided views into the read buffer.
    price = np.ascontiguousarray(raw.columns[price_col.name], dtype=np.float64)
    size = np.ascontiguousarray(raw.columns[size_col.name], dtype=np.float64)
    symbol_col = layout.column("symbol")
    symbols, codes = [rules.default_symbol], None
    if symbol_col is not None and n:
        symbols, codes = _symbol_codes(raw.columns[symbol_col.name])

    # One pass of cheap comparisons finds every row breaking a row rule (NaN fails them all);
    # the rule of each is worked out on those rows only.
    with np.errstate(invalid="ignore"):
        broken = (ts < rules.ts_min_ns) | (ts > rules.ts_max_ns)
        broken |= ~((price > rules.price_min) & (price < rules.price_max))
        broken |= ~(size >= 0) | np.isinf(size)
    empty_code = symbols.index("") if "" in symbols else -1
    if empty_code >= 0:
        broken |= (codes == empty_code) if codes is not None else True
    bad = np.flatnonzero(broken)
    empty = (
        np.zeros(bad.size, bool)
        if empty_code < 0
        else (codes[bad] == empty_code if codes is not None else np.ones(bad.size, bool))
    )
    bad_rule = _first_rules(ts[bad], price[bad], size[bad], empty, rules)

    checked = CheckedChunk(
        raw.number,
        raw.start,
        raw.stop,
        ts,
        price,
        size,
        symbols,
        codes,
        bad,
        bad_rule,
        np.full(bad.size, NAT, np.int64),
        carry=dict(carry),
    )
    accepted = ts
    if bad.size:
        accepted = ts.copy()
        accepted[bad] = NAT  # rejected rows do not move the running maximum
    unsorted_rows, unsorted_before = [], []
    for code, symbol in enumerate(symbols):
        if code == empty_code:
            continue
        rows = None if codes is None else np.flatnonzero(codes == code)
        found, before = _order_symbol(checked, symbol, rows, accepted)
        unsorted_rows.append(found)
        unsorted_before.append(before)
    moved = np.concatenate(unsorted_rows) if unsorted_rows else np.zeros(0, np.int64)
    if moved.size:
        order = np.argsort(np.concatenate([checked.bad, moved]), kind="stable")
        checked.bad = np.concatenate([checked.bad, moved])[order]
        checked.bad_rule = np.concatenate(
            [checked.bad_rule, np.full(moved.size, TS_UNSORTED, np.uint8)]
        )[order]
        checked.bad_before = np.concatenate([checked.bad_before, *unsorted_before])[order]
    return checked


def _order_symbol(
    checked: CheckedChunk, symbol: str, rows: np.ndarray | None, accepted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Find a symbol's rows going back in time; record its valid rows and carry.

    Returns:
        Chunk positions of the rows going back in time, and the time each went back from.
    """
    ts = accepted if rows is None else accepted[rows]
    none = np.zeros(0, np.int64)
    if ts.size == 0:
        return none, none
    # Running maximum of accepted times (rejected rows are NAT), starting from the carry;
    # a row is unsorted when it is below the maximum of the rows before it.
    running = np.maximum.accumulate(ts)
    np.maximum(running, checked.carry.get(symbol, NAT), out=running)
    back = np.flatnonzero(ts[1:] < running[:-1]) + 1
    if ts[0] < checked.carry.get(symbol, NAT) and ts[0] != NAT:
        back = np.concatenate([[0], back])
    back = back[ts[back] != NAT]  # already rejected for another rule
    before = np.where(back > 0, running[np.maximum(back - 1, 0)], checked.carry.get(symbol, NAT))
    if running[-1] != NAT:
        checked.carry[symbol] = int(running[-1])
    positions = back if rows is None else rows[back]
    keep = np.ones(ts.size, bool)
    keep[back] = False
    keep &= ts != NAT
    if rows is None:
        # One symbol in the chunk: valid rows are the ranges between rejected rows.
        cuts = np.flatnonzero(~keep)
        edges = np.concatenate([[-1], cuts, [ts.size]])
        checked.good[symbol] = Selection(
            ranges=[(int(a) + 1, int(b)) for a, b in itertools.pairwise(edges) if b > a + 1]
        )
    else:
        checked.good[symbol] = Selection(positions=rows[keep])
    return positions, before
