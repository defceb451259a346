"""The public API of node.export is exactly this list, and it imports no web framework."""

import subprocess
import sys

import node.export as export

EXPECTED = [
    "CONSENSUS",
    "MANIFEST_NAME",
    "ExportFormat",
    "ExportManifest",
    "ProjectContent",
    "ProjectExporter",
    "SegImportPlan",
    "SegImporter",
    "Skipped",
    "TaskContent",
    "Written",
    "is_segmentation",
    "load_project",
    "zip_folder",
]


def test_export_list_is_exact() -> None:
    assert export.__all__ == EXPECTED
    for name in export.__all__:
        assert getattr(export, name) is not None


def test_domain_does_not_import_fastapi() -> None:
    code = "import sys, node.export; print('fastapi' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
