"""Gold marts read from their Parquet exports, kept in memory until the file changes.

Shared by the HTTP API and the dashboard (through :mod:`marketlake.serve.queries`); neither
ever opens the warehouse file, so both keep serving while a ``marketlake build`` holds its lock.
"""

from __future__ import annotations

import io
import os
import threading
from typing import Any

import polars as pl

from marketlake.config import Settings
from marketlake.lake.store import Lake


class MartMissingError(LookupError):
    """A gold mart has not been exported yet (no ``marketlake build`` so far)."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.model = model


class GoldCache:
    """Parsed gold marts keyed by the file's modification time (or ETag) and size.

    ``export_marts`` replaces a mart atomically, so a rebuilt export shows a new (mtime, size)
    and is read again on the next request; an unchanged one costs one ``stat``.

    Args:
        settings: Where gold lives (``warehouse.gold_uri``) and how to reach it.
    """

    def __init__(self, settings: Settings) -> None:
        self.lake = Lake(settings.gold_uri, settings.storage_options())
        self._frames: dict[str, tuple[tuple[Any, int], pl.DataFrame]] = {}
        self._lock = threading.Lock()

    def _stamp(self, key: str) -> tuple[Any, int] | None:
        try:
            if self.lake.is_local:
                st = os.stat(self.lake.full(key))
                return (st.st_mtime_ns, st.st_size)
            info = self.lake.fs.info(self.lake.full(key))
        except FileNotFoundError:
            return None
        # The ETag changes with the content even within LastModified's one-second resolution.
        version = info.get("ETag") or info.get("LastModified") or info.get("mtime")
        return (version, int(info.get("size", 0)))

    def mart(self, model: str) -> pl.DataFrame:
        """The whole mart ``model`` (e.g. ``dim_symbol``) as a Polars frame.

        Raises:
            MartMissingError: gold has no export of this mart yet.
        """
        key = f"{model}.parquet"
        stamp = self._stamp(key)
        if stamp is None:
            raise MartMissingError(model)
        with self._lock:
            held = self._frames.get(model)
            if held is not None and held[0] == stamp:
                return held[1]
        try:
            frame = pl.read_parquet(io.BytesIO(self.lake.read_bytes(key)))
        except FileNotFoundError as exc:  # replaced between stat and read: next request retries
            raise MartMissingError(model) from exc
        with self._lock:
            self._frames[model] = (stamp, frame)
        return frame

    def version(self, model: str) -> tuple[Any, int] | None:
        """What identifies the current export of ``model`` (None: not exported yet).

        It changes whenever a build replaces the file, so callers can key caches on it.
        """
        return self._stamp(f"{model}.parquet")

    def has(self, model: str) -> bool:
        """Whether gold holds an export of ``model``."""
        return self._stamp(f"{model}.parquet") is not None
