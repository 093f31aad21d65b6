from marketlake.errors import (
    LakeUnavailableError,
    MarketLakeError,
    SourceError,
    TerminalError,
    TransientError,
    WarehouseLockedError,
)


def test_message_carries_where_and_what_to_do() -> None:
    err = SourceError("header lacks Date", path="/x/MSFT.csv", row=None, hint="re-export it")
    assert str(err) == "header lacks Date (path=/x/MSFT.csv) — re-export it"
    assert err.context == {"path": "/x/MSFT.csv"}


def test_transient_and_terminal_are_told_apart() -> None:
    assert LakeUnavailableError("x").transient
    assert WarehouseLockedError("x").transient
    assert not SourceError("x").transient
    for cls in (TransientError, TerminalError):
        assert issubclass(cls, MarketLakeError)
