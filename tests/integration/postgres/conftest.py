"""Fixtures of the PostgreSQL warehouse tests: the machine's server, a fresh database per module.

The server is the one on 127.0.0.1:5432 (or ``MARKETLAKE_TEST_PG_HOST`` / ``_PORT`` / ``_USER``),
started by ``scripts/services.sh postgres`` when the machine has none. A missing server fails the
tests with that instruction; they are never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import servers
from tests.servers import PgServer, new_database


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """The PostgreSQL server of the tests; fails (never skips) when it does not answer."""
    return servers.pg_server()


@pytest.fixture(scope="module")
def fresh_db(pg_server: PgServer) -> Iterator[str]:
    """A new, empty database for the module, dropped at its end."""
    yield from new_database(pg_server)
