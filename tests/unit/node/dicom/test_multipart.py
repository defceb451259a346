"""The incremental multipart/related parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.dicom.multipart import MultipartRelatedParser, parse_multipart_related_type
from node.errors import InstanceTooLargeError, MultipartError, UnsupportedMediaTypeError
from tests.dicom_samples import multipart_body


def _parse(body: bytes, boundary: str, chunk: int, limit: int = 1 << 20) -> list[bytes]:
    parser = MultipartRelatedParser(boundary, max_part_bytes=limit)
    parts = []
    for start in range(0, len(body), chunk):
        parts.extend(p.body for p in parser.feed(body[start : start + chunk]))
    parser.close()
    return parts


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=5),
    chunk=st.integers(min_value=1, max_value=97),
)
def test_any_chunking_yields_the_same_parts(parts: list[bytes], chunk: int) -> None:
    body, content_type = multipart_body(parts)
    boundary, part_type = parse_multipart_related_type(content_type)
    assert part_type == "application/dicom"
    assert _parse(body, boundary, chunk) == parts


def test_part_bodies_that_contain_boundary_like_bytes() -> None:
    tricky = [b"--not-the-boundary\r\n", b"\r\n--harmonia", b"\r\n\r\n"]
    body, content_type = multipart_body(tricky)
    boundary, _ = parse_multipart_related_type(content_type)
    assert _parse(body, boundary, 7) == tricky


def test_headers_are_parsed_and_preamble_ignored() -> None:
    body = (
        b"preamble text\r\n--b\r\nContent-Type: application/dicom\r\nX-Extra: 1\r\n\r\n"
        b"DATA\r\n--b--\r\nepilogue"
    )
    parser = MultipartRelatedParser("b", max_part_bytes=100)
    (part,) = parser.feed(body)
    parser.close()
    assert part.content_type == "application/dicom"
    assert part.headers["x-extra"] == "1"
    assert part.body == b"DATA"


def test_truncated_body_is_an_error() -> None:
    body, content_type = multipart_body([b"abc", b"def"])
    boundary, _ = parse_multipart_related_type(content_type)
    parser = MultipartRelatedParser(boundary, max_part_bytes=100)
    parser.feed(body[:-20])
    with pytest.raises(MultipartError, match="closing boundary"):
        parser.close()


def test_oversized_part_is_refused_before_it_is_buffered_whole() -> None:
    body, content_type = multipart_body([b"x" * 5000])
    boundary, _ = parse_multipart_related_type(content_type)
    parser = MultipartRelatedParser(boundary, max_part_bytes=1000)
    with pytest.raises(InstanceTooLargeError):
        for start in range(0, len(body), 256):
            parser.feed(body[start : start + 256])


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (None, UnsupportedMediaTypeError),
        ("application/json", UnsupportedMediaTypeError),
        ("multipart/form-data; boundary=x", UnsupportedMediaTypeError),
        ('multipart/related; type="application/dicom"', MultipartError),
    ],
)
def test_bad_content_types(header: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_multipart_related_type(header)


def test_garbage_after_boundary_is_an_error() -> None:
    parser = MultipartRelatedParser("b", max_part_bytes=100)
    with pytest.raises(MultipartError):
        parser.feed(b"--bGARBAGE\r\n\r\nx\r\n--b--")


def test_orthancs_73_character_boundary_is_accepted() -> None:
    uuid = "b6324096-43e8-4bfa-a8e2-df31f0402dbd"
    boundary = f"{uuid}-{uuid}"  # what Orthanc 1.10's DICOMweb client sends (RFC 2046 says 70)
    header = f'multipart/related; type="application/dicom"; boundary={boundary}'
    assert parse_multipart_related_type(header) == (boundary, "application/dicom")
    body = f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--{boundary}--"
    assert _parse(body.encode(), boundary, 5) == [b"DICM"]
    with pytest.raises(MultipartError):
        parse_multipart_related_type(f"multipart/related; boundary={'x' * 201}")
