"""Short, valid H.264 MP4 clips cut from a longer MP4 by remuxing: no decoding, no re-encoding.

    clip = cut_clip(SAMPLE.read_bytes(), first=250, frames=90)   # 1.5 s of the 60 fps sample

The clip keeps the source's coded frames byte for byte (so it is exactly as valid as the source)
and gets new sample tables: it starts on a sync sample (an IDR frame, which needs nothing before
it) and takes `frames` samples in decoding order, so every reference a frame needs is in the clip.
With B-frames the last sample or two may be meant for display after frames the cut left out; they
fall outside the clip's duration and players skip them, so a clip shows up to `frames` frames.
Only what this needs is supported: a non-fragmented MP4/MOV whose first video track is kept
(other tracks and user data are dropped), 32- or 64-bit chunk offsets, `ctts` version 0 or 1.
Written as the project's own few lines rather than adding ffmpeg or PyAV as a dependency for tests.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_CONTAINERS = frozenset({"moov", "trak", "mdia", "minf", "stbl", "edts", "dinf"})


class Mp4Error(ValueError):
    """The source is not an MP4 this remuxer can cut."""


@dataclass(frozen=True)
class _Box:
    kind: str
    payload: bytes


def _boxes(data: bytes) -> list[_Box]:
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, raw_kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = len(data) - pos
        if size < header or pos + size > len(data):
            raise Mp4Error(f"box {raw_kind!r} at {pos} overruns its parent")
        boxes.append(_Box(raw_kind.decode("latin-1"), data[pos + header : pos + size]))
        pos += size
    return boxes


def _box(kind: str, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind.encode("latin-1")) + payload


def _find(boxes: list[_Box], kind: str) -> _Box | None:
    return next((b for b in boxes if b.kind == kind), None)


def _need(boxes: list[_Box], kind: str) -> _Box:
    found = _find(boxes, kind)
    if found is None:
        raise Mp4Error(f"no {kind} box")
    return found


def _entries(payload: bytes, fmt: str) -> list[tuple[int, ...]]:
    """The entries of a full box with a 32-bit entry count (stts, ctts, stsc, stss, stco, co64)."""
    count = struct.unpack(">I", payload[4:8])[0]
    size = struct.calcsize(fmt)
    return [struct.unpack(fmt, payload[8 + i * size : 8 + (i + 1) * size]) for i in range(count)]


def _runs(values: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and runs[-1][1] == value:
            runs[-1] = (runs[-1][0] + 1, value)
        else:
            runs.append((1, value))
    return runs


def _table(version_flags: bytes, fmt: str, rows: Sequence[tuple[int, ...]]) -> bytes:
    return version_flags + struct.pack(">I", len(rows)) + b"".join(struct.pack(fmt, *r) for r in rows)


@dataclass(frozen=True)
class _Track:
    trak: list[_Box]  # the trak's children
    stbl: list[_Box]
    sizes: list[int]
    offsets: list[int]
    deltas: list[int]
    composition: list[int] | None
    ctts_version_flags: bytes
    sync: list[int] | None  # 1-based sample numbers, None: every sample is a sync sample
    media_timescale: int


def _video_track(moov: list[_Box]) -> _Track:
    for trak in (b for b in moov if b.kind == "trak"):
        children = _boxes(trak.payload)
        mdia = _boxes(_need(children, "mdia").payload)
        if _need(mdia, "hdlr").payload[8:12] != b"vide":
            continue
        mdhd = _need(mdia, "mdhd").payload
        timescale = struct.unpack(">I", mdhd[20:24] if mdhd[0] == 1 else mdhd[12:16])[0]
        stbl = _boxes(_need(_boxes(_need(mdia, "minf").payload), "stbl").payload)
        stsz = _need(stbl, "stsz").payload
        uniform, count = struct.unpack(">II", stsz[4:12])
        sizes = [uniform] * count if uniform else list(struct.unpack(f">{count}I", stsz[12 : 12 + 4 * count]))
        chunk_box = _find(stbl, "stco") or _need(stbl, "co64")
        chunks = [c[0] for c in _entries(chunk_box.payload, ">I" if chunk_box.kind == "stco" else ">Q")]
        offsets = _sample_offsets(sizes, chunks, _entries(_need(stbl, "stsc").payload, ">III"))
        deltas = [d for n, d in _entries(_need(stbl, "stts").payload, ">II") for _ in range(n)]
        ctts = _find(stbl, "ctts")
        composition = None
        if ctts is not None:
            fmt = ">Ii" if ctts.payload[0] == 1 else ">II"
            composition = [o for n, o in _entries(ctts.payload, fmt) for _ in range(n)]
        stss = _find(stbl, "stss")
        sync = [s[0] for s in _entries(stss.payload, ">I")] if stss is not None else None
        if not len(sizes) == len(offsets) == len(deltas) or (composition and len(composition) != len(sizes)):
            raise Mp4Error("the sample tables disagree on the number of samples")
        return _Track(
            trak=children,
            stbl=stbl,
            sizes=sizes,
            offsets=offsets,
            deltas=deltas,
            composition=composition,
            ctts_version_flags=ctts.payload[:4] if ctts is not None else b"",
            sync=sync,
            media_timescale=timescale,
        )
    raise Mp4Error("no video track")


def _sample_offsets(sizes: list[int], chunks: list[int], stsc: list[tuple[int, ...]]) -> list[int]:
    """File offset of every sample, from the chunk offsets and the sample-to-chunk runs."""
    offsets: list[int] = []
    for run, (first_chunk, per_chunk, _description) in enumerate(stsc):
        last_chunk = stsc[run + 1][0] - 1 if run + 1 < len(stsc) else len(chunks)
        for chunk in range(first_chunk, last_chunk + 1):
            position = chunks[chunk - 1]
            for _ in range(per_chunk):
                if len(offsets) == len(sizes):
                    return offsets
                offsets.append(position)
                position += sizes[len(offsets) - 1]
    return offsets


def sync_samples(source: bytes) -> list[int]:
    """0-based indexes of the video track's sync samples: where a clip may start."""
    track = _video_track(_boxes(_need(_boxes(source), "moov").payload))
    return [s - 1 for s in track.sync] if track.sync is not None else list(range(len(track.sizes)))


def sample_count(source: bytes) -> int:
    """Frames (samples) of the video track."""
    return len(_video_track(_boxes(_need(_boxes(source), "moov").payload)).sizes)


def frame_rate(source: bytes) -> float:
    """Frames per second of the video track, from its most common frame duration (the last
    frame's duration is often written as 0)."""
    track = _video_track(_boxes(_need(_boxes(source), "moov").payload))
    return track.media_timescale / Counter(track.deltas).most_common(1)[0][0]


def cut_clip(source: bytes, *, first: int, frames: int) -> bytes:
    """An MP4 of the video track's samples first .. first+frames-1 (decoding order)."""
    top = _boxes(source)
    moov = _boxes(_need(top, "moov").payload)
    track = _video_track(moov)
    if track.sync is not None and first + 1 not in track.sync:
        raise Mp4Error(f"sample {first} is not a sync sample; a clip must start on one")
    if frames < 1 or first + frames > len(track.sizes):
        raise Mp4Error(f"samples {first}..{first + frames - 1} are not all in the track")
    chosen = range(first, first + frames)
    media = b"".join(source[track.offsets[i] : track.offsets[i] + track.sizes[i]] for i in chosen)
    media_duration = sum(track.deltas[i] for i in chosen)
    mvhd = _need(moov, "mvhd").payload
    movie_timescale = struct.unpack(">I", mvhd[20:24] if mvhd[0] == 1 else mvhd[12:16])[0]
    movie_duration = media_duration * movie_timescale // track.media_timescale
    # The presentation starts at the earliest composition time (B-frames shift it, as in the source).
    first_shown = min(
        sum(track.deltas[first:i]) + (track.composition[i] if track.composition else 0) for i in chosen
    )

    def stbl(chunk_offset: int) -> bytes:
        parts = [_box("stsd", _need(track.stbl, "stsd").payload)]
        parts.append(_box("stts", _table(b"\0\0\0\0", ">II", _runs([track.deltas[i] for i in chosen]))))
        if track.sync is not None:
            kept = [(s - first,) for s in track.sync if first < s <= first + frames]
            parts.append(_box("stss", _table(b"\0\0\0\0", ">I", kept)))
        if track.composition is not None:
            fmt = ">Ii" if track.ctts_version_flags[0] == 1 else ">II"
            runs = _runs([track.composition[i] for i in chosen])
            parts.append(_box("ctts", _table(track.ctts_version_flags, fmt, runs)))
        parts.append(_box("stsc", _table(b"\0\0\0\0", ">III", [(1, frames, 1)])))
        sizes = struct.pack(f">{frames}I", *(track.sizes[i] for i in chosen))
        parts.append(_box("stsz", b"\0\0\0\0" + struct.pack(">II", 0, frames) + sizes))
        parts.append(_box("stco", _table(b"\0\0\0\0", ">I", [(chunk_offset,)])))
        return _box("stbl", b"".join(parts))

    def moov_box(chunk_offset: int) -> bytes:
        trak = []
        for child in track.trak:
            if child.kind == "tkhd":
                trak.append(_box("tkhd", _with_duration(child.payload, movie_duration, tkhd=True)))
            elif child.kind == "edts":
                elst = _table(b"\0\0\0\0", ">IiI", [(movie_duration, first_shown, 0x10000)])
                trak.append(_box("edts", _box("elst", elst)))
            elif child.kind == "mdia":
                trak.append(_box("mdia", _mdia(child.payload, media_duration, stbl(chunk_offset))))
            else:
                trak.append(_box(child.kind, child.payload))
        return _box("moov", _box("mvhd", _with_duration(mvhd, movie_duration)) + _box("trak", b"".join(trak)))

    ftyp = _box("ftyp", _need(top, "ftyp").payload)
    # moov before mdat ("fast start"); its size does not depend on the offset it holds.
    mdat_start = len(ftyp) + len(moov_box(0)) + 8
    if mdat_start + len(media) >= 2**32:
        raise Mp4Error("clip too large for 32-bit chunk offsets")
    return ftyp + moov_box(mdat_start) + _box("mdat", media)


def _with_duration(payload: bytes, duration: int, *, tkhd: bool = False) -> bytes:
    """mvhd, tkhd or mdhd with a new duration (version 0: 32 bits after 12 or 16 bytes of header
    fields; version 1: 64 bits after 20 or 24)."""
    version = payload[0]
    if version == 1:
        at = 28 if tkhd else 24
        return payload[:at] + struct.pack(">Q", duration) + payload[at + 8 :]
    at = 20 if tkhd else 16
    return payload[:at] + struct.pack(">I", duration) + payload[at + 4 :]


def _mdia(payload: bytes, media_duration: int, stbl: bytes) -> bytes:
    parts = []
    for child in _boxes(payload):
        if child.kind == "mdhd":
            parts.append(_box("mdhd", _with_duration(child.payload, media_duration)))
        elif child.kind == "minf":
            minf = b"".join(
                stbl if c.kind == "stbl" else _box(c.kind, c.payload) for c in _boxes(child.payload)
            )
            parts.append(_box("minf", minf))
        else:
            parts.append(_box(child.kind, child.payload))
    return b"".join(parts)
