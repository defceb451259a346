"""``harmonia-node serve`` as a real process: bootstrap token, STOW, and kill -9 durability."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from node.runtime import open_node
from node.settings import NodeSettings
from node.store import Level, SearchRequest
from shared.phantoms import SITE_STYLES, PhantomSpec, dataset_to_bytes, generate_series
from tests.dicom_samples import multipart_body, pydicom_file
from tests.support.node_process import running_node

pytestmark = pytest.mark.integration


def _stow(url: str, token: str, parts: list[bytes]) -> httpx.Response:
    body, content_type = multipart_body(parts)
    return httpx.post(
        f"{url}/dicom-web/studies",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        timeout=60,
    )


def test_generated_admin_token_is_printed_once_and_works(tmp_path: Path) -> None:
    with running_node(tmp_path / "node", bootstrap_token=None) as node:
        match = re.search(r"^\s+(hn_\S+)$", node.output(), re.MULTILINE)
        assert match, node.output()
        token = match.group(1)
        assert "/dicom-web" in node.output() and "/healthz" in node.output()
        assert "/ui/" in node.output() and "harmonia-node user create" in node.output()
        response = httpx.get(
            f"{node.url}/api/v1/tokens", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        assert httpx.get(f"{node.url}/api/v1/tokens").status_code == 401
    with running_node(tmp_path / "node", bootstrap_token=None) as again:
        assert "hn_" not in again.output()  # only the first start prints a token


def test_a_save_survives_kill_9_right_after_it_returns(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    with running_node(data_dir) as node:
        response = _stow(node.url, node.token, [pydicom_file("CT_small.dcm").read_bytes()])
        assert response.status_code == 200
        node.kill9()
    with open_node(NodeSettings(data_dir=data_dir)) as runtime:
        (found,) = runtime.store.search_instances(SearchRequest(Level.INSTANCE))
        record, _series = found
        assert runtime.store.read(record)[128:132] == b"DICM"
    with running_node(data_dir) as node:
        assert node.process.poll() is None


def _phantom_parts(count: int) -> Iterator[bytes]:
    spec = PhantomSpec(
        modality="CT",
        rows=256,
        columns=256,
        slices=count,
        seed=7,
        style=SITE_STYLES["siemens-like"],
    )
    for ds in generate_series(spec).datasets():
        yield dataset_to_bytes(ds)


def test_kill_9_during_ingest_leaves_no_half_record(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    parts = list(_phantom_parts(120))
    body, content_type = multipart_body(parts)
    with running_node(data_dir) as node:

        def slow_body() -> Iterator[bytes]:
            for start in range(0, len(body), 256 * 1024):
                yield body[start : start + 256 * 1024]

        def upload() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it: expected
                httpx.post(
                    f"{node.url}/dicom-web/studies",
                    content=slow_body(),
                    headers={"Authorization": f"Bearer {node.token}", "Content-Type": content_type},
                    timeout=60,
                )

        sender = threading.Thread(target=upload)
        sender.start()
        with open_node(NodeSettings(data_dir=data_dir)) as observer:
            deadline = 600
            while observer.store.count_instances() < 10 and deadline:
                deadline -= 1
                threading.Event().wait(0.05)
        node.kill9()
        sender.join(timeout=60)
    with open_node(NodeSettings(data_dir=data_dir)) as runtime:
        stored = runtime.store.count_instances()
        assert 10 <= stored < 120
        files = set(runtime.store.blobs.digests())
        assert len(files) == stored  # orphans were swept at open; every row has its file
        assert not list((data_dir / "instances" / "tmp").iterdir())
        for digest in files:
            assert len(runtime.store.blobs.get(digest)) > 0
