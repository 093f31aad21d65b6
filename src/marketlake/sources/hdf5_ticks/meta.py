"""pandas' own metadata in HDF5 attributes, read without running code from the file.

pandas stores column names, index descriptions and time zones as *pickles* in HDF5 attributes
(``values_block_0_kind = b"(lp0\\nVprice\\np1\\na."``). Unpickling a file someone sent you runs
whatever code the pickle names, so these are read with an unpickler that resolves no global at
all: a global becomes an inert :class:`Opaque` placeholder. Lists, dicts and strings come back
as they are, which is all the layout detection needs (names, and *whether* a time zone is set:
pandas stores aware timestamps as UTC, so the zone itself does not matter).
"""

from __future__ import annotations

import io
import pickle
import re
from typing import Any

import numpy as np

# pandas writes datetime kinds as "datetime64" (nanoseconds, older pandas) or "datetime64[us]".
_DATETIME_KIND = re.compile(r"^datetime64(?:\[(?P<unit>[a-z]+)(?:,\s*(?P<tz>.+))?\])?$")
NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


class Opaque:
    """Stands in for any global a pickle names (a class, a function): never imported or run."""

    def __init__(self, module: str, name: str, args: tuple[Any, ...] = ()) -> None:
        self.module, self.name, self.args = module, name, args
        self.state: Any = None

    def __call__(self, *args: Any) -> Opaque:
        return Opaque(self.module, self.name, args)

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"Opaque({self.module}.{self.name})"


class _InertUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return Opaque(module, name)


def text(value: Any) -> str:
    """An HDF5 attribute (bytes, numpy bytes or str) as text."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def load_pickled(value: Any) -> Any:
    """Unpickle a pandas metadata attribute without resolving globals; None if it is no pickle."""
    raw = value.item() if isinstance(value, np.ndarray) and value.shape == () else value
    if isinstance(raw, str):
        raw = raw.encode("latin-1", errors="replace")
    if not isinstance(raw, bytes | np.bytes_):
        return None
    try:
        return _InertUnpickler(io.BytesIO(bytes(raw))).load()
    except Exception:  # not a pickle, or a truncated one: the caller treats it as absent
        return None


def datetime_unit(kind: str) -> tuple[int, bool] | None:
    """Nanoseconds per stored unit and whether a zone is named, for a pandas datetime kind.

    Args:
        kind: ``"datetime64"``, ``"datetime64[us]"``, ``"datetime64[ns, UTC]"``...

    Returns:
        ``(ns_per_unit, has_tz)``, or None when ``kind`` is not a datetime kind.
    """
    match = _DATETIME_KIND.match(kind.strip())
    if match is None:
        return None
    unit = match.group("unit") or "ns"
    if unit not in NS_PER_UNIT:
        return None
    return NS_PER_UNIT[unit], bool(match.group("tz"))


def names_of(value: Any) -> list[str] | None:
    """A pickled list of column names (``*_kind`` attributes), or None."""
    names = load_pickled(value)
    if isinstance(names, list) and all(isinstance(n, str | int) for n in names):
        return [str(n) for n in names]
    return None


def tz_is_set(info: Any, cname: str) -> bool:
    """Whether pandas' pickled ``info`` attribute gives column ``cname`` a time zone."""
    if not isinstance(info, dict):
        return False
    entry = info.get(cname)
    return isinstance(entry, dict) and entry.get("tz") is not None


def fixed_object_column(value: Any) -> np.ndarray:
    """Unpickle a pandas ``fixed``-format object block (a pickled NumPy object array).

    Only NumPy's own reconstruction functions are resolved; anything else in the pickle stays
    inert, so the file cannot run code.

    Raises:
        ValueError: the block is not a pickled NumPy array.
    """
    raw = bytes(np.asarray(value, dtype=np.uint8))
    loaded = _NumpyOnlyUnpickler(io.BytesIO(raw)).load()
    if not isinstance(loaded, np.ndarray):
        raise ValueError("object block is not a NumPy array")
    return loaded


_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the file")
