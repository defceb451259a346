"""Accept-header parsing and WADO-RS transfer-syntax negotiation."""

from __future__ import annotations

import pytest
from pydicom.uid import JPEG2000, ExplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless

from node.dicom.accept import parse_accept
from node.dicom.negotiation import AS_STORED, negotiate_frames, negotiate_instances
from node.errors import UnsupportedTransferSyntaxError

ELE = str(ExplicitVRLittleEndian)


def test_parse_accept_orders_by_quality_and_unquotes() -> None:
    ranges = parse_accept(
        'image/png;q=0.5, multipart/related; type="application/dicom"; transfer-syntax=*'
    )
    assert [r.media_type for r in ranges] == ["multipart/related", "image/png"]
    assert ranges[0].part_type == "application/dicom"
    assert ranges[0].transfer_syntax == "*"
    assert parse_accept(None)[0].media_type == "*/*"
    assert parse_accept("text/html;q=0") == []


@pytest.mark.parametrize(
    ("accept", "stored", "expected"),
    [
        ('multipart/related; type="application/dicom"; transfer-syntax=*', JPEG2000, AS_STORED),
        ("*/*", JPEG2000, AS_STORED),
        ('multipart/related; type="application/dicom"', JPEG2000, ELE),
        ('multipart/related; type="application/dicom"', ELE, AS_STORED),
        (
            f'multipart/related; type="application/dicom"; transfer-syntax={RLELossless}',
            RLELossless,
            AS_STORED,
        ),
    ],
)
def test_instance_syntax(accept: str, stored: str, expected: str) -> None:
    assert negotiate_instances(parse_accept(accept), {str(stored)}) == expected


def test_instance_syntax_refuses_what_it_cannot_produce() -> None:
    accept = f'multipart/related; type="application/dicom"; transfer-syntax={JPEGBaseline8Bit}'
    with pytest.raises(UnsupportedTransferSyntaxError, match="transfer-syntax="):
        negotiate_instances(parse_accept(accept), {ELE})
    with pytest.raises(UnsupportedTransferSyntaxError):
        negotiate_instances(parse_accept("application/pdf"), {ELE})


def test_frames() -> None:
    octet = 'multipart/related; type="application/octet-stream"'
    decoded = negotiate_frames(parse_accept(octet), str(JPEG2000))
    assert decoded.decode and decoded.content_type.endswith(f"transfer-syntax={ELE}")
    stored = negotiate_frames(parse_accept(f"{octet}; transfer-syntax=*"), str(JPEG2000))
    assert not stored.decode and stored.content_type.endswith(f"transfer-syntax={JPEG2000}")
    image = negotiate_frames(parse_accept('multipart/related; type="image/jp2"'), str(JPEG2000))
    assert not image.decode and image.content_type.startswith("image/jp2")
    rle = negotiate_frames(
        parse_accept('multipart/related; type="image/x-dicom-rle"'), str(RLELossless)
    )
    assert rle.content_type.startswith("image/dicom-rle")
    native = negotiate_frames(parse_accept("*/*"), ELE)
    assert native.content_type.startswith("application/octet-stream")
    with pytest.raises(UnsupportedTransferSyntaxError):
        negotiate_frames(parse_accept('multipart/related; type="image/jpeg"'), str(JPEG2000))
