"""The shared, read-only connection to the lab's DuckDB file.

Many kernels open the same file, and DuckDB lets any number of read-only openers share it
while a single read-write opener would lock out everyone else. So the library only ever
opens it read-only. ``build-data`` writes a new file beside it and renames it into place;
the next call here notices the new file and reconnects.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from . import paths


class DataNotBuilt(FileNotFoundError):
    """The database has not been built yet (or was deleted)."""


_lock = threading.Lock()
_state: dict[str, object] = {"conn": None, "key": None}


def _file_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def connect(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the built database, reused across calls.

    Raises ``DataNotBuilt`` with the command to run when the file is missing.
    """
    path = Path(path) if path else paths.db_path()
    key = _file_key(path)
    if key is None:
        raise DataNotBuilt(
            f"The lab's database is not built yet ({path}). Run `make data` "
            "(or `medcodelab build-data`) once; it takes about half a minute."
        )
    with _lock:
        if _state["conn"] is None or _state["key"] != (str(path), key):
            old = _state["conn"]
            if old is not None:
                try:
                    old.close()  # type: ignore[attr-defined]
                except duckdb.Error:
                    pass
            _state["conn"] = duckdb.connect(str(path), read_only=True)
            _state["key"] = (str(path), key)
            _on_reconnect()
        return _state["conn"]  # type: ignore[return-value]


_listeners: list = []


def on_reconnect(callback) -> None:
    """Register a cache to clear when the database file changes."""
    _listeners.append(callback)


def _on_reconnect() -> None:
    for callback in _listeners:
        callback()


def cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of the shared connection: safe to use from widget callbacks on other threads."""
    return connect().cursor()


def close() -> None:
    """Close the shared connection (tests, or before deleting the file)."""
    with _lock:
        conn = _state["conn"]
        if conn is not None:
            conn.close()  # type: ignore[attr-defined]
        _state["conn"] = None
        _state["key"] = None
    _on_reconnect()
