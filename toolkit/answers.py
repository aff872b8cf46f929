"""What services answer, checked for shape where it is parsed.

A service can answer anything: an error object where a table belongs, a number, a list
nested 100,000 deep, a user that is a string. Each client says what it expects with a
small shape and `expect` checks the answer against it, so code that reads the answer can
index it without a guard, and anything else is one clear line that names the service.

Shapes: a type (`str`, `int`, `dict`, `list`, `object` for anything; `int` never takes a
bool), a tuple of shapes (any of them), `[shape]` (a list whose every item has it),
`{key: shape}` (a mapping with at least those keys; other keys are let through
unchecked), `Maybe(shape)` (that shape or null; a key with it may also be absent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class UnexpectedAnswer(ValueError):
    """A service answered something we cannot read; the message names it."""

    def __init__(self, service: str, detail: str):
        super().__init__(
            f"{service} answered something unexpected ({detail}); try again later, "
            "and report it if it lasts"
        )
        self.service = service


@dataclass(frozen=True)
class Maybe:
    """A value that may be null (or, in a mapping, absent)."""

    shape: Any


def parse_json(data: bytes | str, service: str) -> Any:
    """The JSON value of an answer; UnexpectedAnswer when it is not JSON, or is nested
    deeper than Python's parser can follow."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: `[[[[...` 100,000 deep
        raise UnexpectedAnswer(service, "not JSON we can read") from None


def expect(value: Any, shape: Any, service: str, what: str = "the answer") -> Any:
    """`value`, when it has `shape`; else UnexpectedAnswer saying where it did not."""
    problem = _mismatch(value, shape, what)
    if problem is not None:
        raise UnexpectedAnswer(service, problem)
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    names: dict[type, str] = {dict: "an object", list: "a list", str: "text"}
    return names.get(type(value), "a number")


def _mismatch(value: Any, shape: Any, where: str) -> str | None:
    if isinstance(shape, Maybe):
        return None if value is None else _mismatch(value, shape.shape, where)
    if isinstance(shape, tuple):
        for option in shape:
            if _mismatch(value, option, where) is None:
                return None
        return f"{where} is {_describe(value)}"
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{where} is {_describe(value)}, not a list"
        for i, item in enumerate(value):
            problem = _mismatch(item, shape[0], f"{where}[{i}]")
            if problem is not None:
                return problem
        return None
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{where} is {_describe(value)}, not an object"
        for key, sub in shape.items():
            problem = _mismatch(value.get(key), sub, f"{where}.{key}")
            if problem is not None:
                return problem
        return None
    if shape is object:
        return None
    if shape is int and isinstance(value, bool):
        return f"{where} is {_describe(value)}, not a number"
    if not isinstance(value, shape):
        wanted = {str: "text", int: "a number", dict: "an object", list: "a list"}.get(
            shape, shape.__name__
        )
        return f"{where} is {_describe(value)}, not {wanted}"
    return None
