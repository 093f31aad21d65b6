"""An in-memory LRU cache of loaded frames, bounded in bytes, with hit/miss counters.

Entries are Polars frames keyed by what was asked *and* by the fingerprint of the files read
(key, size, modification time), so a re-ingest or a compaction is never answered from stale
memory. A frame larger than the whole bound is returned but not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class CacheInfo:
    """What the loader cache holds and how well it did."""

    hits: int
    misses: int
    entries: int
    bytes: int
    max_bytes: int


class FrameCache:
    """LRU of Polars frames whose total ``estimated_size()`` never exceeds ``max_bytes``.

    Args:
        max_bytes: The bound; 0 keeps nothing.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[pl.DataFrame, int]] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> pl.DataFrame | None:
        """The cached frame (a new frame object sharing the immutable buffers), or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            # clone: the caller may rename/replace columns of its frame, never of ours.
            return found[0].clone()

    def put(self, key: Hashable, frame: pl.DataFrame) -> None:
        """Keep ``frame``, evicting the least recently used entries to stay within the bound."""
        size = int(frame.estimated_size())
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                return
            while self._entries and self._bytes + size > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
            self._entries[key] = (frame.clone(), size)
            self._bytes += size

    def resize(self, max_bytes: int) -> None:
        """Change the bound (evicting at once if it shrank)."""
        with self._lock:
            self.max_bytes = max_bytes
            while self._entries and self._bytes > max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._entries.clear()
            self._bytes = self._hits = self._misses = 0

    def info(self) -> CacheInfo:
        """Counters and size now."""
        with self._lock:
            return CacheInfo(
                hits=self._hits,
                misses=self._misses,
                entries=len(self._entries),
                bytes=self._bytes,
                max_bytes=self.max_bytes,
            )
