"""DICOM handling on the hospital node: ingest, de-identification and rendering.

Each concern lives in its own subpackage or module (``node.dicom.deid`` and the
ingest, render and SCP modules beside it); import from those directly. This
package init deliberately re-exports nothing, so modules can be added beside
each other without touching it.
"""
