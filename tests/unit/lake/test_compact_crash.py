"""Compaction killed at each of its steps: every reader sees every row exactly once, always.

The compaction runs in a child process that dies (``os._exit``, no clean-up, like a kill -9) at
the chosen step; the readers then look at what it left: the marketlake loader (``read_trades``,
``scan_trades``), the bars reader (``scan_trade_files`` + ``iter_trade_chunks``) and a plain read
of :func:`live_keys` (what DuckDB is given). The next ``compact`` finishes or undoes the work.
Local disk and a real S3-compatible server (SeaweedFS).
"""

from __future__ import annotations

import multiprocessing
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from marketlake.bars.reader import iter_trade_chunks, scan_trade_files
from marketlake.config import Settings, load_settings
from marketlake.ingest_hdf5 import ingest_hdf5
from marketlake.lake import Lake, open_lake
from marketlake.lake.compact import (
    _snapshot,
    compact,
    list_parquet,
    live_files,
    live_keys,
    read_journals,
)
from marketlake.serve import loader
from marketlake.sources.hdf5_ticks.sample import write_es_h5

if TYPE_CHECKING:
    from tests.s3server import S3Server

SILVER = "silver/trades/*/*/*.parquet"
SYMBOLS = ("ESH1", "ESM1")
DIED = 77  # the child's exit code when it died where it was told to


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of a lake on local disk or on the S3 server; 1,000-row chunks (many files)."""
    chunked = {"hdf5": {"chunk_rows": 1_000}}
    if request.param == "local":
        return load_settings(data_dir=tmp_path / "data", sources=chunked)
    server: S3Server = request.getfixturevalue("s3_server")
    s3_lake = {
        "uri": request.getfixturevalue("s3_lake_uri"),
        "endpoint_url": server.endpoint_url,
        "access_key_id": server.access_key,
        "secret_access_key": server.secret_key,
        "region": "us-east-1",
    }
    return load_settings(data_dir=tmp_path / "data", sources=chunked, lake=s3_lake)


@pytest.fixture
def lake(settings: Settings, tmp_path: Path) -> Lake:
    """The lake of ``settings`` holding one chunked HDF5 ingest: several files per partition."""
    sample = write_es_h5(
        tmp_path / "in" / "ES.h5", trades=5_500, start=date(2021, 3, 8), trades_per_day=700, seed=2
    )
    ingest_hdf5(sample.path, settings=settings)
    return open_lake(settings)


def sorted_rows(frame: Any) -> pl.DataFrame:
    polars = frame if isinstance(frame, pl.DataFrame) else pl.from_arrow(frame)
    assert isinstance(polars, pl.DataFrame)
    return polars.sort(pl.all())


def read_keys(lake: Lake, keys: list[str]) -> pl.DataFrame:
    """The rows of exactly these files, read one by one (no listing, no skipping)."""
    return sorted_rows(pa.concat_tables([lake.read_parquet(k) for k in keys]))


def bar_input(lake: Lake, symbol: str) -> np.ndarray:
    files = scan_trade_files(lake, symbol)
    chunks = iter_trade_chunks(lake, files, symbol=symbol, source="hdf5:tick/trades")
    return np.concatenate([np.stack([c.ts, c.price, c.size]) for c in chunks], axis=1)


def views(settings: Settings, lake: Lake) -> dict[str, Any]:
    """What each reader sees."""
    loader.cache_clear()
    eager = sorted_rows(loader.read_trades(None, settings=settings))
    loader.cache_clear()
    lazy = sorted_rows(loader.scan_trades(None, settings=settings).collect())
    plain = read_keys(lake, live_keys(lake, "trades"))
    bars = {f"bars {s}": bar_input(lake, s) for s in SYMBOLS}
    return {"read": eager, "scan": lazy, "live_keys": plain} | bars


def assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got.keys() == want.keys()
    for name, value in want.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(got[name], value, err_msg=name)
        else:
            assert got[name].equals(value), name


def compact_and_die(settings: Settings, step: str) -> None:
    """Child process: compact trades, and die without any clean-up on reaching ``step``."""

    def die(name: str, journal: object) -> None:
        if name == step:
            os._exit(DIED)

    compact(open_lake(settings), datasets=("trades",), on_step=die)
    os._exit(0)


def crash_at(settings: Settings, step: str) -> None:
    child = multiprocessing.get_context("spawn").Process(
        target=compact_and_die, args=(settings, step)
    )
    child.start()
    child.join()
    assert child.exitcode == DIED, f"the compaction did not reach {step!r}"


@pytest.mark.parametrize(
    ("step", "committed"),
    [
        ("written", False),  # merged file complete but not yet renamed in (uploaded, on S3)
        ("committed", True),  # renamed in; the ingest's record still lists the inputs
        ("recorded", True),  # record updated; no input deleted yet
        ("removed", True),  # between deletes: one input gone, the others still there
    ],
)
def test_a_compaction_killed_at_any_step_shows_every_row_exactly_once(
    settings: Settings, lake: Lake, step: str, committed: bool
) -> None:
    before_files = lake.glob(SILVER)
    table = read_keys(lake, before_files)
    before = views(settings, lake)
    assert before["read"].equals(table)

    crash_at(settings, step)
    [journal] = read_journals(lake, "trades")
    on_disk = lake.glob(SILVER)
    assert (journal.output in on_disk) is committed
    if committed:
        # A plain glob now sees the output and (some of) its inputs: duplicated rows.
        assert read_keys(lake, on_disk).height > table.height
        assert set(journal.inputs).isdisjoint(live_keys(lake, "trades"))
    assert_same(views(settings, lake), before)

    report = compact(lake, datasets=("trades",))
    assert report.recovered == 1
    assert read_journals(lake) == []
    after_files = lake.glob(SILVER)
    assert len(after_files) == len(SYMBOLS) < len(before_files)  # one file per partition
    assert read_keys(lake, after_files).equals(table)
    assert_same(views(settings, lake), before)
    if lake.is_local:  # a killed local compaction's temporary file is cleaned up too
        assert list(Path(lake.full("silver/trades")).rglob(".tmp-*")) == []


def test_a_compaction_committing_during_the_listing_is_listed_again(
    settings: Settings, lake: Lake
) -> None:
    table = read_keys(lake, lake.glob(SILVER))
    pattern = ["silver/trades/symbol=*/year=*"]
    calls = 0

    def list_then_commit() -> dict[str, tuple[int, str]]:
        # The first listing sees only the inputs; a compaction commits right after it.
        nonlocal calls
        calls += 1
        found = list_parquet(lake, pattern)
        if calls == 1:

            def stop(name: str, journal: object) -> None:
                if name == "committed":
                    raise KeyboardInterrupt

            with pytest.raises(KeyboardInterrupt):
                compact(lake, datasets=("trades",), on_step=stop)
        return found

    keys = [k for k, _, _ in _snapshot(lake, "trades", list_then_commit)]
    assert calls == 2
    assert read_keys(lake, keys).equals(table)


def test_a_compaction_begun_and_finished_during_the_listing_is_seen(
    settings: Settings, lake: Lake
) -> None:
    # No journal before nor after the listing, yet the files listed are gone: the epoch tells.
    table = read_keys(lake, lake.glob(SILVER))
    pattern = ["silver/trades/symbol=*/year=*"]
    calls = 0

    def list_then_compact() -> dict[str, tuple[int, str]]:
        nonlocal calls
        calls += 1
        found = list_parquet(lake, pattern)
        if calls == 1:
            compact(lake, datasets=("trades",))
        return found

    keys = [k for k, _, _ in _snapshot(lake, "trades", list_then_compact)]
    assert calls == 2
    assert keys == lake.glob(SILVER)
    assert read_keys(lake, keys).equals(table)


def test_live_files_and_live_keys_agree_with_the_lake(settings: Settings, lake: Lake) -> None:
    files = live_files(lake, "trades", ["silver/trades/symbol=*/year=*"])
    assert [k for k, _, _ in files] == live_keys(lake, "trades") == lake.glob(SILVER)
    assert all(size > 0 for _, size, _ in files)
    assert live_keys(lake, "quotes") == []


def test_the_compact_command_on_many_small_chunked_files(
    settings: Settings, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from marketlake.cli.main import app

    before_files = lake.glob(SILVER)
    before = views(settings, lake)
    assert len(before_files) > 2 * len(SYMBOLS)  # several chunk files per partition
    if not lake.is_local:  # the command takes the S3 lake from the environment, as a user's
        for name, value in [
            ("URI", settings.lake.uri),
            ("ENDPOINT_URL", settings.lake.endpoint_url),
            ("ACCESS_KEY_ID", settings.lake.access_key_id),
            ("REGION", settings.lake.region),
        ]:
            monkeypatch.setenv(f"MARKETLAKE_LAKE__{name}", str(value))
        secret = settings.lake.secret_access_key
        assert secret is not None
        monkeypatch.setenv("MARKETLAKE_LAKE__SECRET_ACCESS_KEY", secret.get_secret_value())
    monkeypatch.setenv("MARKETLAKE_SOURCES__HDF5__CHUNK_ROWS", "1000")
    args = ["--data-dir", str(settings.data_dir), "compact"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    after_files = lake.glob(SILVER)
    assert len(after_files) == len(SYMBOLS)
    assert f"merged {len(before_files)} files into {len(SYMBOLS)}" in result.output
    assert_same(views(settings, lake), before)
    for key in after_files:  # big row groups, not one per former chunk
        meta = pq.read_metadata(lake.fs.open(lake.full(key), "rb"))
        assert meta.num_row_groups == 1
    if not lake.is_local:
        assert settings.lake.secret_access_key.get_secret_value() not in result.output  # type: ignore[union-attr]
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "merged 0 files into 0" in again.output
    assert lake.glob(SILVER) == after_files


@pytest.mark.parametrize("settings", ["local"], indirect=True)  # remote lakes: copied via live_keys
def test_the_warehouse_view_shows_a_half_compacted_dataset_once(
    settings: Settings, lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB's silver view lists the live files between a compaction's commit and deletes."""
    from marketlake import schemas
    from marketlake.warehouse import duckdb_target

    trades = duckdb_target.SilverDataset("trades", schemas.TRADES, fill_missing=False)
    exposed = [trades, *duckdb_target.exposed_datasets()]
    monkeypatch.setattr(duckdb_target, "exposed_datasets", lambda: exposed)
    rows = read_keys(lake, lake.glob(SILVER)).height

    def count() -> int:
        con = duckdb_target.connect(tmp_path / "w.duckdb")
        try:
            duckdb_target.prepare_silver(con, lake)
            found = con.execute("select count(*) from silver.trades").fetchone()
        finally:
            con.close()
        return int(found[0]) if found else -1

    assert count() == rows
    crash_at(settings, "recorded")
    assert read_keys(lake, lake.glob(SILVER)).height > rows  # a glob would see rows twice
    assert count() == rows
