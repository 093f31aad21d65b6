"""Detect how an HDF5 file stores its ticks: which keys, which layout, which columns mean what.

Layouts understood (inspect real files, never assume):

- ``table``: pandas ``HDFStore`` table format (PyTables). One compound dataset
  ``/<key>/table`` with a field ``index`` and either ``values_block_N`` fields (N columns of one
  dtype each, named by the pickled ``values_block_N_kind`` attribute) or, for ``data_columns``,
  one field per column named after it.
- ``fixed``: pandas fixed format. ``/<key>/axis1`` is the index, ``blockN_values`` (rows x
  columns) hold the columns named in ``blockN_items``; strings are one pickled object array.
- ``compound``: a plain h5py compound dataset with named fields.
- ``columns``: a plain group of equally long 1-D datasets, one per column.

A key's columns get *roles* by name (case and punctuation ignored): time, price, size, symbol;
every other column is a vendor flag.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

from marketlake.errors import SourceError
from marketlake.sources.hdf5_ticks.meta import (
    NS_PER_UNIT,
    datetime_unit,
    load_pickled,
    names_of,
    text,
    tz_is_set,
)

log = logging.getLogger(__name__)

Role = Literal["ts", "price", "size", "symbol", "flag"]
LayoutKind = Literal["table", "table+data_columns", "fixed", "compound", "columns", "other"]
TimeEncoding = Literal["int", "float", "iso"]

TS_NAMES = ("datetime", "timestamp", "time", "ts", "tsevent", "datetimeutc", "dt", "date")
PRICE_NAMES = ("price", "px", "tradeprice", "last", "lastprice")
SIZE_NAMES = ("volume", "size", "qty", "quantity", "vol", "tradesize")
SYMBOL_NAMES = ("symbol", "contract", "ticker", "instrument", "sym")


@dataclass(frozen=True)
class Column:
    """One column of a key, and where its values are stored."""

    name: str  # as the file names it; "index" for a pandas index
    dtype: str  # the stored NumPy dtype ("<i8", "|S5", "object")
    dataset: str  # HDF5 path of the dataset holding it
    field: str | None = None  # compound field ("values_block_0", "price"), None if plain
    position: int | None = None  # column inside a 2-D field or block, None if 1-D
    ns_per_unit: int | None = None  # time columns: nanoseconds per stored unit
    time_encoding: TimeEncoding | None = None  # time columns: how the time is written
    tz_aware: bool = False  # pandas wrote it with a zone: the stored values are UTC
    role: Role | None = None


@dataclass(frozen=True)
class KeyLayout:
    """One key of the file: its layout, size and columns (with roles when it holds trades)."""

    key: str  # "tick/trades"
    layout: LayoutKind
    nrows: int
    columns: tuple[Column, ...] = ()
    problem: str | None = None  # why it cannot be read as trades; None when it can
    notes: tuple[str, ...] = field(default=())

    def column(self, role: Role) -> Column | None:
        """The column with ``role`` (the first, for ``flag``), or None."""
        return next((c for c in self.columns if c.role == role), None)

    def required(self) -> tuple[Column, Column, Column]:
        """The time, price and size columns.

        Raises:
            SourceError: the key does not hold trades (its ``problem`` says why).
        """
        ts, price, size = self.column("ts"), self.column("price"), self.column("size")
        if ts is None or price is None or size is None:
            raise SourceError(
                f"key {self.key} does not hold trades: {self.problem}",
                key=self.key,
                hint=f"its columns: {self.describe_columns()}",
            )
        return ts, price, size

    @property
    def flags(self) -> list[Column]:
        """Vendor flag columns: every column that is not time, price, size or symbol."""
        return [c for c in self.columns if c.role == "flag"]

    @property
    def is_trades(self) -> bool:
        """Whether the key can be ingested as trades."""
        return self.problem is None

    def describe_columns(self) -> str:
        """``index datetime64 (ts), price <f8 (price), volume <i8 (size)``: for messages."""
        parts = []
        for c in self.columns:
            kind = "datetime" if c.time_encoding and c.ns_per_unit else c.dtype
            parts.append(f"{c.name} {kind}" + (f" ({c.role})" if c.role else ""))
        return ", ".join(parts) or "no columns"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _is_index(column: Column) -> bool:
    """Whether the column is a pandas index (table field ``index`` or fixed ``axis1``)."""
    return column.field == "index" or column.dataset.endswith("/axis1")


def _assign_roles(layout: KeyLayout) -> KeyLayout:
    """Give columns their roles by name; set ``problem`` when time, price or size is missing."""
    if layout.problem is not None:
        return layout
    columns = list(layout.columns)
    taken: dict[Role, int] = {}

    def pick(role: Role, names: tuple[str, ...], ok: Any) -> None:
        for wanted in names:
            for i, c in enumerate(columns):
                if i not in taken.values() and _norm(c.name) == wanted and ok(c):
                    taken[role] = i
                    return

    # A datetime index is the time; else a time-named column that holds times.
    index = next((i for i, c in enumerate(columns) if _is_index(c) and c.time_encoding), None)
    if index is not None:
        taken["ts"] = index
    else:
        pick("ts", TS_NAMES, lambda c: c.time_encoding is not None)
    numeric = lambda c: np.dtype(c.dtype).kind in "iuf"  # noqa: E731
    pick("price", PRICE_NAMES, numeric)
    pick("size", SIZE_NAMES, numeric)
    pick("symbol", SYMBOL_NAMES, lambda c: np.dtype(c.dtype).kind in "SUO")
    for role, i in taken.items():
        columns[i] = replace(columns[i], role=role)
    missing = [
        what
        for role, what in (
            ("ts", "a time (a datetime index, or a column named datetime/timestamp/time)"),
            ("price", "a price column (price/px/last)"),
            ("size", "a size column (volume/size/qty)"),
        )
        if role not in taken
    ]
    for i, c in enumerate(columns):
        # A non-time pandas index (a RangeIndex after reset_index) carries no information.
        if not missing and i not in taken.values() and not _is_index(c):
            columns[i] = replace(c, role="flag")
    problem = "lacks " + ", ".join(missing) if missing else None
    return replace(layout, columns=tuple(columns), problem=problem)


def _time_column(column: Column, kind: str, tz_aware: bool = False) -> Column:
    unit = datetime_unit(kind)
    if unit is None:
        return column
    ns_per_unit, named_tz = unit
    return replace(
        column,
        ns_per_unit=ns_per_unit,
        time_encoding="int",
        tz_aware=tz_aware or named_tz,
    )


def _read_table(key: str, group: h5py.Group) -> KeyLayout:
    table = group["table"]
    attrs, info = table.attrs, load_pickled(group.attrs.get("info"))
    fields = table.dtype.names or ()
    columns: list[Column] = []
    has_data_columns = False
    for name in fields:
        sub = table.dtype.fields[name][0]
        base, shape = (sub.base, sub.shape) if sub.shape else (sub, ())
        if name == "index":
            col = Column("index", base.str, table.name, field="index")
            columns.append(
                _time_column(col, text(attrs.get("index_kind", "")), tz_is_set(info, "index"))
            )
            continue
        names = names_of(attrs.get(f"{name}_kind")) or ([name] if not shape else None)
        if names is None or (shape and len(names) != shape[0]):
            return KeyLayout(key, "table", int(table.shape[0]), problem=f"unreadable field {name}")
        has_data_columns |= not name.startswith("values_block_")
        for j, col_name in enumerate(names):
            col = Column(col_name, base.str, table.name, field=name, position=j if shape else None)
            kind = text(attrs.get(f"{name}_dtype", ""))
            columns.append(_time_column(col, kind, tz_is_set(info, name)))
    layout: LayoutKind = "table+data_columns" if has_data_columns else "table"
    return KeyLayout(key, layout, int(table.shape[0]), tuple(columns))


def _read_fixed(key: str, group: h5py.Group) -> KeyLayout:
    index = group["axis1"]
    nrows = int(index.shape[0])
    col = Column("index", index.dtype.str, index.name)
    columns = [_time_column(col, text(index.attrs.get("kind", "")), "tz" in index.attrs)]
    for b in range(int(np.asarray(group.attrs.get("nblocks", 0)))):
        values = group[f"block{b}_values"]
        names = [text(n) for n in group[f"block{b}_items"][()]]
        is_object = text(values.attrs.get("CLASS", "")) == "VLARRAY"
        for j, name in enumerate(names):
            dtype = "object" if is_object else values.dtype.str
            col = Column(name, dtype, values.name, position=j)
            kind = text(values.attrs.get("value_type", ""))
            columns.append(_time_column(col, kind, "tz" in values.attrs))
    return KeyLayout(key, "fixed", nrows, tuple(columns))


def _plain_time(column: Column, dataset: h5py.Dataset, first: Any) -> Column:
    """Time encoding of a plain dataset column: an ``unit`` attribute, else the value's size."""
    kind = np.dtype(column.dtype).kind
    if kind in "SUO":
        return replace(column, time_encoding="iso", ns_per_unit=1)
    if kind not in "iuf":
        return column
    unit = text(dataset.attrs.get("unit", dataset.attrs.get("units", ""))).strip().lower()
    unit = {"seconds": "s", "milliseconds": "ms", "microseconds": "us", "nanoseconds": "ns"}.get(
        unit.split(" ")[0], unit
    )
    if unit not in NS_PER_UNIT:
        # Epoch times of this era: ~1e9 s, ~1e12 ms, ~1e15 us, ~1e18 ns.
        magnitude = abs(float(first)) if np.isfinite(first) else 0.0
        unit = "ns" if magnitude > 1e17 else "us" if magnitude > 1e14 else "ms"
        unit = unit if magnitude > 1e11 else "s"
    encoding: TimeEncoding = "float" if kind == "f" else "int"
    return replace(column, ns_per_unit=NS_PER_UNIT[unit], time_encoding=encoding)


def _read_compound(key: str, dataset: h5py.Dataset) -> KeyLayout:
    nrows = int(dataset.shape[0])
    first = dataset[0] if nrows else None
    columns = []
    for name in dataset.dtype.names or ():
        sub = dataset.dtype.fields[name][0]
        if sub.shape:
            return KeyLayout(key, "compound", nrows, problem=f"field {name} is not one value")
        col = Column(name, sub.str, dataset.name, field=name)
        if _norm(name) in TS_NAMES and first is not None:
            col = _plain_time(col, dataset, first[name])
        columns.append(col)
    return KeyLayout(key, "compound", nrows, tuple(columns))


def _read_columns(key: str, group: h5py.Group, members: list[h5py.Dataset]) -> KeyLayout:
    nrows = int(members[0].shape[0])
    columns = []
    for ds in members:
        name = ds.name.rsplit("/", 1)[-1]
        col = Column(name, ds.dtype.str, ds.name)
        if _norm(name) in TS_NAMES and nrows:
            col = _plain_time(col, ds, ds[0])
        columns.append(col)
    return KeyLayout(key, "columns", nrows, tuple(columns))


def _walk(group: h5py.Group, found: list[KeyLayout]) -> None:
    for name, node in group.items():
        key = node.name.lstrip("/")
        if isinstance(node, h5py.Group):
            pandas_type = text(node.attrs.get("pandas_type", ""))
            if pandas_type == "frame_table" and "table" in node:
                found.append(_read_table(key, node))
            elif pandas_type == "frame" and "axis1" in node:
                found.append(_read_fixed(key, node))
            elif pandas_type:
                found.append(
                    KeyLayout(key, "other", 0, problem=f"a pandas {pandas_type}, not a DataFrame")
                )
            else:
                members = [
                    v
                    for v in node.values()
                    if isinstance(v, h5py.Dataset) and v.ndim == 1 and v.dtype.names is None
                ]
                lengths = {m.shape[0] for m in members}
                if len(members) >= 2 and len(lengths) == 1:
                    found.append(_read_columns(key, node, members))
                _walk(node, found)
        elif isinstance(node, h5py.Dataset):
            if node.dtype.names and node.ndim == 1:
                found.append(_read_compound(key, node))
            elif node.ndim != 1 or node.parent.name == "/":
                shape = "x".join(str(s) for s in node.shape)
                found.append(
                    KeyLayout(
                        key,
                        "other",
                        int(node.shape[0]) if node.ndim else 1,
                        (Column(name, node.dtype.str, node.name),),
                        problem=f"a {shape} {node.dtype} array without column names",
                    )
                )


def describe_file(path: Path | str) -> list[KeyLayout]:
    """Every key of an HDF5 file, with its layout, row count, columns and roles.

    Args:
        path: The HDF5 file.

    Returns:
        One entry per key (pandas keys, compound datasets, groups of column datasets), in file
        order; keys that cannot be read as trades carry a ``problem``.

    Raises:
        SourceError: the file is missing or not HDF5.
    """
    try:
        with h5py.File(path, "r") as handle:
            found: list[KeyLayout] = []
            _walk(handle, found)
    except FileNotFoundError as exc:
        raise SourceError("no such file", path=str(path), hint="check the path") from exc
    except OSError as exc:
        raise SourceError(
            f"not a readable HDF5 file ({exc})",
            path=str(path),
            hint="is it an .h5/.hdf5 file, and completely copied? `h5ls -r FILE` shows its keys",
        ) from exc
    return [_assign_roles(layout) for layout in found]
