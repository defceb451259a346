"""Part 10 output: a dataset as bytes, a series as a directory of files."""

from __future__ import annotations

import io
from pathlib import Path

from pydicom import dcmwrite
from pydicom.dataset import Dataset

from shared.phantoms.series import PhantomSeries

__all__ = ["dataset_to_bytes", "series_file_name", "write_series"]


def dataset_to_bytes(ds: Dataset) -> bytes:
    """Return ``ds`` encoded as a DICOM Part 10 file.

    Parameters
    ----------
    ds
        A dataset with a file meta group (every phantom dataset has one).

    Returns
    -------
    bytes
        128-byte preamble, ``DICM``, the file meta group and the dataset in
        the transfer syntax its file meta names.
    """
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def series_file_name(series: PhantomSeries, index: int) -> str:
    """Return the file name :func:`write_series` gives slice ``index``."""
    spec = series.spec
    return f"{spec.modality.value}_S{spec.series_number:04d}_I{index + 1:05d}.dcm"


def write_series(series: PhantomSeries, directory: str | Path) -> list[Path]:
    """Write every slice of ``series`` as a Part 10 file, one slice in memory at a time.

    Parameters
    ----------
    series
        The series to write.
    directory
        Created if missing; existing files of the same names are replaced.

    Returns
    -------
    list of pathlib.Path
        The files, in InstanceNumber order, named by :func:`series_file_name`.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for index, ds in enumerate(series.datasets()):
        path = target / series_file_name(series, index)
        path.write_bytes(dataset_to_bytes(ds))
        paths.append(path)
    return paths
