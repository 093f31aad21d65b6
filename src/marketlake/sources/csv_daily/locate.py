"""Find the CSV files a user pointed at: files, folders (every ``*.csv`` inside) and globs."""

from __future__ import annotations

import glob
import re
from pathlib import Path

from marketlake.errors import SourceError

SYMBOL_RE = re.compile(r"^\^?[A-Z0-9][A-Z0-9.\-=:_]{0,23}$")  # MSFT, BRK-B, ^GSPC, ES=F, X:BTCUSD


def locate_files(paths: list[str]) -> tuple[list[Path], list[SourceError]]:
    """Expand paths, folders and glob patterns into CSV files.

    Args:
        paths: What the user typed: files, folders or glob patterns.

    Returns:
        The files found (sorted, each once), and one error per argument that matched nothing.
    """
    found: dict[Path, None] = {}
    errors: list[SourceError] = []
    for arg in paths:
        matches = [Path(p) for p in sorted(glob.glob(arg))] if glob.has_magic(arg) else [Path(arg)]
        files: list[Path] = []
        for match in matches:
            if match.is_dir():
                files.extend(sorted(p for p in match.iterdir() if p.suffix.lower() == ".csv"))
            elif match.exists():
                files.append(match)
        if not files:
            errors.append(
                SourceError(
                    "no CSV file found",
                    path=arg,
                    hint="check the path; a folder is searched for *.csv, a glob must be quoted",
                )
            )
        for f in files:
            found[f.absolute()] = None
    return list(found), errors


def symbol_from_path(path: Path) -> str:
    """The symbol a Yahoo export is about, from its file name: ``msft.csv`` -> ``MSFT``.

    Raises:
        SourceError: the file name is not a plausible symbol (pass ``--symbol``).
    """
    name = path.name
    symbol = (name[:-4] if name.lower().endswith(".csv") else name).upper()
    if not SYMBOL_RE.match(symbol):
        raise SourceError(
            f"cannot tell the symbol from the file name {path.name!r}",
            path=str(path),
            hint="name the file after its symbol (MSFT.csv) or pass --symbol",
        )
    return symbol
