from marketlake.lake import Lake
from marketlake.lake.bronze import land, read_manifest, sha256_of


def test_landing_the_same_file_twice_lands_it_once(lake: Lake) -> None:
    first, new1 = land(
        lake, b"a,b\n1,2\n", source="s", logical_key="K/k.csv", original_name="k.csv"
    )
    again, new2 = land(
        lake, b"a,b\n1,2\n", source="s", logical_key="K/k.csv", original_name="k.csv"
    )
    assert (new1, new2) == (True, False)
    assert again == first
    assert len(read_manifest(lake)) == 1
    assert lake.glob("bronze/s/*/*") == [first.bronze_key]
    assert sha256_of(lake.read_bytes(first.bronze_key)) == first.sha256


def test_same_bytes_under_another_key_is_another_delivery_stored_once(lake: Lake) -> None:
    a, _ = land(lake, b"x", source="s", logical_key="A/f.csv", original_name="f.csv")
    b, _ = land(lake, b"x", source="s", logical_key="B/f.csv", original_name="f.csv")
    assert a.ingest_id != b.ingest_id
    assert a.bronze_key == b.bronze_key
    assert len(lake.glob("bronze/s/*/*")) == 1
    assert b.supersedes == []


def test_new_bytes_for_a_key_supersede_the_older_delivery(lake: Lake) -> None:
    old, _ = land(lake, b"v1", source="s", logical_key="A/f.csv", original_name="f.csv")
    new, landed = land(lake, b"v2", source="s", logical_key="A/f.csv", original_name="f.csv")
    assert landed
    assert new.supersedes == [old.ingest_id]
    assert [e.ingest_id for e in read_manifest(lake, "s")] == [old.ingest_id, new.ingest_id]
    # both raw versions are kept: bronze is immutable
    assert len(lake.glob("bronze/s/*/*")) == 2
