"""``marketlake ingest hdf5`` as a user runs it: list, ingest, see the rejects, run again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import h5py
import numpy as np
import pytest

from marketlake.sources.hdf5_ticks.sample import write_es_h5
from tests.e2e.conftest import CLI

pytestmark = pytest.mark.e2e


def test_list_ingest_inspect_and_run_again(cli: CLI, tmp_path: Path) -> None:
    sample = write_es_h5(
        tmp_path / "ES.h5", trades=3_000, start=date(2021, 3, 10), trades_per_day=600, faults=2
    )
    listing = cli("ingest", "hdf5", str(sample.path), "--list")
    assert listing.returncode == 0, listing.stderr
    assert "tick/trades_filter0vol" in listing.stdout
    assert "index datetime (ts), price <f8 (price), volume <i8 (size)" in listing.stdout

    env = {"MARKETLAKE_SOURCES__HDF5__CHUNK_ROWS": "1000"}
    first = cli("ingest", "hdf5", str(sample.path), env=env)
    assert first.returncode == 0, first.stderr
    assert "landed in bronze by hard link" in first.stdout
    assert "tick/trades_filter0vol (2," in first.stdout  # listed, not ingested by default
    assert "published" in first.stdout
    assert "3,000" in first.stdout
    assert "ESH1, ESM1" in first.stdout

    quality = cli("quality")
    assert quality.returncode == 0
    assert "ts.unsorted" in quality.stdout
    assert "value.missing" in quality.stdout
    assert "size.zero WARNING" in quality.stdout
    assert "ESH1 line" in quality.stdout or "ESM1 line" in quality.stdout

    again = cli("ingest", "hdf5", str(sample.path), "--key", "tick/trades", env=env)
    assert again.returncode == 0
    assert "already in bronze" in again.stdout
    assert "unchanged" in again.stdout
    assert "ingest.hdf5_ticks" in cli("status").stdout


def test_unknown_layout_is_one_clear_line(cli: CLI, tmp_path: Path) -> None:
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        f["prices"] = np.zeros((5, 2))
    proc = cli("ingest", "hdf5", str(path))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    last = " ".join(proc.stderr.split())
    assert last.startswith("error: unknown layout")
    assert "prices (a 5x2 float64 array without column names)" in last

    bad_zone = cli("ingest", "hdf5", str(path), "--timezone", "Mars/Base")
    assert bad_zone.returncode == 1
    assert "not a time zone" in bad_zone.stderr
