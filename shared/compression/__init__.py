"""Compressing model updates before they travel: fp16 or 8-bit, pure NumPy.

:func:`encode_arrays` / :func:`decode_arrays` with a
:class:`~shared.schemas.Compression` method; :func:`error_bound` states the
per-element error each method may introduce (tests hold them to it).
"""

from shared.compression.codec import decode_arrays, encode_arrays, encoded_bytes, error_bound
from shared.compression.errors import CompressionError

__all__ = ["CompressionError", "decode_arrays", "encode_arrays", "encoded_bytes", "error_bound"]
