"""Database helpers shared by the apps: one bulk write of many rows with different values.

Django's `bulk_update` builds a `CASE WHEN pk = ... THEN ...` with one branch per row and field:
for a poll batch of 200 orders and 6 fields, about 0.13 s of Python to build 1,200 resolved
expressions, against a few milliseconds for the database to run them. `bulk_write` writes the
same values in one statement per batch that costs next to nothing to build.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypedDict

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import Case, Field, Model, QuerySet, Value, When
from django.db.models.options import Options


class Digits(TypedDict):
    """The precision of a `DecimalField`, shared by the fields of one kind (`**MONEY`)."""

    max_digits: int
    decimal_places: int


def bulk_write[M: Model](queryset: QuerySet[M], objs: Sequence[M], fields: Sequence[str]) -> int:
    """Write `fields` of each of `objs` (by primary key) to the rows of `queryset` among them.

    `queryset` narrows the rows written (`Order.objects.filter(state=placed)`: a row that left
    that state meanwhile keeps its values). Returns the number of rows written. A constant
    number of statements: one on PostgreSQL, one per batch the backend's parameter limit allows
    elsewhere (one batch up to tens of thousands of rows). Plain fields only: values are saved
    as `update()` saves them, through each field's `get_db_prep_save`.
    """
    if not objs or not fields:
        return 0
    connection = connections[queryset.db]
    if connection.vendor == "postgresql" and len(queryset.query.alias_map) <= 1:
        return _write_from_values(queryset, objs, fields)
    return _write_grouped_case(queryset, objs, fields)


def _write_from_values[M: Model](
    queryset: QuerySet[M], objs: Sequence[M], fields: Sequence[str]
) -> int:
    """PostgreSQL: `UPDATE t SET f = v.f FROM (VALUES (pk, f...), ...) AS v WHERE t.pk = v.pk`."""
    connection = connections[queryset.db]
    query = queryset.query
    meta = queryset.model._meta
    compiler = query.get_compiler(connection=connection)
    try:
        where, where_params = compiler.compile(query.where)
    except EmptyResultSet:
        return 0
    except FullResultSet:
        where, where_params = "", ()
    qn = connection.ops.quote_name
    model_fields = [meta.pk, *(_plain_field(meta, name) for name in fields)]
    # Typed placeholders: a column of NULLs (or of strings) must still match its target column.
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in model_fields) + ")"
    params: list[Any] = []
    for obj in objs:
        params.extend(
            field.get_db_prep_save(getattr(obj, field.attname), connection)
            for field in model_fields
        )
    table, new = qn(meta.db_table), qn("bulk_write_new")
    columns = [qn(_column(field)) for field in model_fields]
    assignments = ", ".join(f"{column} = {new}.{column}" for column in columns[1:])
    rows = ", ".join([row] * len(objs))
    match = f"{table}.{columns[0]} = {new}.{columns[0]}" + (f" AND ({where})" if where else "")
    # Only the quoted names of the model's own table and columns are in the text; values are
    # parameters, and `where` is Django's own compiled filter with its parameters.
    source = f"(VALUES {rows}) AS {new} ({', '.join(columns)})"
    sql = f"UPDATE {table} SET {assignments} FROM {source} WHERE {match}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *where_params])
        return cursor.rowcount


def _plain_field(meta: Options[Any], name: str) -> Field[Any, Any]:
    field = meta.get_field(name)
    if not isinstance(field, Field):  # a reverse relation has no column of this table
        raise TypeError(f"bulk_write writes plain fields only, not {name!r}")
    return field


def _column(field: Field[Any, Any]) -> str:
    if field.column is None:
        raise TypeError(f"bulk_write writes plain fields only, not {field.name!r}")
    return field.column


def _write_grouped_case[M: Model](
    queryset: QuerySet[M], objs: Sequence[M], fields: Sequence[str]
) -> int:
    """Anywhere: like `bulk_update`, but each field's CASE groups the rows by their new value
    (`WHEN pk IN (...) THEN value`). Writes often set one value on many rows (the time, a
    flag), and a CASE with one branch per row costs the database rows x branches comparisons;
    a field with a single new value needs no CASE at all."""
    connection = connections[queryset.db]
    meta = queryset.model._meta
    model_fields = {name: _plain_field(meta, name) for name in fields}
    # Parameters per row, at worst: its id in one IN list and one distinct value per field, and
    # its id in the WHERE. PostgreSQL with client-side binding has no limit (None).
    limit = connection.features.max_query_params
    batch = max(1, limit // (2 * len(fields) + 1)) if limit else max(1, len(objs))
    written = 0
    for start in range(0, len(objs), batch):
        rows = objs[start : start + batch]
        updates: dict[str, Any] = {}
        for name, model_field in model_fields.items():
            values: dict[Any, Any] = {}
            groups: dict[Any, list[Any]] = defaultdict(list)
            for obj in rows:
                value = getattr(obj, model_field.attname)
                key = _group_key(value)
                values.setdefault(key, value)
                groups[key].append(obj.pk)
            if len(groups) == 1:
                updates[name] = next(iter(values.values()))
                continue
            updates[name] = Case(
                *(
                    When(pk__in=ids, then=Value(values[key], output_field=model_field))
                    for key, ids in groups.items()
                ),
                output_field=model_field,
            )
        written += queryset.filter(pk__in=[obj.pk for obj in rows]).update(**updates)
    return written


def _group_key(value: Any) -> Any:
    """Rows share a CASE branch when their values are equal; JSON values (dicts, lists) are not
    hashable, so they are grouped by their exact JSON text (key order kept: SQLite stores it)."""
    if isinstance(value, dict | list):
        return ("json", json.dumps(value, default=str))
    if isinstance(value, Decimal):
        return (Decimal, str(value))  # 1.5 and 1.50 are equal, but are not the same text
    return (type(value), value)
