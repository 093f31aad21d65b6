"""Fixtures of the stream tests: the machine's NATS (JetStream) and PostgreSQL, unique names.

NATS is 127.0.0.1:4222 (or ``MARKETLAKE_TEST_NATS_HOST`` / ``_PORT``), PostgreSQL
127.0.0.1:5432 as ``postgres`` (``MARKETLAKE_TEST_PG_*``), both started by
``scripts/services.sh all``. A missing server fails the tests with that instruction; they are
never skipped. Every test gets its own streams, subjects, durable and PostgreSQL schema, and
each module its own database, so tests run in parallel with any others.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from marketlake.config import Settings, load_settings
from tests import servers
from tests.servers import new_database

from .support import Names, delete_streams


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The machine's NATS server; fails (never skips) when it does not answer."""
    return servers.nats_url()


@pytest.fixture(scope="module")
def live_db() -> Iterator[str]:
    """A new database for the module, dropped at its end."""
    yield from new_database(servers.pg_server(), "ml_stream")


def make_settings(
    nats_url: str, dbname: str, names: Names, data_dir: object, **stream: object
) -> Settings:
    """Settings of one test: its names, the module's database, ``stream`` overrides."""
    return load_settings(
        data_dir=data_dir,
        warehouse={"postgres": servers.pg_from_env().settings(dbname)},
        stream={"nats_url": nats_url, **names.settings(), **stream},
    )


@pytest.fixture
def names(nats_url: str) -> Iterator[Names]:
    """Unique stream, subject, durable and schema names; the streams are deleted after."""
    made = Names.unique()
    yield made
    delete_streams(nats_url, made)
