"""Every environment variable the toolkit reads, declared once with its type and default.

`read(name)` is the only way code reads one of its own variables, so a value is parsed
the same way everywhere; `problems(env)` lists every variable that is set to something
its type refuses, and the CLI turns the first into a usage error (exit 2) before any
command runs, whichever command would have read it.

Secrets (publish targets' credentials, the Wayback Machine's keys) are declared too, so
their names are listed in one place; their values are never checked, shown or logged.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Variable:
    name: str
    kind: str  # seconds | seconds0 (0 allowed) | count | flag | secret
    default: Any
    doc: str


VARIABLES = {
    v.name: v
    for v in (
        Variable(
            "TOOLKIT_HTTP_TIMEOUT",
            "seconds",
            None,
            "Seconds to wait for any one answer (fractions allowed); overrides [online] "
            "timeout, and publishing's 30 s.",
        ),
        Variable(
            "TOOLKIT_RETRY_BACKOFF",
            "seconds0",
            None,
            "Seconds before the first retry (fractions allowed), then doubling; default 1.",
        ),
        Variable(
            "TOOLKIT_SPN_POLL",
            "seconds0",
            5.0,
            "Seconds between asking Save Page Now whether a capture is done.",
        ),
        Variable("TOOLKIT_WORKERS", "count", None, "Worker processes (default: one per core)."),
        Variable("TOOLKIT_DEBUG_CACHE", "flag", False, "Say on stderr what the cache missed."),
        Variable(
            "TOOLKIT_WATCH_POLL",
            "flag",
            False,
            "`serve` polls for saves instead of the system's file-change notification "
            "(for network drives and containers where it misses them).",
        ),
        Variable("WAYBACK_ACCESS_KEY", "secret", None, "Save Page Now's S3-style access key."),
        Variable("WAYBACK_SECRET_KEY", "secret", None, "Save Page Now's S3-style secret."),
    )
}

_EXPECTED = {
    "seconds": "a number of seconds greater than 0 (like 30 or 0.5)",
    "seconds0": "a number of seconds, 0 or more",
    "count": "a whole number, 1 or more",
}


class BadValue(ValueError):
    """A variable is set to something its type refuses; the message says which and why."""


def variables() -> dict[str, Variable]:
    """The toolkit's own variables and every publish target's credential."""
    from . import targets

    found = dict(VARIABLES)
    for t in targets.TARGETS.values():
        found[t.credential] = Variable(
            t.credential, "secret", None, f"{t.label}: {t.credential_doc}."
        )
    return found


def _parse(variable: Variable, raw: str) -> Any:
    text = raw.strip()
    if variable.kind in ("secret",):
        return text or None
    if variable.kind == "flag":
        return text not in ("", "0", "false", "no")
    try:
        if variable.kind == "count":
            value: float = int(text)
            ok = value >= 1
        else:
            value = float(text)
            ok = math.isfinite(value) and (value > 0 or variable.kind == "seconds0" and value == 0)
    except ValueError:
        ok = False
    if not ok:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise BadValue(
            f"${variable.name} is `{shown.encode('unicode_escape').decode()}`; "
            f"it must be {_EXPECTED[variable.kind]}, or unset for the default"
        )
    return value


def read(name: str, env: Mapping[str, str] | None = None) -> Any:
    """The typed value of one declared variable (its default when unset or empty)."""
    variable = variables()[name]
    raw = (os.environ if env is None else env).get(name, "")
    if not raw.strip() and variable.kind != "flag":
        return variable.default
    return _parse(variable, raw)


def problems(env: Mapping[str, str] | None = None) -> list[str]:
    """A message for each declared variable that is set to a value its type refuses."""
    env = os.environ if env is None else env
    found = []
    for name, variable in variables().items():
        if variable.kind == "secret" or not env.get(name, "").strip():
            continue
        try:
            _parse(variable, env[name])
        except BadValue as e:
            found.append(str(e))
    return found
