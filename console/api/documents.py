"""Request bodies that carry FORMATS.md documents: JSON or YAML, by Content-Type."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from console.api.problems import ApiProblem

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
JSON_TYPES = ("application/json",)
DOCUMENT_BODY = {  # OpenAPI description of such a body (the schema itself is FORMATS.md's)
    "requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object"}},
        "application/yaml": {"schema": {"type": "string"}},
    }},
}


async def read_document_body(request: Request, what: str) -> Any:
    """The parsed body; 415 for another media type, 422 naming the line for a syntax error."""
    from engine.documents import DocumentError, _yaml_problem

    media = (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if media not in YAML_TYPES + JSON_TYPES and not media.endswith("+json"):
        raise ApiProblem(415, "Unsupported media type", f"send the {what} as application/json or application/yaml")
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(what, [f"the body is not UTF-8 text (byte {exc.start})"]) from None
    if not text.strip():
        raise DocumentError(what, ["the body is empty"])
    try:
        if media in YAML_TYPES:
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(what, [f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    except Exception as exc:  # noqa: BLE001 - yaml errors, and a YAML bomb's RecursionError
        import yaml

        if isinstance(exc, yaml.YAMLError):
            raise DocumentError(what, [_yaml_problem(exc)]) from None
        raise DocumentError(what, [f"cannot parse the body: {type(exc).__name__}"]) from None
