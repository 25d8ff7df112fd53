"""What a file is, by its first bytes: the file-type check of the drop folder
(docs/architecture.md, "Drop folder").

Rekognition Video accepts MP4 and MOV (both ISO base media files: a `ftyp` box at the start, or for
old QuickTime files the movie's own `moov` or `mdat` atom, possibly after padding or preview atoms
such as `wide`, `free`, `skip` or `pnot`). Anything else is named as precisely as its signature
allows, so the reason shown for a rejected upload says what was found, not only what was expected.
The extension of the key is not trusted: cameras and gateways rename files freely.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

# How many bytes `sniff` wants: enough for three MPEG-TS packets (188 bytes each) and the first
# elements of a Matroska header, where the document type (matroska or webm) is written.
SNIFF_BYTES = 4096

ACCEPTED = (
    "MP4 or MOV (an ISO base media file starting with an 'ftyp' box, or a QuickTime movie starting "
    "with its 'moov' or 'mdat' atom)"
)

_TS_PACKET = 188
# ftyp brands of HEIF/AVIF still images and image sequences, and of audio-only MP4 files: the same
# box structure as a video, but nothing Rekognition Video can analyse.
_IMAGE_BRANDS = {
    "heic": "a HEIC image",
    "heix": "a HEIC image",
    "heim": "a HEIC image",
    "heis": "a HEIC image",
    "hevc": "a HEIF image sequence",
    "hevx": "a HEIF image sequence",
    "mif1": "a HEIF image",
    "msf1": "a HEIF image sequence",
    "avif": "an AVIF image",
    "avis": "an AVIF image sequence",
    "jp2 ": "a JPEG 2000 image",
    "crx ": "a Canon raw image (CR3)",
}
_AUDIO_BRANDS = {
    "M4A ": "an MPEG-4 audio file (M4A)",
    "M4B ": "an MPEG-4 audio book (M4B)",
    "M4P ": "a protected MPEG-4 audio file (M4P)",
    "F4A ": "a Flash audio file (F4A)",
    "F4B ": "a Flash audio book (F4B)",
}
# An old QuickTime file may start with the movie's own atoms instead of `ftyp` ...
_QUICKTIME_MOVIE_ATOMS = frozenset({"moov", "mdat"})
# ... or with padding ('wide', 'free', 'skip') or a preview ('pnot' and its 'PICT') before them. Any
# file may start with eight such bytes by chance, so these count only when a movie atom follows.
_QUICKTIME_LEADING_ATOMS = frozenset({"wide", "free", "skip", "pnot", "PICT"})


@dataclass(frozen=True)
class FileType:
    """The result of sniffing: `kind` is a short name, `description` says it for a person."""

    kind: str  # mp4 | mov | mpeg-ts | matroska | webm | avi | ... | empty | unknown
    description: str
    accepted: bool

    def rejection(self) -> str:
        """The reason shown for a file that is not accepted: what it is and what would be."""
        return f"the file is {self.description}; DisplaySense accepts {ACCEPTED}"


def sniff(head: bytes) -> FileType:
    """The container of a file whose first bytes are `head` (up to SNIFF_BYTES; fewer is fine)."""
    if not head:
        return FileType("empty", "empty (0 bytes)", False)
    iso = _iso_media(head)
    if iso is not None:
        return iso
    for check in (_matroska, _riff, _other_video, _image, _mpeg_ts, _document):
        found = check(head)
        if found is not None:
            return found
    shown = head[:8].hex(" ")
    return FileType("unknown", f"of an unknown type (first bytes {shown})", False)


def _box_type(head: bytes, offset: int = 4) -> str | None:
    raw = head[offset : offset + 4]
    if len(raw) < 4 or not all(32 <= b < 127 for b in raw):
        return None
    return raw.decode("ascii")


def _iso_media(head: bytes) -> FileType | None:  # noqa: PLR0911 - one return per brand family
    box = _box_type(head)
    if box is None or len(head) < 8:
        return None
    if box == "ftyp":
        brand = _box_type(head, 8)
        if brand is None:
            return FileType("unknown", "an ISO media file with an unreadable 'ftyp' brand", False)
        if brand in _IMAGE_BRANDS:
            return FileType("image", f"{_IMAGE_BRANDS[brand]} ('ftyp' brand '{brand}')", False)
        if brand in _AUDIO_BRANDS:
            return FileType("audio", f"{_AUDIO_BRANDS[brand]} ('ftyp' brand '{brand}')", False)
        if brand == "qt  ":
            return FileType("mov", "a QuickTime movie (MOV)", True)
        # Every other brand (isom, mp41, mp42, avc1, iso2..iso6, M4V, camera vendors' own) is an MP4
        # video as far as the container goes; the codec is Rekognition's to judge when the job runs.
        return FileType("mp4", f"an MP4 video ('ftyp' brand '{brand.strip()}')", True)
    if box in _QUICKTIME_MOVIE_ATOMS | _QUICKTIME_LEADING_ATOMS:
        return _quicktime(head, box)
    return None


def _quicktime(head: bytes, first: str) -> FileType | None:
    """A QuickTime file from before `ftyp` existed: the atoms from the start, each with a plausible
    size (0 = to the end of the file, 1 = a 64-bit size follows, else at least its 8-byte header),
    leading to a `moov` or `mdat` atom within the bytes read."""
    offset = 0
    while offset + 8 <= len(head):
        size = int.from_bytes(head[offset : offset + 4], "big")
        atom = _box_type(head, offset + 4)
        if atom in _QUICKTIME_MOVIE_ATOMS:
            if size in (0, 1) or size >= 8:
                return FileType("mov", f"a QuickTime movie (MOV, starting with a '{first}' atom)", True)
            break
        if atom not in _QUICKTIME_LEADING_ATOMS:
            break
        if size == 1 and offset + 16 <= len(head):
            size = int.from_bytes(head[offset + 8 : offset + 16], "big")
        if size < 8:  # 0 reaches the end of the file: no movie atom can follow
            break
        offset += size
    if first in _QUICKTIME_MOVIE_ATOMS:
        return None
    return FileType(
        "unknown",
        f"neither MP4 nor MOV: it starts with a QuickTime '{first}' atom but has no 'moov' or 'mdat' "
        f"atom in its first {len(head)} bytes",
        False,
    )


def _mpeg_ts(head: bytes) -> FileType | None:
    # Every 188-byte packet starts with the sync byte 0x47 ('G'): one byte alone is far too weak a
    # signature (a GIF starts with 'G' too), so at least two packet starts must be visible.
    if len(head) <= _TS_PACKET or head[0] != 0x47:
        return None
    later = range(_TS_PACKET, min(len(head), 3 * _TS_PACKET + 1), _TS_PACKET)
    if all(head[i] == 0x47 for i in later):
        return FileType("mpeg-ts", "an MPEG transport stream (MPEG-TS, .ts/.m2ts)", False)
    return None


def _matroska(head: bytes) -> FileType | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    if b"webm" in head[:64]:
        return FileType("webm", "a WebM video (Matroska)", False)
    return FileType("matroska", "a Matroska video (MKV)", False)


def _riff(head: bytes) -> FileType | None:
    if not head.startswith(b"RIFF") or len(head) < 12:
        return None
    form = head[8:12]
    if form == b"AVI ":
        return FileType("avi", "an AVI video", False)
    if form == b"WAVE":
        return FileType("audio", "a WAV audio file", False)
    if form == b"WEBP":
        return FileType("image", "a WebP image", False)
    return FileType("unknown", f"a RIFF file of type {form!r}", False)


_OTHER_VIDEO = (
    (b"\x00\x00\x01\xba", "mpeg-ps", "an MPEG program stream (MPEG-PS, .mpg/.vob)"),
    (b"\x00\x00\x01\xb3", "mpeg-video", "an MPEG-1/2 video stream (.mpg/.m2v)"),
    (b"FLV\x01", "flv", "a Flash video (FLV)"),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "asf", "a Windows Media file (ASF/WMV)"),
    (b"OggS", "ogg", "an Ogg file"),
    # Annex B start codes: a bare H.264/H.265 stream as some cameras dump it, with no container.
    (b"\x00\x00\x00\x01", "raw-video", "a raw video stream with no container (.h264/.h265)"),
)


def _other_video(head: bytes) -> FileType | None:
    for signature, kind, description in _OTHER_VIDEO:
        if head.startswith(signature):
            return FileType(kind, description, False)
    return None


def _image(head: bytes) -> FileType | None:
    if head.startswith(b"\xff\xd8\xff"):
        return FileType("image", "a JPEG image", False)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType("image", "a PNG image", False)
    if head.startswith((b"GIF87a", b"GIF89a")):
        return FileType("image", "a GIF image", False)
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return FileType("image", "a TIFF image", False)
    if head.startswith(b"BM") and len(head) >= 14:
        return FileType("image", "a BMP image", False)
    return None


def _document(head: bytes) -> FileType | None:
    if head.startswith(b"%PDF"):
        return FileType("document", "a PDF document", False)
    if head.startswith(b"PK\x03\x04"):
        return FileType("archive", "a ZIP archive", False)
    if head.startswith(b"\x1f\x8b"):
        return FileType("archive", "a gzip archive", False)
    sample = head[:512]
    try:
        # Incremental: the sample may end in the middle of a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return None
    if all(b in b"\t\n\r" or b >= 32 for b in sample):
        return FileType("text", "a text file", False)
    return None
