"""marketlake: raw financial market data in, analysis-ready data out."""

__version__ = "0.1.0"

import logging
from typing import Any

# Library code logs; only the CLI (or the embedding application) decides where logs go.
logging.getLogger(__name__).addHandler(logging.NullHandler())

# The loader API, imported on first use so `import marketlake` (and the CLI) stays light.
_LOADER = (
    "read_bars",
    "read_trades",
    "read_quotes",
    "scan_bars",
    "scan_trades",
    "scan_quotes",
    "cache_info",
    "cache_clear",
)
__all__ = [
    "__version__",
    "cache_clear",
    "cache_info",
    "read_bars",
    "read_quotes",
    "read_trades",
    "scan_bars",
    "scan_quotes",
    "scan_trades",
]


def __getattr__(name: str) -> Any:
    if name in _LOADER:
        from marketlake.serve import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'marketlake' has no attribute {name!r}")
