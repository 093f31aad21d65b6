from pathlib import Path

import pytest

from marketlake.config import load_settings
from marketlake.errors import ConfigError


def test_yaml_then_env_then_arguments_win_in_that_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "marketlake.yaml"
    config.write_text("data_dir: /from/yaml\nquality:\n  jump_factor: 30\n  price_max: 5000\n")
    monkeypatch.setenv("MARKETLAKE_CONFIG", str(config))
    monkeypatch.setenv("MARKETLAKE_QUALITY__JUMP_FACTOR", "40")

    settings = load_settings()
    assert settings.data_dir == Path("/from/yaml")
    assert settings.quality.jump_factor == 40  # env beats yaml
    assert settings.quality.price_max == 5000  # yaml beats defaults
    assert load_settings(data_dir=tmp_path).data_dir == tmp_path  # arguments beat both


def test_paths_default_under_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.lake_uri == str(tmp_path / "lake")
    assert settings.duckdb_path == tmp_path / "warehouse.duckdb"
    assert settings.gold_uri == str(tmp_path / "gold")


def test_invalid_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETLAKE_QUALITY__JUMP_WINDOW", "4")
    with pytest.raises(ConfigError, match="jump_window must be odd"):
        load_settings()
    monkeypatch.setenv("MARKETLAKE_QUALITY__JUMP_WINDOW", "five")
    with pytest.raises(ConfigError, match=r"quality\.jump_window"):
        load_settings()


def test_unknown_setting_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "marketlake.yaml"
    config.write_text("qualty:\n  jump_factor: 30\n")
    monkeypatch.setenv("MARKETLAKE_CONFIG", str(config))
    with pytest.raises(ConfigError, match="qualty"):
        load_settings()


def test_missing_config_file_named_by_env_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETLAKE_CONFIG", "/no/such/marketlake.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETLAKE_LAKE__URI", "s3://bucket/prefix")
    monkeypatch.setenv("MARKETLAKE_LAKE__SECRET_ACCESS_KEY", "hunter2-very-secret")
    monkeypatch.setenv("MARKETLAKE_LAKE__ENDPOINT_URL", "http://127.0.0.1:8333")
    settings = load_settings()
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())
    options = settings.storage_options()
    assert options["secret"] == "hunter2-very-secret"
    assert options["client_kwargs"] == {"endpoint_url": "http://127.0.0.1:8333"}
