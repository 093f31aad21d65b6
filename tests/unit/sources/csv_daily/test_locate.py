from pathlib import Path

import pytest

from marketlake.errors import SourceError
from marketlake.sources.csv_daily import locate_files, symbol_from_path


def test_files_folders_and_globs(tmp_path: Path) -> None:
    for name in ("MSFT.csv", "AAPL.csv", "notes.txt"):
        (tmp_path / name).write_text("x")
    files, errors = locate_files(
        [str(tmp_path), str(tmp_path / "MSFT.csv"), str(tmp_path / "A*.csv")]
    )
    assert [f.name for f in files] == ["AAPL.csv", "MSFT.csv"]  # each once, no .txt
    assert errors == []


def test_arguments_that_match_nothing_are_reported(tmp_path: Path) -> None:
    files, errors = locate_files([str(tmp_path / "nope.csv"), str(tmp_path / "Z*.csv")])
    assert files == []
    assert len(errors) == 2
    assert all("no CSV file found" in str(e) for e in errors)


@pytest.mark.parametrize(
    ("name", "symbol"),
    [("MSFT.csv", "MSFT"), ("brk-b.csv", "BRK-B"), ("^GSPC.csv", "^GSPC"), ("ES=F.CSV", "ES=F")],
)
def test_symbol_comes_from_the_file_name(name: str, symbol: str) -> None:
    assert symbol_from_path(Path(name)) == symbol


def test_implausible_file_name_asks_for_symbol() -> None:
    with pytest.raises(SourceError, match="--symbol"):
        symbol_from_path(Path("my prices (final).csv"))
