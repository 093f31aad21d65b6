"""Which keys of a file to ingest, and the messages naming every key found when none fits."""

from __future__ import annotations

from marketlake.errors import SourceError
from marketlake.sources.hdf5_ticks.layout import KeyLayout


def describe_keys(layouts: list[KeyLayout]) -> str:
    """``tick/trades (table, 5 rows: index datetime (ts), ...)``: every key, for messages."""
    if not layouts:
        return "no datasets at all"
    return "; ".join(
        f"{k.key} ({k.problem})"
        if k.layout == "other"
        else f"{k.key} ({k.layout}, {k.nrows:,} rows: {k.describe_columns()})"
        for k in layouts
    )


def select_keys(layouts: list[KeyLayout], keys: list[str] | None, *, path: str) -> list[KeyLayout]:
    """The keys to ingest: the ones asked for, else the only key holding trades.

    Without ``keys``, filtered views of a trades key (``tick/trades_filter0vol`` next to
    ``tick/trades``) are left out: silver keeps zero-size trades flagged, so the view is
    derivable from the unfiltered key.

    Args:
        layouts: What :func:`describe_file` found.
        keys: Keys the user named (``tick/trades`` or ``/tick/trades``), or None.
        path: The file, for messages.

    Raises:
        SourceError: a named key is absent or is not trades (naming every key and its dtypes),
            or no key was named and the file holds none or several trades keys.
    """
    by_key = {k.key: k for k in layouts}
    if keys:
        chosen = []
        for wanted in keys:
            layout = by_key.get(wanted.strip("/"))
            if layout is None:
                raise SourceError(
                    f"key {wanted} not found — found: {describe_keys(layouts)}",
                    path=path,
                    hint="pass --key with one of the keys above (`--list` shows them)",
                )
            if layout.problem:
                raise SourceError(
                    f"unknown layout of key {wanted}: {layout.problem} — found: "
                    f"{describe_keys(layouts)}",
                    path=path,
                    hint="store trades with a datetime index (or a datetime column) and "
                    "price/volume columns, e.g. with pandas df.to_hdf(path, key=..., "
                    "format='table')",
                )
            chosen.append(layout)
        return chosen
    trades = [k for k in layouts if k.is_trades]
    # "tick/trades_filter0vol" is a view of "tick/trades" (derivable from its silver rows):
    # the unfiltered key is the default; the view is ingested when asked for by --key.
    views = {v.key for v in trades for k in trades if v.key.startswith(f"{k.key}_")}
    if len(trades) - len(views) == 1:
        return [k for k in trades if k.key not in views]
    if not trades:
        raise SourceError(
            "unknown layout: no key holds trades (a time, a price and a size) — found: "
            f"{describe_keys(layouts)}",
            path=path,
            hint="store trades with pandas (df.to_hdf(path, key=..., format='table')) with a "
            "datetime index and price/volume columns, or pass --key",
        )
    raise SourceError(
        f"the file holds {len(trades)} trade keys: {', '.join(k.key for k in trades)}",
        path=path,
        hint="pick with --key (repeat it to ingest several), e.g. --key " + trades[0].key,
    )
