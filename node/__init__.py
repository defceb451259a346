"""The Harmonia hospital node: DICOM ingest, de-identification, store and DICOMweb."""
