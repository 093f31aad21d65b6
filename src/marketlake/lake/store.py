"""Object-store access for the lake: one root, local path or ``s3://``, through fsspec.

Callers speak in lake-relative keys (``silver/bars/symbol=MSFT/year=2024/abc.parquet``); the
store maps them to the filesystem. Writes are atomic: a reader sees the old object or the new one,
never half of one (local: write a temporary file, then rename; S3: a PUT is atomic already).
"""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import fsspec

from marketlake.config import Settings
from marketlake.errors import LakeError, LakeUnavailableError
from marketlake.retry import first_line

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

PARQUET_COMPRESSION = "zstd"


class Lake:
    """A lake rooted at ``uri`` (a local folder or ``s3://bucket/prefix``).

    Args:
        uri: The root. Local paths are made absolute.
        storage_options: fsspec options (endpoint, credentials).
    """

    def __init__(self, uri: str, storage_options: dict[str, Any] | None = None) -> None:
        self.uri = uri.rstrip("/")
        protocol = uri.split("://", 1)[0] if "://" in uri else "file"
        self.is_local = protocol == "file"
        # Options are for the remote store: a local root (gold next to an S3 lake) takes none.
        options = {} if self.is_local else dict(storage_options or {})
        try:
            self.fs: fsspec.AbstractFileSystem = fsspec.filesystem(protocol, **options)
        except (ImportError, ValueError) as exc:
            raise LakeError(
                f"cannot open the lake at {self.uri}: {exc}",
                hint="use a local folder or s3://bucket/prefix (lake.uri / MARKETLAKE_LAKE__URI)",
            ) from exc
        # The filesystem's own form of the root ("bucket/prefix" on S3, "/x" in memory), so that
        # paths it returns from glob can be turned back into lake keys.
        self._root = str(self.fs._strip_protocol(self.uri)).rstrip("/")

    def __repr__(self) -> str:
        return f"Lake({self.uri!r})"

    def full(self, key: str) -> str:
        """The filesystem path of a lake key."""
        return f"{self._root}/{key.lstrip('/')}"

    def url(self, key: str) -> str:
        """The URL of a lake key, as shown to users and given to DuckDB."""
        return self.full(key) if self.is_local else f"{self.uri}/{key.lstrip('/')}"

    def exists(self, key: str) -> bool:
        """Whether an object exists at ``key``."""
        return bool(self._call("exists", key, lambda: self.fs.exists(self.full(key))))

    def read_bytes(self, key: str) -> bytes:
        """The bytes of one object."""
        data: bytes = self._call("read", key, lambda: self.fs.cat_file(self.full(key)))
        return data

    def read_json(self, key: str) -> Any:
        """One JSON object."""
        return json.loads(self.read_bytes(key))

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write one object atomically (replacing what was there)."""
        path = self.full(key)
        if not self.is_local:
            self._call("write", key, lambda: self.fs.pipe_file(path, data))
            return
        parent = path.rsplit("/", 1)[0]
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"

        def write() -> None:
            # Plain os calls: fsspec's local mv/pipe cost several stat calls each, per small file.
            os.makedirs(parent, exist_ok=True)
            with open(tmp, "wb") as out:
                out.write(data)
            os.replace(tmp, path)

        self._call("write", key, write)

    def write_json(self, key: str, obj: Any) -> None:
        """Write one JSON object atomically (keys sorted, so equal content gives equal bytes)."""
        self.write_bytes(key, json.dumps(obj, sort_keys=True, indent=1, default=str).encode())

    def write_parquet(self, key: str, table: pa.Table) -> int:
        """Write ``table`` as one Parquet object atomically; returns its size in bytes."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        # Dictionaries only for strings: on prices they cost time and bytes.
        strings = [f.name for f in table.schema if pa.types.is_string(f.type)]
        pq.write_table(table, buffer, compression=PARQUET_COMPRESSION, use_dictionary=strings)
        data = buffer.getvalue()
        self.write_bytes(key, data)
        return len(data)

    def read_parquet(self, key: str) -> pa.Table:
        """One Parquet object as an Arrow table."""
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(self.read_bytes(key)))

    def glob(self, pattern: str) -> list[str]:
        """Lake keys matching a glob pattern, sorted."""
        prefix = len(self._root) + 1
        found = self._call("list", pattern, lambda: self.fs.glob(self.full(pattern)))
        return sorted(str(p)[prefix:] for p in found if "/.tmp-" not in str(p))

    def iter_json(self, pattern: str) -> Iterator[Any]:
        """Every JSON object whose key matches ``pattern``, in key order."""
        for key in self.glob(pattern):
            yield self.read_json(key)

    def remove(self, key: str) -> None:
        """Delete one object; a missing object is not an error."""
        path = self.full(key)
        if self.exists(key):
            self._call("remove", key, lambda: self.fs.rm_file(path))

    def _call(self, action: str, key: str, fn: Any) -> Any:
        try:
            return fn()
        except PermissionError as exc:
            # S3 says 403 both for a wrong key/secret and for a missing grant; the text tells which.
            raise LakeError(
                f"no permission to {action} in the lake: {first_line(exc)}",
                path=self.url(key),
                hint="check the S3 credentials (lake.access_key_id / lake.secret_access_key, "
                "MARKETLAKE_LAKE__*) and the bucket policy"
                if not self.is_local
                else "check the lake folder's permissions",
            ) from exc
        except FileNotFoundError as exc:
            raise LakeError(
                f"lake object not found while trying to {action}",
                path=self.url(key),
                hint="was the lake moved or cleaned? re-run the step that writes it",
            ) from exc
        except (ConnectionError, TimeoutError) as exc:
            raise _unavailable(self, key, exc) from exc
        except Exception as exc:
            if _is_connection_error(exc):
                raise _unavailable(self, key, exc) from exc
            raise


def _is_connection_error(exc: BaseException) -> bool:
    """botocore/aiohttp connection failures, without importing them for local lakes."""
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(
        names
        & {
            "EndpointConnectionError",
            "ConnectTimeoutError",
            "ReadTimeoutError",
            "ClientConnectorError",
            "ServerDisconnectedError",
            "ConnectionClosedError",
        }
    )


def _unavailable(lake: Lake, key: str, exc: BaseException) -> LakeUnavailableError:
    return LakeUnavailableError(
        f"object store did not answer: {first_line(exc)}",
        path=lake.url(key),
        hint="check lake.endpoint_url (MARKETLAKE_LAKE__ENDPOINT_URL) and that the store is "
        "running; then run the same command again",
    )


def open_lake(settings: Settings) -> Lake:
    """The lake configured in ``settings``."""
    return Lake(settings.lake_uri, settings.storage_options())
