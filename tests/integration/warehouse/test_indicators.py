"""A real dbt build of the indicator and anomaly marts, checked against plain-Python loops."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

import polars as pl
import pytest

from marketlake.config import GoldSettings, Settings
from marketlake.lake.store import open_lake
from marketlake.warehouse import BuildResult, build_warehouse
from marketlake.warehouse.dbt_runner import PROJECT_DIR, project_vars

from . import indicators_reference as ref
from .indicator_sample import (
    DAYS,
    QUIET,
    REDELIVERED,
    SHORT,
    WALK,
    Planted,
    publish_indicator_sample,
)
from .support import make_settings, read_table, refuse_network

pytestmark = pytest.mark.integration

TOLERANCE = 1e-9
INDICATOR_MARTS = {"fct_indicators_daily", "fct_anomalies"}
# The first row (day_index) where each recursive or windowed indicator has a value.
FIRST_VALUE = {
    "simple_return": 1,
    "volatility_20d": 20,
    "volatility_252d": 252,
    "close_zscore_20d": 20,
    "return_zscore_20d": 21,
    "sma_20": 19,
    "sma_200": 199,
    "ema_12": 11,
    "ema_20": 19,
    "ema_26": 25,
    "rsi_14": 14,
    "macd": 25,
    "macd_signal": 33,
    "macd_histogram": 33,
}


@dataclass(frozen=True)
class Built:
    settings: Settings
    result: BuildResult
    planted: Planted


def build(tmp: pytest.TempPathFactory, name: str, **gold: float) -> Built:
    settings = make_settings(tmp.mktemp(name))
    if gold:
        settings = settings.model_copy(
            update={
                "warehouse": settings.warehouse.model_copy(
                    update={"gold": settings.warehouse.gold.model_copy(update=gold)}
                )
            }
        )
    planted = publish_indicator_sample(open_lake(settings))
    with pytest.MonkeyPatch.context() as patch:
        refuse_network(patch)
        result = build_warehouse(settings)
    return Built(settings, result, planted)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory, "indicators")


def mart(built: Built, name: str) -> pl.DataFrame:
    return read_table(built.settings, f"marts.{name}").sort("symbol", "session_date")


def close_enough(got: float | None, expected: float | None) -> bool:
    if got is None or expected is None:
        return got is None and expected is None
    return abs(got - expected) <= TOLERANCE * max(1.0, abs(expected))


def test_indicator_marts_build_pass_their_tests_and_are_exported(built: Built) -> None:
    assert built.result.nodes_failed == []
    assert built.result.tests_failed == 0
    assert built.result.unit_tests_passed >= 7  # the indicator and anomaly unit tests among them
    assert set(built.result.exports) >= INDICATOR_MARTS
    for name in INDICATOR_MARTS:
        exported = pl.read_parquet(built.result.exports[name])
        assert exported.height == mart(built, name).height > 0, name


def test_one_row_per_daily_session_keeping_the_latest_delivery(built: Built) -> None:
    fct = mart(built, "fct_indicators_daily")
    walk = fct.filter(pl.col("symbol") == WALK)
    assert walk["session_date"].to_list() == DAYS  # the 1m bars stay out, June is not doubled
    assert walk["day_index"].to_list() == list(range(len(DAYS)))
    june = walk.filter(pl.col("session_date").is_between(*REDELIVERED))
    # The re-delivery started from 90 where the first one was near 100 + a random walk:
    # its closes differ on every session, and the mart holds them.
    first_june = first_delivery_closes(built, REDELIVERED)
    assert june.height == len(first_june) > 0
    assert all(a != b for a, b in zip(june["close"].to_list(), first_june, strict=True))
    assert fct.filter(pl.col("symbol") == SHORT).height == 10


def first_delivery_closes(built: Built, window: tuple[date, date]) -> list[float]:
    bars = read_table(built.settings, "staging.stg_silver__bars")
    rows = bars.filter(
        (pl.col("symbol") == WALK)
        & (pl.col("source") == "csv_daily")
        & pl.col("session_date").is_between(*window)
    ).sort("session_date")
    return list(rows["close"].to_list())


@pytest.mark.parametrize("symbol", [WALK, SHORT, QUIET])
def test_every_indicator_equals_the_python_reference(built: Built, symbol: str) -> None:
    rows = mart(built, "fct_indicators_daily").filter(pl.col("symbol") == symbol)
    close = rows["close"].to_list()
    expected = ref.indicators(close, rows["volume"].to_list())
    for column, values in expected.items():
        got = rows[column].to_list()
        wrong = [
            (i, g, e)
            for i, (g, e) in enumerate(zip(got, values, strict=True))
            if not close_enough(g, e)
        ]
        assert wrong == [], f"{symbol}.{column}: first mismatches {wrong[:3]}"


def test_each_indicator_starts_at_its_first_valid_index(built: Built) -> None:
    rows = mart(built, "fct_indicators_daily").filter(pl.col("symbol") == WALK)
    for column, first in FIRST_VALUE.items():
        values = rows[column].to_list()
        assert all(v is None for v in values[:first]), column
        assert values[first] is not None, column


def test_rsi_and_volatility_stay_in_range(built: Built) -> None:
    fct = mart(built, "fct_indicators_daily")
    rsi = fct["rsi_14"].drop_nulls()
    assert rsi.len() > 0
    assert rsi.min() >= 0  # type: ignore[operator]
    assert rsi.max() <= 100  # type: ignore[operator]
    for column in ("volatility_20d", "volatility_252d"):
        assert fct[column].drop_nulls().min() >= 0  # type: ignore[operator]


def test_anomalies_fire_exactly_on_the_planted_events(built: Built) -> None:
    quiet = mart(built, "fct_anomalies").filter(pl.col("symbol") == QUIET)
    fired = set(zip(quiet["session_date"].to_list(), quiet["rule_id"].to_list(), strict=True))
    assert fired == built.planted.events
    measured = {r["rule_id"]: r for r in quiet.sort("session_date").iter_rows(named=True)}
    assert math.isclose(measured["return_zscore"]["measured_value"], 10.0, rel_tol=1e-9)
    assert math.isclose(measured["volume_spike"]["measured_value"], 10.0, rel_tol=1e-9)
    assert math.isclose(measured["gap"]["measured_value"], 0.15, rel_tol=1e-9)
    assert measured["stale_price"]["measured_value"] == 6  # the last of the two
    defaults = GoldSettings()
    assert {r: measured[r]["threshold"] for r in measured} == {
        "return_zscore": defaults.anomaly_return_z,
        "volume_spike": defaults.anomaly_volume_ratio,
        "gap": defaults.anomaly_gap,
        "stale_price": defaults.anomaly_stale_days,
    }
    assert "15.00% above the previous close" in measured["gap"]["explanation"]
    assert "unchanged for 6 consecutive sessions" in measured["stale_price"]["explanation"]


def test_anomaly_thresholds_come_from_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    strict = build(
        tmp_path_factory,
        "thresholds",
        anomaly_return_z=11.0,
        anomaly_volume_ratio=12.0,
        anomaly_gap=0.2,
        anomaly_stale_days=3,
    )
    assert strict.result.nodes_failed == []
    quiet = mart(strict, "fct_anomalies").filter(pl.col("symbol") == QUIET)
    assert quiet["rule_id"].to_list() == ["stale_price"] * 4  # unchanged closes 3 to 6
    assert quiet["session_date"].to_list() == DAYS[152:156]
    assert set(quiet["threshold"].to_list()) == {3.0}


def test_the_project_defaults_equal_the_settings_defaults() -> None:
    macro = (PROJECT_DIR / "macros" / "indicators" / "anomaly_thresholds.sql").read_text()
    defaults = {
        f"anomaly_{name}": float(value) for name, value in re.findall(r"'(\w+)': ([\d.]+),", macro)
    }
    passed = project_vars(Settings())
    assert defaults == {name: float(value) for name, value in passed.items()}
    assert set(passed) == {k for k in GoldSettings.model_fields if k.startswith("anomaly_")}
