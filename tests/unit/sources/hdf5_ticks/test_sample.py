"""The ES-like sample files look like ES: Globex sessions, quarterly contracts rolling before
expiry, zero-volume trades and their filtered view, and the faults it says it injected."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from marketlake.sources.hdf5_ticks import describe_file
from marketlake.sources.hdf5_ticks.sample import third_friday, write_es_h5


def test_sessions_contracts_and_the_roll(tmp_path: Path) -> None:
    sample = write_es_h5(
        tmp_path / "ES.h5", trades=8_000, start=date(2021, 3, 1), trades_per_day=500, seed=3
    )
    assert sample.contracts == ["ESH1", "ESM1"]
    frame = pd.read_hdf(sample.path, "tick/trades")
    assert len(frame) == sample.rows["tick/trades"] == 8_000
    assert frame.index.is_monotonic_increasing

    local = frame.index.tz_localize("UTC").tz_convert("America/Chicago")
    assert not (local.hour == 16).any()  # the daily maintenance break, 16:00-17:00 CT
    assert not (local.day_of_week == 5).any()  # no Saturday trading
    minutes = local.hour * 60 + local.minute
    us_hours = ((minutes >= 8 * 60 + 30) & (minutes < 15 * 60 + 15)).mean()
    assert us_hours > 0.5  # ~30% of the session's hours, most of its trades

    expiry = pd.Timestamp(third_friday(2021, 3)).tz_localize("America/Chicago")
    days_before = (expiry - local.normalize()).days
    march = frame.symbol == "ESH1"
    assert march[days_before > 14].all()  # before the roll: the front month only
    assert not march[local >= expiry + pd.Timedelta(hours=8, minutes=30)].any()
    rolling = frame[(days_before >= 0) & (days_before <= 10)]
    early, late = np.array_split(rolling.symbol == "ESM1", 2)
    assert 0 < early.mean() < late.mean()  # volume migrates to June as expiry nears

    ticks = frame.price.to_numpy() / 0.25
    assert np.allclose(ticks, np.round(ticks))


def test_zero_volume_and_the_filtered_view(tmp_path: Path) -> None:
    sample = write_es_h5(
        tmp_path / "ES.h5", trades=5_000, trades_per_day=2_000, zero_volume_share=0.05
    )
    frame = pd.read_hdf(sample.path, "tick/trades")
    filtered = pd.read_hdf(sample.path, "tick/trades_filter0vol")
    assert (frame.volume == 0).sum() == sample.zero_size
    assert 0.03 < sample.zero_size / len(frame) < 0.07
    pd.testing.assert_frame_equal(frame[frame.volume > 0], filtered)
    assert [k.key for k in describe_file(sample.path)] == ["tick/trades", "tick/trades_filter0vol"]


def test_injected_faults_are_where_it_says(tmp_path: Path) -> None:
    sample = write_es_h5(tmp_path / "ES.h5", trades=3_000, trades_per_day=1_000, faults=3)
    for key in sample.rows:
        frame = pd.read_hdf(sample.path, key)
        faults = [f for f in sample.faults if f.key == key]
        assert sorted(f.rule_id for f in faults) == ["ts.unsorted"] * 3 + ["value.missing"] * 3
        for fault in faults:
            if fault.rule_id == "value.missing":
                assert np.isnan(frame.price.iloc[fault.row])
            else:
                assert frame.index[fault.row] < frame.index[fault.row - 1]


def test_deterministic_two_digit_years_and_fixed_format(tmp_path: Path) -> None:
    options = {"trades": 500, "trades_per_day": 250, "year_digits": 2, "filtered_key": None}
    first = write_es_h5(tmp_path / "a.h5", **options)  # type: ignore[arg-type]
    again = write_es_h5(tmp_path / "b.h5", **options)  # type: ignore[arg-type]
    fixed = write_es_h5(tmp_path / "c.h5", fmt="fixed", **options)  # type: ignore[arg-type]
    assert first.contracts == ["ESH20"]
    a, b, c = (pd.read_hdf(s.path, "tick/trades") for s in (first, again, fixed))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c, check_dtype=False)
    assert describe_file(fixed.path)[0].layout == "fixed"
