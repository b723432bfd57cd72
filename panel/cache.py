"""Cache backends whose counters are exact across processes.

The panel runs as several processes (gunicorn workers, Celery worker and beat), and the rate
limits (`panel.ratelimit`) count in the cache with `add()` then `incr()`. Django's own file and
database backends implement `incr()` as get-then-set: two workers incrementing at once both
read 7 and both write 8, and a limit of 20 lets 40 through. These subclasses make the two
operations the limiter needs atomic across processes. Redis (production's usual choice) is atomic
by itself and needs nothing here.

- `FileCache`, the embedded default (`make run`, a developer's machine): files under `var/cache/`,
  shared by every process on the machine with no server to install. Reads take no lock (a write
  is a rename, atomic on POSIX); writes take one lock file, held for microseconds.
- `DatabaseCache`, the shared cache that needs no server beside the database: a table in the
  panel's own database (`createcachetable`, run by the migrations), shared by every machine.
  `incr()` locks the row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the settings' IMMEDIATE
  transactions take the database's write lock at BEGIN).

Nothing whose correctness matters lives in any cache (prices, idempotency and locks are rows):
the cache holds only what may be lost, and a lost rate-limit window merely starts again.
"""

from __future__ import annotations

import base64
import os
import pickle
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.files import locks
from django.db import connections, models, router, transaction
from django.utils import timezone


class FileCache(FileBasedCache):
    """Django's file-based cache with `add`, `set`, `incr` and `delete` serialised by one lock
    file, so that counters are exact across the processes of one machine."""

    if TYPE_CHECKING:  # Django's own internals, which django-stubs does not declare
        _dir: str

        def _createdir(self) -> None: ...
        def _key_to_file(self, key: Any, version: Any = None) -> str: ...

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._createdir()
        with open(os.path.join(self._dir, "lock"), "ab") as handle:
            locks.lock(handle, locks.LOCK_EX)
            try:
                yield
            finally:
                locks.unlock(handle)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        with self._locked():  # (Django's add() calls self.set(), which would lock again)
            if self.has_key(key, version):
                return False
            FileBasedCache.set(self, key, value, timeout, version)
            return True

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        with self._locked():
            super().set(key, value, timeout, version)

    def delete(self, key: Any, version: Any = None) -> bool:
        with self._locked():
            return bool(super().delete(key, version))

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        """Add `delta` in place, keeping the entry's expiry (Django's get-then-set would both
        lose concurrent increments and reset the expiry to the default timeout)."""
        fname = self._key_to_file(key, version)
        with self._locked():
            try:
                with open(fname, "rb") as handle:
                    expiry = pickle.load(handle)  # noqa: S301 - our own cache files
                    value = pickle.loads(zlib.decompress(handle.read()))  # noqa: S301
            except (FileNotFoundError, EOFError):
                raise ValueError(f"Key '{key}' not found") from None
            if expiry is not None and expiry < time.time():
                raise ValueError(f"Key '{key}' not found")
            value += delta
            fd, tmp_path = tempfile.mkstemp(dir=self._dir)
            try:
                with open(fd, "wb") as handle:
                    handle.write(pickle.dumps(expiry, self.pickle_protocol))
                    handle.write(zlib.compress(pickle.dumps(value, self.pickle_protocol)))
                os.replace(tmp_path, fname)
            except BaseException:
                os.remove(tmp_path)
                raise
            return value


class DatabaseCache(DjangoDatabaseCache):
    """Django's database cache with an `incr` that locks the row it changes."""

    if TYPE_CHECKING:
        _table: str

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT value, expires FROM {table} WHERE cache_key = %s{lock}",  # noqa: S608 - a quoted table name
                [key],
            )
            row = cursor.fetchone()
            if row is None or self._expired(connection, row[1]):
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(base64.b64decode(row[0].encode())) + delta  # noqa: S301
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {table} SET value = %s WHERE cache_key = %s",  # noqa: S608
                [encoded, key],
            )
        return value

    @staticmethod
    def _expired(connection: Any, raw: Any) -> bool:
        # As Django's own get_many converts the column (SQLite returns text).
        expression = models.Expression(output_field=models.DateTimeField())
        expires = raw
        for converter in connection.ops.get_db_converters(
            expression
        ) + expression.get_db_converters(connection):
            expires = converter(expires, expression, connection)
        if isinstance(expires, datetime) and timezone.is_naive(expires):
            expires = expires.replace(tzinfo=UTC)
        return bool(expires < timezone.now())
