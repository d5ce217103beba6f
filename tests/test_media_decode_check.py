"""Media are decoded at import, not just sniffed: truncated images and videos, a text file
behind an ``ftyp`` box and polyglots are refused, naming the case, the file and the problem
(issue 17, item 11)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from qa_desktop.core.batches import BatchError, import_batch
from qa_desktop.core.workspace import Workspace

from .factory import case_record, detailed_image, tiny_png, write_batch, write_video, zip_folder


def refused(ws: Workspace, path: Path, *fragments: str) -> str:
    db = ws.database_for_tests()
    before = db["cases"].count, db["media"].count
    with pytest.raises(BatchError) as exc:
        import_batch(db, ws.media_dir, path)
    message = str(exc.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert (db["cases"].count, db["media"].count) == before
    return message


def one_case(folder: Path, name: str, data: bytes, content_type: str) -> Path:
    (folder / "media").mkdir(parents=True, exist_ok=True)
    (folder / "media" / name).write_bytes(data)
    return write_batch(folder, [case_record("m-1", content_type, [f"media/{name}"])])


def jpeg_bytes() -> bytes:
    ok, jpeg = cv2.imencode(".jpg", detailed_image(640, 480), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(jpeg.tobytes())


def video_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "source.mp4"
    write_video(path, frames=24)
    return path.read_bytes()


def test_a_truncated_jpeg_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    data = jpeg_bytes()
    folder = one_case(tmp_path / "b", "cut.jpg", data[: len(data) * 2 // 3], "image")
    refused(
        workspace,
        folder,
        "cases.jsonl line 1, field 'media': media/cut.jpg is not a readable image/jpeg image",
        "truncated",
        "(case 'm-1')",
    )


def test_a_truncated_png_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    data = tiny_png(tmp_path / "a.png", width=256, height=256).read_bytes()
    folder = one_case(tmp_path / "b", "cut.png", data[: len(data) // 2], "image")
    refused(workspace, folder, "media/cut.png is not a readable image/png image", "(case 'm-1')")


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_mp4_is_refused(workspace: Workspace, tmp_path: Path, keep: float) -> None:
    data = video_bytes(tmp_path)
    folder = one_case(tmp_path / "b", "cut.mp4", data[: int(len(data) * keep)], "video")
    refused(
        workspace,
        folder,
        "cases.jsonl line 1, field 'media': media/cut.mp4 is not a playable video",
        "(case 'm-1')",
    )


def test_a_text_file_behind_an_ftyp_box_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"just some text\n" * 200
    folder = one_case(tmp_path / "b", "text.mp4", data, "video")
    refused(workspace, folder, "media/text.mp4 is not a playable video (it cannot be opened)")


_HTML = b"<html><script>alert(document.domain)</script></html>" * 20


def png_headers() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(detailed_image(64, 48)).save(buffer, "PNG")
    data = buffer.getvalue()
    return data[: data.index(b"IDAT") - 4]


def jpeg_headers() -> bytes:
    data = jpeg_bytes()
    return data[: data.index(b"\xff\xda") + 14]


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: png_headers() + _HTML, "poly.png"),  # a real PNG header, then a web page
        (lambda: jpeg_headers() + _HTML, "poly.jpg"),  # a real JPEG header, then a web page
        (lambda: b"GIF89a/*\x00\x00*/=1;alert(document.domain);//" + b"\x00" * 64, "p.gif"),
    ],
)
def test_polyglots_that_do_not_decode_are_refused(
    workspace: Workspace, tmp_path: Path, make: Callable[[], bytes], name: str
) -> None:
    folder = one_case(tmp_path / "b", name, make(), "image")
    refused(workspace, folder, f"media/{name} is not a readable image/", "(case 'm-1')")


def test_good_media_still_import_from_a_folder_and_a_zip(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "b"
    (folder / "media").mkdir(parents=True)
    (folder / "media" / "photo.jpg").write_bytes(jpeg_bytes())
    tiny_png(folder / "media" / "a.png")
    (folder / "media" / "clip.mp4").write_bytes(video_bytes(tmp_path))
    write_batch(
        folder,
        [
            case_record("i-1", "image", ["media/photo.jpg", "media/a.png"]),
            case_record("v-1", "video", ["media/clip.mp4"]),
        ],
    )
    db = workspace.database_for_tests()
    archive = zip_folder(folder, tmp_path / "b.zip")
    with zipfile.ZipFile(archive) as zf:  # the video is read from a deflated member
        assert zf.getinfo("media/clip.mp4").compress_type == zipfile.ZIP_DEFLATED
    assert import_batch(db, workspace.media_dir, archive).cases_added == 2


def test_a_truncated_video_inside_a_zip_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    data = video_bytes(tmp_path)
    folder = one_case(tmp_path / "b", "cut.mp4", data[: len(data) // 2], "video")
    refused(workspace, zip_folder(folder, tmp_path / "b.zip"), "media/cut.mp4", "playable video")


def test_an_image_decoded_in_full_not_only_its_header(workspace: Workspace, tmp_path: Path) -> None:
    """The header of a big PNG is fine and identifies; its data stops after one row."""
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((400, 400, 3), dtype=np.uint8)).save(buffer, "PNG")
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data[:60])) as header_only:
        assert header_only.size == (400, 400)  # what the old header check accepted
    folder = one_case(tmp_path / "b", "header.png", data[:60], "image")
    refused(workspace, folder, "media/header.png is not a readable image/png image")
