"""Interoperability: export a project's annotations, import readers' DICOM SEG.

- :class:`ProjectExporter` writes consensus and per-reader annotations as DICOM
  SEG, DICOM SR (TID 1500), NIfTI or COCO JSON into a folder with a
  ``manifest.json`` (:func:`zip_folder` packs it for the API);
- :class:`SegImporter` turns a DICOM SEG a reader sends by STOW-RS into mask
  annotation revisions by that reader.

No FastAPI here; the formats themselves live in :mod:`shared.formats`.
"""

from node.export.content import CONSENSUS, ProjectContent, TaskContent, load_project
from node.export.exporter import MANIFEST_NAME, ExportManifest, ProjectExporter, zip_folder
from node.export.seg_import import SegImporter, SegImportPlan, is_segmentation
from node.export.writers import ExportFormat, Skipped, Written

__all__ = [
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
