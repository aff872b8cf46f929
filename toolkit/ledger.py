"""published.yaml: where each post was pushed, and what the remote draft looked like.

    paris-frameworks-compared:          # the post's slug
      substack:
        id: 12345                       # the remote draft
        url: https://name.substack.com/publish/post/12345
        sent_hash: 3f1c...              # sha256 of what we sent
        sent_at: '2026-11-27T12:00:00Z'
        remote:                         # the draft as the service returned it then
          updated_at: '2026-11-27T12:00:01.123Z'
          content_hash: 9ab0...
      lesswrong:
        pending:                        # a create was started and not yet recorded
          since: '2026-11-27T12:00:00Z'
          title: The Paris frameworks, side by side

The file is machine-written but the writer's: ruamel.yaml's round trip keeps comments and
key order, and every save replaces the file atomically, so it is never half-written.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from . import yamlfile
from .content import LEDGER_FILE
from .errors import Problem
from .output import write_file

LEDGER = LEDGER_FILE

HEADER = (
    "Where each post was pushed: written by `toolkit publish`. Commit it; editing it by\n"
    "hand is safe (a missing entry means the next publish creates a new draft).\n"
)


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and quoting survive
    yaml.default_flow_style = False
    yaml.width = 4096
    return yaml


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class LedgerError(Problem):
    """published.yaml cannot be read; the message says where and why."""


def _parse_problem(name: str, error: Exception) -> str:
    """One line: where the YAML broke, how, and why fixing it by hand matters."""
    mark = getattr(error, "problem_mark", None)
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
    problem = getattr(error, "problem", None) or (str(error).splitlines() or [""])[0]
    return (
        f"{where}: does not parse ({problem}); fix it by hand: it is how publish finds "
        "the drafts it already made"
    )


class Ledger:
    def __init__(self, path: Path):
        self.path = path
        self.yaml = _yaml()
        if path.exists():
            text = path.read_text(encoding="utf-8")
            # ruamel keeps an alias as a shared object, but reading an entry copies it out.
            if (problem := yamlfile.expansion_problem(text)) is not None:
                line, column, message = problem
                raise LedgerError(f"{path.name}:{line}:{column}: {message}")
            try:
                data = self.yaml.load(text)
            except Exception as e:  # ruamel raises many kinds; all mean "fix the file"
                raise LedgerError(_parse_problem(path.name, e)) from None
            if data is not None and not isinstance(data, dict):
                raise LedgerError(f"{path.name} must map post slugs to services")
            self.data = data if data is not None else CommentedMap()
        else:
            self.data = CommentedMap()
            self.data.yaml_set_start_comment(HEADER)

    def entry(self, slug: str, service: str) -> dict[str, Any]:
        """A plain copy of the entry (empty when the post was never pushed there)."""
        return _plain(dict(self.data.get(slug, {}).get(service, {}) or {}))

    def meta(self, service: str) -> dict[str, Any]:
        return self.entry(f"_{service}", "meta")

    def set(self, slug: str, service: str, values: dict[str, Any]) -> None:
        """Replace one entry and save the file at once."""
        post = self.data.setdefault(slug, CommentedMap())
        entry = post.setdefault(service, CommentedMap())
        for key in list(entry):
            if key not in values:
                del entry[key]
        for key, value in values.items():
            entry[key] = value
        self.save()

    def set_meta(self, service: str, values: dict[str, Any]) -> None:
        self.set(f"_{service}", "meta", values)

    def save(self) -> None:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        write_file(self.path, out.getvalue().encode("utf-8"))
