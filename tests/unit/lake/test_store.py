import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from marketlake.errors import LakeError
from marketlake.lake import Lake


@pytest.fixture(params=["local", "memory", "s3"])
def any_lake(request: pytest.FixtureRequest, tmp_path: Path) -> Lake:
    """The same behaviour is expected of every backend, a real S3-compatible server included."""
    if request.param == "local":
        return Lake(str(tmp_path))
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        return Lake(f"s3://lake/t-{uuid.uuid4().hex[:12]}", server.storage_options())
    return Lake(f"memory://lake-{uuid.uuid4().hex}/prefix")


def test_keys_round_trip_on_every_backend(any_lake: Lake) -> None:
    any_lake.write_json("silver/_ingests/b.json", {"n": 2})
    any_lake.write_json("silver/_ingests/a.json", {"n": 1})
    any_lake.write_parquet("silver/bars/symbol=X/year=2020/i.parquet", pa.table({"a": [1]}))
    assert any_lake.glob("silver/_ingests/*.json") == [
        "silver/_ingests/a.json",
        "silver/_ingests/b.json",
    ]
    assert any_lake.glob("silver/bars/*/*/*.parquet") == [
        "silver/bars/symbol=X/year=2020/i.parquet"
    ]
    assert any_lake.exists("silver/_ingests/a.json")
    any_lake.remove("silver/_ingests/a.json")
    assert not any_lake.exists("silver/_ingests/a.json")
    assert any_lake.read_parquet("silver/bars/symbol=X/year=2020/i.parquet")["a"].to_pylist() == [1]


def test_writes_replace_atomically_and_leave_no_temporary_files(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    lake.write_bytes("a/b/c.txt", b"one")
    lake.write_bytes("a/b/c.txt", b"two")
    assert lake.read_bytes("a/b/c.txt") == b"two"
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == ["c.txt"]


def test_glob_returns_lake_keys_and_skips_partial_writes(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    lake.write_json("x/2.json", {"n": 2})
    lake.write_json("x/1.json", {"n": 1})
    (tmp_path / "x" / ".tmp-deadbeef").write_text("half a write")
    assert lake.glob("x/*") == ["x/1.json", "x/2.json"]
    assert [o["n"] for o in lake.iter_json("x/*.json")] == [1, 2]


def test_parquet_round_trip(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    table = pa.table({"a": [1, 2, 3]})
    assert lake.write_parquet("t.parquet", table) > 0
    assert lake.read_parquet("t.parquet").equals(table)


def test_missing_object_says_where(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    with pytest.raises(LakeError, match=r"not found.*nothing\.json"):
        lake.read_bytes("nothing.json")
    lake.remove("nothing.json")  # removing what is not there is fine
