"""Sniffing containers by their first bytes: accepted MP4/MOV, and every rejected kind named."""

from __future__ import annotations

import struct

import pytest
from displaysense.domain.file_type import ACCEPTED, SNIFF_BYTES, sniff
from hypothesis import given
from hypothesis import strategies as st


def ftyp(brand: bytes, compatible: bytes = b"isommp41") -> bytes:
    body = brand + b"\x00\x00\x02\x00" + compatible
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + struct.pack(">I", 8) + b"free"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (ftyp(b"isom"), "mp4"),
        (ftyp(b"mp42"), "mp4"),
        (ftyp(b"avc1"), "mp4"),
        (ftyp(b"XAVC"), "mp4"),  # a camera vendor's own brand: still an MP4 container
        (ftyp(b"qt  ", b"qt  "), "mov"),
        (struct.pack(">I", 8) + b"wide" + struct.pack(">I", 1000) + b"mdat", "mov"),
        (struct.pack(">I", 0) + b"mdat", "mov"),
    ],
)
def test_mp4_and_mov_are_accepted(head: bytes, kind: str) -> None:
    found = sniff(head)
    assert found.accepted
    assert found.kind == kind


def atom(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


@pytest.mark.parametrize(
    "head",
    [
        # Old QuickTime files: padding or a preview before the movie's own atoms.
        atom(b"wide") + struct.pack(">I", 1000) + b"mdat" + bytes(100),
        atom(b"free", bytes(24)) + atom(b"wide") + struct.pack(">I", 0) + b"mdat",
        atom(b"skip", bytes(8)) + atom(b"moov", bytes(64)),
        atom(b"pnot", bytes(12)) + atom(b"PICT", bytes(900)) + atom(b"moov", bytes(64)),
        # A 64-bit size (size field 1) on the padding.
        struct.pack(">I", 1) + b"free" + struct.pack(">Q", 24) + bytes(8) + atom(b"mdat", bytes(16)),
        atom(b"moov", bytes(64)),
    ],
)
def test_old_quicktime_movies_without_ftyp_are_accepted(head: bytes) -> None:
    found = sniff(head)
    assert (found.kind, found.accepted) == ("mov", True)


@pytest.mark.parametrize(
    "head",
    [
        atom(b"free", bytes(24)),  # padding, then nothing
        atom(b"free", bytes(24)) + b"\x89PNG\r\n\x1a\n" + bytes(24),  # padding, then an image
        atom(b"wide") + atom(b"junk", bytes(16)),
        struct.pack(">I", 0) + b"skip" + bytes(64),  # padding to the end of the file
        struct.pack(">I", 5000) + b"free" + bytes(100),  # the next atom lies beyond the bytes read
        struct.pack(">I", 3) + b"wide" + atom(b"moov"),  # a size smaller than its own header
    ],
)
def test_padding_atoms_alone_do_not_make_a_movie(head: bytes) -> None:
    found = sniff(head)
    assert not found.accepted
    reason = found.rejection()
    assert "atom but has no 'moov' or 'mdat' atom in its first" in reason
    assert ACCEPTED in reason


def ts_packets(n: int) -> bytes:
    packet = b"\x47\x40\x00\x10" + b"\xff" * 184
    return packet * n


@pytest.mark.parametrize(
    ("head", "kind", "named"),
    [
        (ts_packets(22), "mpeg-ts", "MPEG-TS"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "matroska", "Matroska"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "webm", "WebM"),
        (b"RIFF\x24\x00\x10\x00AVI LIST", "avi", "AVI"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image", "JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image", "PNG"),
        (b"GIF89a\x01\x00\x01\x00", "image", "GIF"),
        (ftyp(b"heic", b"mif1heic"), "image", "HEIC"),
        (ftyp(b"M4A ", b"M4A mp42"), "audio", "audio"),
        (b"\x00\x00\x01\xba\x44\x00\x04\x00", "mpeg-ps", "MPEG-PS"),
        (b"FLV\x01\x05\x00\x00\x00\x09", "flv", "FLV"),
        (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9", "asf", "WMV"),
        (b"%PDF-1.7\n", "document", "PDF"),
        (b"PK\x03\x04\x14\x00", "archive", "ZIP"),
        (b"store,camera,time\nstore-1,cam-1,20261124T140000Z\n", "text", "text"),
        (b"\x00\x00\x00\x01\x67\x64\x00\x1f", "raw-video", "no container"),
        (bytes(range(200, 256)), "unknown", "unknown"),
    ],
)
def test_other_files_are_rejected_naming_what_was_found(head: bytes, kind: str, named: str) -> None:
    found = sniff(head)
    assert not found.accepted
    assert found.kind == kind
    reason = found.rejection()
    assert named in reason
    assert ACCEPTED in reason  # and what would have been accepted


def test_empty_file() -> None:
    found = sniff(b"")
    assert (found.kind, found.accepted) == ("empty", False)
    assert "0 bytes" in found.rejection()
    assert ACCEPTED in found.rejection()


def test_a_single_sync_byte_is_not_enough_for_mpeg_ts_when_the_next_packet_is_visible() -> None:
    head = b"\x47" + bytes(400)
    assert sniff(head).kind != "mpeg-ts"


def test_mpeg_ts_needs_two_packet_starts() -> None:
    assert sniff(b"\x47\x40\x00\x10" + b"\xff" * 50).kind != "mpeg-ts"
    assert sniff(ts_packets(2)[:189]).kind == "mpeg-ts"


@given(st.binary(max_size=SNIFF_BYTES))
def test_sniff_never_raises_and_accepts_only_iso_media(head: bytes) -> None:
    found = sniff(head)
    if found.accepted:
        assert head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
    else:
        assert found.rejection()


@given(st.lists(st.integers(min_value=32, max_value=126), min_size=4, max_size=4).map(bytes))
def test_any_video_brand_that_is_not_an_image_or_audio_is_mp4(brand: bytes) -> None:
    found = sniff(ftyp(brand))
    if found.kind in ("image", "audio"):
        assert not found.accepted
    else:
        assert found.kind in ("mp4", "mov")
        assert found.accepted
