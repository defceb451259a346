"""Generate the HTTP API reference of both services from their OpenAPI documents.

Builds the node's and the coordinator's apps with ``create_app(settings)`` on a
temporary data directory (nothing is opened, nothing listens: an app opens its
runtime only when it starts serving), and writes, under ``docs/api/``:

- ``node.openapi.json`` and ``coordinator.openapi.json``: the raw documents;
- ``node.md`` and ``coordinator.md``: the endpoints grouped by tag, each with
  its method, path, summary, the credentials it needs (read from the route's
  dependencies: the permission, the roles and token scopes that grant it, or
  the enrolled site's client certificate), its parameters, request body and
  responses in brief, then the schemas they name.

Run: ``python scripts/api_reference.py`` (write) or ``--check`` (exit 1 when
the committed files differ from what the code gives; the test suite runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "api"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


# -- building the apps -------------------------------------------------------------------------


def build_apps(data_root: Path) -> dict[str, Any]:
    """Both services' FastAPI apps, built from settings on ``data_root`` (not started)."""
    from coordinator.api import create_app as coordinator_app
    from coordinator.settings import CoordinatorSettings
    from node.api import create_app as node_app
    from node.settings import NodeSettings

    return {
        "node": node_app(NodeSettings(data_dir=data_root / "node")),
        "coordinator": coordinator_app(CoordinatorSettings(data_dir=data_root / "coordinator")),
    }


# -- who may call a route ----------------------------------------------------------------------


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _node_grants(permission: str) -> str:
    from node.auth import ROLE_PERMISSIONS, Permission
    from node.auth.principals import SCOPE_PERMISSIONS

    wanted = Permission(permission)
    roles = [r.value for r, held in ROLE_PERMISSIONS.items() if wanted in held]
    scopes = [s.value for s, held in SCOPE_PERMISSIONS.items() if wanted in held]
    return f"roles {', '.join(roles)}; token scopes {', '.join(scopes)}"


def _coordinator_grants(permission: str) -> str:
    from coordinator.auth import ROLE_PERMISSIONS, Permission

    wanted = Permission(permission)
    roles = [r.value for r, held in ROLE_PERMISSIONS.items() if wanted in held]
    return f"roles {', '.join(roles)}"


def route_auth(service: str, route: Any) -> str:
    """The credentials a route declares, in words."""
    names = [getattr(call, "__name__", "") for call in _calls(route.dependant)]
    grants = _node_grants if service == "node" else _coordinator_grants
    for name in names:
        if name.startswith("requires_"):
            permission = name.removeprefix("requires_")
            return f"`{permission}` permission ({grants(permission)})"
    if "enrolled_site" in names:
        return "an enrolled, unrevoked site's client certificate (mutual TLS, site listener)"
    if {"current_principal", "current_admin"} & set(names):
        return "any signed-in caller (bearer token or session)"
    return "none declared (public, or checked by the handler as its description says)"


# -- rendering ---------------------------------------------------------------------------------


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return "—"
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "items" in schema:
        return f"list of {_schema_name(schema['items'])}"
    for union in ("anyOf", "oneOf", "allOf"):
        if union in schema:
            return " or ".join(_schema_name(s) for s in schema[union])
    kind = schema.get("type", "any")
    return "JSON object" if kind == "object" else str(kind)


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _operation(method: str, path: str, op: dict[str, Any], auth: str) -> list[str]:
    description = (op.get("description") or "").strip()
    first = description.split("\n\n", 1)[0]
    lines = [f"### `{method.upper()} {path}`", ""]
    lines += [f"**{op.get('summary', '')}**" + (f" — {_one_line(first)}" if first else ""), ""]
    lines.append(f"- Auth: {auth}")
    parameters = op.get("parameters", [])
    if parameters:
        shown = []
        for parameter in parameters:
            flag = "" if parameter.get("required") else "?"
            kind = _schema_name(parameter.get("schema"))
            shown.append(f"`{parameter['name']}{flag}` ({parameter['in']}, {kind})")
        lines.append("- Parameters: " + ", ".join(shown))
    body = op.get("requestBody")
    if body:
        content = body.get("content", {})
        parts = [f"{kind}: {_schema_name(c.get('schema'))}" for kind, c in content.items()]
        lines.append("- Request body: " + "; ".join(parts))
    responses = []
    for code, response in sorted(op.get("responses", {}).items()):
        media: dict[str, dict[str, Any]] = response.get("content", {})
        schema = next(iter(media.values())).get("schema") if media else None
        shape = f" {_schema_name(schema)}" if schema else ""
        responses.append(f"{code}{shape}")
    if responses:
        lines.append("- Responses: " + ", ".join(responses))
    lines.append("")
    return lines


def _schemas(spec: dict[str, Any]) -> list[str]:
    schemas = spec.get("components", {}).get("schemas", {})
    if not schemas:
        return []
    lines = ["## Schemas", ""]
    for name in sorted(schemas):
        schema = schemas[name]
        required = set(schema.get("required", []))
        fields = [
            f"`{field}{'' if field in required else '?'}` {_schema_name(value)}"
            for field, value in schema.get("properties", {}).items()
        ]
        if "enum" in schema:
            fields = [", ".join(f"`{v}`" for v in schema["enum"])]
        lines.append(f"- **{name}**: " + ("; ".join(fields) or _schema_name(schema)))
    lines.append("")
    return lines


def render(service: str, app: Any, spec: dict[str, Any]) -> str:
    """The Markdown reference of one service."""
    from fastapi.routing import iter_route_contexts  # routers stay nested in FastAPI 0.13x+

    auth = {
        (method.lower(), route.path): route_auth(service, route)
        for route in iter_route_contexts(app.routes)
        if getattr(route, "dependant", None) is not None and getattr(route, "methods", None)
        for method in route.methods or ()
    }
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((path, method, item[method]))
    info = spec["info"]
    lines = [
        f"# {info['title']} HTTP API (version {info['version']})",
        "",
        "Generated by `python scripts/api_reference.py` from the app's OpenAPI document "
        f"(`{service}.openapi.json` beside this file); a test fails when it is out of date. "
        "Do not edit by hand.",
        "",
        "A `?` after a parameter or field name: optional. Auth: the permission a route needs "
        "and who holds it.",
        "",
        "Endpoints by tag: " + ", ".join(f"[{tag}](#{tag.lower()})" for tag in sorted(by_tag)),
        "",
    ]
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for path, method, op in sorted(by_tag[tag]):
            lines += _operation(method, path, op, auth.get((method, path), "—"))
    lines += _schemas(spec)
    return "\n".join(lines).rstrip() + "\n"


def generate() -> dict[str, str]:
    """File name under ``docs/api`` → its content."""
    files = {}
    with tempfile.TemporaryDirectory(prefix="harmonia-api-reference-") as tmp:
        for service, app in build_apps(Path(tmp)).items():
            spec = app.openapi()
            files[f"{service}.openapi.json"] = json.dumps(spec, indent=2, sort_keys=True) + "\n"
            files[f"{service}.md"] = render(service, app, spec)
    return files


def main(argv: list[str] | None = None) -> int:
    """Write the reference, or with ``--check`` say which files are out of date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with docs/api instead of writing"
    )
    args = parser.parse_args(argv)
    files = generate()
    if args.check:
        stale = [
            name
            for name, text in files.items()
            if not (OUT / name).exists() or (OUT / name).read_text(encoding="utf-8") != text
        ]
        for name in stale:
            print(f"docs/api/{name} is out of date: run python scripts/api_reference.py")
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote docs/api/{name}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
