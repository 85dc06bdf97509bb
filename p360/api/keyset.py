"""Keyset conditions: the rows strictly past a position (the ordering keys' values of one row), walking a list
forwards or backwards, for the ORM (keyset_filter) and as SQL on a table's columns (keyset_sql).

Keys all NOT NULL and in one direction become a row comparison `(k1, k2) > (v1, v2)`, which one index serves.
Otherwise: (k1 past v1) OR (k1 = v1 AND k2 past v2) OR ..., NULLs sorting last in the list's direction (first
when walking it backwards), as OrderKey.expression() sorts.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import BooleanField, F, Q
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

from p360.api.ordering import OrderKey


def _is_row_comparison(keys: list[OrderKey]) -> bool:
    return all(not key.nullable for key in keys) and len({key.descending for key in keys}) == 1


def _beyond(key: OrderKey, value, backwards: bool) -> Q | None:
    """Rows strictly past `value` on this key, walking forwards or backwards (NULLs sort last)."""
    if not backwards:
        if value is None:
            return None  # nothing sorts after NULL
        q = Q(**{f"{key.field}__{'lt' if key.descending else 'gt'}": value})
        return q | Q(**{f"{key.field}__isnull": True}) if key.nullable else q
    if value is None:
        return Q(**{f"{key.field}__isnull": False})
    return Q(**{f"{key.field}__{'gt' if key.descending else 'lt'}": value})


def _equal(key: OrderKey, value) -> Q:
    return Q(**{f"{key.field}__isnull": True}) if value is None else Q(**{key.field: value})


def _local_column(model, path: str) -> str | None:
    """The column of a concrete field of the model itself (not across a relation), or None."""
    if "__" in path:
        return None
    try:
        field = model._meta.get_field("id" if path == "pk" else path)
    except FieldDoesNotExist:
        return None
    return getattr(field, "column", None) if field.concrete and not field.is_relation else None


def keyset_filter(keys: list[OrderKey], values: list, backwards: bool, model=None):
    """The rows after (or before) the cursor's row, as a filter() argument."""
    if _is_row_comparison(keys):
        columns = [_local_column(model, key.field) for key in keys] if model is not None else [None]
        if all(columns):
            # the row comparison as SQL: the ORM's Tuple lookup writes the same, at a few times the CPU
            table = connection.ops.quote_name(model._meta.db_table)
            sql, params = keyset_sql(
                [f"{table}.{connection.ops.quote_name(c)}" for c in columns], keys, values, backwards
            )
            return RawSQL(sql, tuple(params), output_field=BooleanField())  # noqa: S611 - columns of the model
        before = keys[0].descending != backwards
        lookup = TupleLessThan if before else TupleGreaterThan
        return lookup(Tuple(*(F(key.field) for key in keys)), tuple(values))
    condition = Q(pk__in=[])
    prefix = Q()
    for key, value in zip(keys, values, strict=True):
        beyond = _beyond(key, value, backwards)
        if beyond is not None:
            condition |= prefix & beyond
        prefix &= _equal(key, value)
    return condition


def keyset_sql(
    columns: list[str], keys: list[OrderKey], values: list, backwards: bool, placeholders: list[str] | None = None
) -> tuple[str, list]:
    """keyset_filter as SQL on these column expressions (one per key), with its parameters. `placeholders`, one per
    key, write a value otherwise than `%s` (e.g. through the expression its column is sorted by)."""
    if _is_row_comparison(keys):
        before = keys[0].descending != backwards
        row = ", ".join(placeholders or ["%s"] * len(values))
        return f"({', '.join(columns)}) {'<' if before else '>'} ({row})", list(values)
    placeholders = placeholders or ["%s"] * len(values)
    terms, params = [], []
    prefix, prefix_params = [], []
    for column, key, value, placeholder in zip(columns, keys, values, placeholders, strict=True):
        beyond, beyond_params = _beyond_sql(column, key, value, backwards, placeholder)
        if beyond is not None:
            terms.append("(" + " AND ".join([*prefix, beyond]) + ")")
            params += [*prefix_params, *beyond_params]
        if value is None and key.nullable:
            prefix.append(f"{column} IS NULL")
        else:
            prefix.append(f"{column} = {placeholder}")
            prefix_params.append(value)
    return ("(" + " OR ".join(terms) + ")" if terms else "FALSE"), params


def _beyond_sql(column: str, key: OrderKey, value, backwards: bool, placeholder: str) -> tuple[str | None, list]:
    if not key.nullable:  # (a value of None here goes through its placeholder's expression)
        return f"{column} {'<' if key.descending != backwards else '>'} {placeholder}", [value]
    if not backwards:
        if value is None:
            return None, []
        return f"({column} {'<' if key.descending else '>'} {placeholder} OR {column} IS NULL)", [value]
    if value is None:
        return f"{column} IS NOT NULL", []
    return f"{column} {'>' if key.descending else '<'} {placeholder}", [value]


def row_value(row, path: str):
    """The value of an ordering key on a row (`a__b` follows relations; a related object gives its pk).
    Rows read with .values() are dicts keyed by the same paths."""
    if isinstance(row, dict):
        return row[path]
    value = row
    for part in path.split("__"):
        value = getattr(value, part) if value is not None else None
    return value.pk if hasattr(value, "_meta") else value
