"""The annotator UI is served at /ui/ with a strict CSP; / redirects there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.api.routes.ui import CONTENT_SECURITY_POLICY, common_ui_directory, ui_directory
from node.runtime import NodeRuntime


@pytest.fixture
def client(runtime: NodeRuntime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime=runtime), follow_redirects=False)


def test_root_redirects_to_the_ui(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 307
    assert answer.headers["location"] == "/ui/"


def test_ui_without_its_slash_redirects_to_it(client: TestClient) -> None:
    answer = client.get("/ui")
    assert answer.status_code == 307
    assert answer.headers["location"].endswith("/ui/")


def test_index_is_served_with_a_strict_content_security_policy(client: TestClient) -> None:
    answer = client.get("/ui/")
    assert answer.status_code == 200
    assert "<title>Harmonia annotator</title>" in answer.text
    policy = answer.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


def test_modules_are_javascript_and_missing_files_still_carry_the_policy(
    client: TestClient,
) -> None:
    module = client.get("/ui/viewer/viewer.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    missing = client.get("/ui/no-such-file.js")
    assert missing.status_code == 404
    assert missing.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_ui_has_no_inline_script_or_style_and_fetches_nothing_from_outside() -> None:
    root = ui_directory()
    index = (root / "index.html").read_text()
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index) is None  # no inline script
    assert " style=" not in index and "<style" not in index
    assert re.search(r"<[^>]*\son[a-z]+=", index) is None  # no inline event handlers
    for path in sorted(Path(root).rglob("*")):
        if path.suffix in {".html", ".js", ".css"}:
            text = path.read_text()
            # XML namespace names (SVG's) are identifiers, never fetched
            urls = re.findall(r"https?://[^\s\"')]+", text)
            assert all(url.startswith("http://www.w3.org/") for url in urls), (path, urls)
            assert "innerHTML" not in text and "eval(" not in text, path


def _served_file(module: Path, target: str) -> Path:
    """The file an import resolves to as served: ``/ui/common/`` is ``shared/ui``."""
    url = (module.parent / target).resolve().relative_to(Path(ui_directory()).resolve())
    if url.parts and url.parts[0] == "common":
        return Path(common_ui_directory()).joinpath(*url.parts[1:])
    return Path(ui_directory()).joinpath(url)


def test_every_module_an_import_names_exists() -> None:
    root = ui_directory()
    for module in sorted(root.rglob("*.js")):
        for target in re.findall(r'from "(\.[^"]+)"', module.read_text()):
            assert _served_file(module, target).is_file(), f"{module.name} imports {target}"


def test_the_shared_modules_are_served_under_common(client: TestClient) -> None:
    charts = client.get("/ui/common/charts.js")
    assert charts.status_code == 200
    assert charts.headers["content-type"].startswith("text/javascript")
    assert charts.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "export function barChart" in charts.text
