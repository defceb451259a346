"""WADO-RS metadata (PS3.18 §10.4.1.1.2): an instance's header as DICOM JSON.

Bulk values are not inlined: Pixel Data and large binary attributes at the top
level of the dataset become ``BulkDataURI`` links to the node's
``/bulkdata/{tag}`` resource. Nested binary values stay inline. The File
Meta Transfer Syntax UID (0002,0010) is included: OHIF's image loader decodes
frames by it.
"""

from __future__ import annotations

import logging
from typing import Any

from pydicom import Dataset
from pydicom.dataelem import DataElement

from node.dicom.dicomjson import BINARY_VRS

__all__ = ["BULK_THRESHOLD", "bulkdata_url", "instance_metadata"]

_log = logging.getLogger(__name__)

BULK_THRESHOLD = 1024
"""Binary values longer than this many bytes are linked rather than inlined."""


def bulkdata_url(instance_url: str, tag: int) -> str:
    """The URL of one top-level bulk attribute of an instance."""
    return f"{instance_url}/bulkdata/{tag:08X}"


def _is_bulk(elem: DataElement) -> bool:
    if elem.tag == 0x7FE00010:
        return True
    if elem.VR not in BINARY_VRS or elem.value is None:
        return False
    return len(elem.value) > BULK_THRESHOLD


def instance_metadata(ds: Dataset, instance_url: str) -> dict[str, Any]:
    """The DICOM JSON metadata of one instance.

    Parameters
    ----------
    ds
        The stored instance, read with its File Meta Information.
    instance_url
        The instance's WADO-RS URL; bulk data links hang below it.
    """
    result: dict[str, Any] = {}
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if syntax:
        result["00020010"] = {"vr": "UI", "Value": [str(syntax)]}
    for elem in ds:
        key = f"{elem.tag:08X}"
        if _is_bulk(elem):
            vr = "OW" if " or " in elem.VR else elem.VR
            result[key] = {"vr": vr, "BulkDataURI": bulkdata_url(instance_url, elem.tag)}
            continue
        try:
            result[key] = elem.to_json_dict(
                bulk_data_element_handler=None, bulk_data_threshold=2**31
            )
        except Exception as exc:  # one malformed stored value must not hide the instance
            _log.warning("metadata: leaving out %s of %s: %s", key, instance_url, exc)
    return dict(sorted(result.items()))
