"""Query-parameter parsing shared by every list: multi-value params and bounded integers."""

from __future__ import annotations

from p360.api.problems import FieldErrors


def multi_value(params, name: str) -> list[str]:
    """`a=x,y` and `a=x&a=y` alike, blanks dropped."""
    values: list[str] = []
    for raw in params.getlist(name):
        values += [part.strip() for part in raw.split(",") if part.strip()]
    return values


def bounded_int(params, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise FieldErrors([(name, "invalid", f"{name} must be an integer, not {raw!r}.")]) from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise FieldErrors([(name, "out_of_range", f"{name} must be {bound}; got {value}.")])
    return value
