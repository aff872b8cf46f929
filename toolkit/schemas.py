"""JSON Schemas for the formats a writer edits, generated from `toolkit.fields`.

The same declarations drive `toolkit check`, so an editor that validates with these
schemas agrees with the check (the check knows more: unknown snippets, archive links...).
"""

from __future__ import annotations

from . import fields


def all_schemas() -> dict[str, dict]:
    lab = fields.json_schema(fields.LAB, "Lab")
    entry = fields.json_schema(fields.ARCHIVE_ENTRY, "Archived copy")
    document = fields.json_schema(fields.DOCUMENT, "Company document")
    for s in (lab, entry, document):
        s.pop("$schema")
    post = fields.json_schema(
        fields.POST,
        "Post front matter",
        "The YAML between the --- lines at the top of posts/*.md.",
    )
    # A title is required unless the file is shortform (a quick take has none).
    post["if"] = {"properties": {"kind": {"const": "shortform"}}, "required": ["kind"]}
    post["else"] = {"required": ["title"]}
    return {
        "post.schema.json": post,
        "snippet.schema.json": fields.json_schema(
            fields.SNIPPET, "Snippet front matter", "One claim by one company: snippets/**/<id>.md."
        ),
        "labs.schema.json": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "snippets/labs.yaml",
            "description": "Lab keys (used in snippets' `lab:`) and the companies they name.",
            "type": "object",
            "propertyNames": {"pattern": "^[a-z0-9][a-z0-9-]*$"},
            "additionalProperties": lab,
        },
        "archives.schema.json": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "archives.yaml",
            "description": "Archived copies of plain links in posts, by URL.",
            "type": "object",
            "propertyNames": {"pattern": "^https?://"},
            "additionalProperties": entry,
        },
        "documents.schema.json": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "documents.yaml",
            "description": "Company documents by id (cited as [@id], or named by a "
            "snippet's `source:`), with the versions `toolkit watch` recorded.",
            "type": "object",
            "propertyNames": {"pattern": fields.SLUG_RE.pattern, "maxLength": fields.NAME_MAX},
            "additionalProperties": document,
        },
        "toolkit.schema.json": fields.json_schema(
            fields.config_fields(), "toolkit.toml", "Site settings."
        ),
    }
