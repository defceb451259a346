"""``POST /api/projects/{name}/export?format=...``: a project's annotations as a zip."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from node.api.deps import Exporter, Runtime
from node.export import ExportFormat, ProjectExporter, zip_folder
from node.runtime import NodeRuntime

router = APIRouter(prefix="/api/projects", tags=["export"])

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@router.post("/{name}/export")
async def export_project(
    name: str,
    runtime: Runtime,
    principal: Exporter,
    fmt: Annotated[ExportFormat, Query(alias="format")],
) -> Response:
    """Export consensus and per-reader annotations; the zip holds ``manifest.json``.

    404 when there is no such project; the export is recorded in the audit log.
    """
    data = await run_in_threadpool(_export, runtime, name, fmt, principal.username)
    filename = f"{_UNSAFE.sub('_', name)}-{fmt.value}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _export(runtime: NodeRuntime, name: str, fmt: ExportFormat, actor: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="harmonia-export-") as tmp:
        out = Path(tmp) / "export"
        ProjectExporter(runtime.engine, runtime.store, audit=runtime.audit).export(
            name, fmt, out, actor=actor
        )
        return zip_folder(out)
