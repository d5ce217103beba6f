"""Real, synthetic test batches: detailed images, short videos, text posts."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import cv2
import numpy as np

from qa_desktop.core import keys
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

PACK = {"id": "demo-global", "version": "1.0.0"}


def detailed_image(width: int, height: int, seed: int = 0) -> np.ndarray:
    """An RGB image full of fine detail (noise, edges, text): easy to tell from a blurred one."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    for i in range(12):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(img, (x, y), (x + width // 8, y + height // 8), color, 2)
        cv2.putText(img, f"CASE {seed}-{i}", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, color, 1)
    return img


def write_video(path: Path, width: int = 160, height: int = 120, frames: int = 24) -> None:
    """A short mp4 with two scenes of moving shapes over fine stripes and text."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12, (width, height))
    stripes = (np.indices((height, width)).sum(axis=0) % 4 < 2)[..., None]
    for i in range(frames):
        scene = 0 if i < frames // 2 else 1
        base = np.array((40, 90, 200) if scene == 0 else (200, 60, 40), np.uint8)
        frame = np.where(stripes, base, base // 2).astype(np.uint8)
        cv2.circle(frame, (10 + i * 5 % width, height // 2), 12, (255, 255, 255), -1)
        cv2.putText(
            frame,
            f"S{scene} F{i}",
            (4, height - 8),
            cv2.FONT_HERSHEY_SIMPLEX,
            height / 240,
            (255, 255, 255),
            1,
        )
        writer.write(frame)
    writer.release()


def _riff_chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _riff_list(kind: bytes, body: bytes) -> bytes:
    return b"LIST" + struct.pack("<I", len(body) + 4) + kind + body


def write_video_with_audio(
    path: Path, tone_hz: float = 440.0, frames: int = 48, fps: int = 24, rate: int = 16000
) -> Path:
    """A 320x240 AVI with a sound track (MJPEG frames, a mono PCM tone), written by hand:
    OpenCV writes no audio. Both OpenCV and QtMultimedia read it."""
    width, height = 320, 240
    per_frame = rate // fps
    t = np.arange(frames * per_frame) / rate
    pcm = (np.sin(2 * np.pi * tone_hz * t) * 12000).astype("<i2")
    avih = struct.pack(
        "<IIIIIIIIII4I", 1_000_000 // fps, 0, 0, 0x10, frames, 0, 2, 0, width, height, 0, 0, 0, 0
    )
    header = "<4s4sIHHIIIIIIIIhhhh"
    video_strh = struct.pack(header, b"vids", b"MJPG", 0, 0, 0, 0, 1, fps, 0, frames, 0,
                             0xFFFFFFFF, 0, 0, 0, width, height)  # fmt: skip
    video_strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG",
                             width * height * 3, 0, 0, 0, 0)  # fmt: skip
    audio_strh = struct.pack(header, b"auds", b"\0\0\0\0", 0, 0, 0, 0, 1, rate, 0, len(pcm), 0,
                             0xFFFFFFFF, 2, 0, 0, 0, 0)  # fmt: skip
    audio_strf = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    hdrl = _riff_list(
        b"hdrl",
        _riff_chunk(b"avih", avih)
        + _riff_list(b"strl", _riff_chunk(b"strh", video_strh) + _riff_chunk(b"strf", video_strf))
        + _riff_list(b"strl", _riff_chunk(b"strh", audio_strh) + _riff_chunk(b"strf", audio_strf)),
    )
    movi, index = b"", b""
    for i in range(frames):
        img = np.full((height, width, 3), 40, np.uint8)
        cv2.circle(img, (20 + i * 5 % (width - 40), height // 2), 18, (255, 255, 255), -1)
        jpg = cv2.imencode(".jpg", img)[1].tobytes()
        sound = pcm[i * per_frame : (i + 1) * per_frame].tobytes()
        for fourcc, data, flags in ((b"00dc", jpg, 0x10), (b"01wb", sound, 0)):
            index += struct.pack("<4sIII", fourcc, flags, 4 + len(movi), len(data))
            movi += _riff_chunk(fourcc, data)
    body = b"AVI " + hdrl + _riff_list(b"movi", movi) + _riff_chunk(b"idx1", index)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def case_record(case_id: str, content_type: str, media: list[str], **extra: object) -> dict:
    """One cases.jsonl record with sensible defaults."""
    record: dict[str, object] = {
        "id": case_id,
        "content_type": content_type,
        "media": media,
        "text": extra.pop("text", "" if media else f"Synthetic post {case_id}."),
        "market": "DE",
        "language": "de",
        "tags": ["violence"],
        "metadata": {},
        "decision": {
            "label": "vh_remove",
            "policy": "VH",
            "moderator_id": "m-001",
            "queue": "test",
            "decided_at": "2026-10-30T12:00:00Z",
        },
    }
    record.update(extra)
    return record


def write_batch(folder: Path, records: list[dict], batch_id: str = "test-batch") -> Path:
    """Write batch.json and cases.jsonl (media must already be in ``folder/media``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "media").mkdir(exist_ok=True)
    header = {
        "format_version": 1,
        "id": batch_id,
        "name": f"Batch {batch_id}",
        "issuer": "qa-team",
        "market": "global",
        "guideline_pack": PACK,
        "created_at": "2026-11-01T09:00:00Z",
    }
    (folder / "batch.json").write_text(json.dumps(header), encoding="utf-8")
    with (folder / "cases.jsonl").open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")
    return folder


def mixed_batch(folder: Path, images: int = 4, videos: int = 1, texts: int = 2) -> Path:
    """A batch of detailed PNG images, short videos and text posts, in that order."""
    media = folder / "media"
    media.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(images):
        cv2.imwrite(str(media / f"img{i}.png"), detailed_image(640, 480, seed=i))
        records.append(case_record(f"img-{i}", "image", [f"media/img{i}.png"]))
    for i in range(videos):
        write_video(media / f"vid{i}.mp4")
        records.append(case_record(f"vid-{i}", "video", [f"media/vid{i}.mp4"]))
    for i in range(texts):
        records.append(
            case_record(
                f"txt-{i}", "text", [], text=f"Text post {i}: a synthetic caption.", tags=[]
            )
        )
    return write_batch(folder, records)


# -- helpers for the batch-format tests (appended) -------------------------------------------


def batch_header(batch_id: str = "test-batch", **changes: object) -> dict[str, object]:
    """The batch.json header ``write_batch`` writes, with ``changes`` applied."""
    header: dict[str, object] = {
        "format_version": 1,
        "id": batch_id,
        "name": f"Batch {batch_id}",
        "issuer": "qa-team",
        "market": "global",
        "guideline_pack": PACK,
        "created_at": "2026-11-01T09:00:00Z",
    }
    header.update(changes)
    return header


def tiny_png(path: Path, seed: int = 0, width: int = 64, height: int = 48) -> Path:
    """A small real PNG image (noise), quick to write and to hash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ok, png = cv2.imencode(".png", rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    assert ok
    path.write_bytes(png.tobytes())  # whatever the name says: tests name PNGs .mp4 on purpose
    return path


def zip_folder(folder: Path, archive: Path, prefix: str = "") -> Path:
    """Zip every file under ``folder`` into ``archive``, names prefixed with ``prefix``."""
    import zipfile

    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.write(path, prefix + path.relative_to(folder).as_posix())
    return archive


CSV_COLUMNS = (
    "id", "content_type", "media", "text", "market", "language", "tags",
    "label", "policy", "moderator_id", "queue", "decided_at", "metadata",
)  # fmt: skip


def csv_row(record: dict) -> dict[str, str]:
    """A ``case_record`` as the cells of one cases.csv row."""
    decision = record["decision"]
    return {
        "id": record["id"],
        "content_type": record["content_type"],
        "media": ";".join(record.get("media", [])),
        "text": record.get("text", ""),
        "market": record["market"],
        "language": record["language"],
        "tags": ";".join(record.get("tags", [])),
        **{
            name: decision[name]
            for name in ("label", "policy", "moderator_id", "queue", "decided_at")
        },
        "metadata": json.dumps(record["metadata"]) if record.get("metadata") else "",
    }


def write_cases_csv(
    path: Path, records: list[dict], columns: tuple[str, ...] = CSV_COLUMNS
) -> Path:
    """Write ``records`` (``case_record`` dicts) as a cases CSV with a header row."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for record in records:
            writer.writerow(csv_row(record))
    return path


# -- workspaces ---------------------------------------------------------------------------------

PASSPHRASE = "correct horse battery staple"


def make_workspace(
    root: Path,
    name: str,
    cases: int = 3,
    *,
    reviewer: str | None = None,
    pack: bool = True,
    key: bool = True,
) -> Workspace:
    """A workspace in ``root/name`` with reviewer ``reviewer`` (default ``name``), the shared
    test batch of ``cases`` text cases t-0, t-1, ... (none if 0), the demo guideline pack if
    ``pack`` (the default: verdicts need their pack), and a signing key (passphrase
    :data:`PASSPHRASE`) if ``key``. The caller closes it (fixtures do)."""
    ws = Workspace.open(root / name)
    ws.ensure_reviewer(reviewer or name)
    if pack:
        ws.guidelines.import_pack(DEMO_PACK)
    if cases:
        records = [case_record(f"t-{i}", "text", [], tags=[]) for i in range(cases)]
        ws.batches.import_batch(write_batch(root / f"batch-{name}", records))
    if key:
        ws.trust.create_identity(PASSPHRASE)
    return ws


def introduce(importer: Workspace, signer: Workspace, role: str = "reviewer") -> None:
    """``importer`` trusts ``signer``'s key, bound to its reviewer."""
    assert signer.reviewer is not None
    importer.trust.trust(
        keys.PublicKey.from_minisign(signer.trust.public_key().to_minisign()),
        signer.reviewer.display_name,
        role,
        signer.reviewer.id,
    )
