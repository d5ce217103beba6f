"""Stored previews (issue 15: J before the prefetch finished): the import seals a small,
already blurred preview beside each image's media file, so the next case's preview costs a
tiny decode instead of the image's; a preview is never sharp on disk, a damaged one is made
again the slow way, and cases imported before it get theirs the first time they show."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, UnidentifiedImageError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qa_desktop.core import media
from qa_desktop.core.api import BatchError, Case, FilterSettings, MediaError
from qa_desktop.core.media_store import PREVIEW_SUFFIX, StoredMedia
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui import render
from qa_desktop.ui.render import PREVIEW_MAX_SIDE, preview_case, qimage_to_rgb

from .factory import case_record, detailed_image, tiny_png, write_batch, write_video
from .windows import open_window

ROUNDING = 0.02
"""How much a picture's high-frequency energy (mean absolute Laplacian, 0-1020) may differ
between two blurs of the same strength from rounding to whole grey levels alone."""
_OPENED: list[str] | None = None
_OPENED_BY: threading.Thread | None = None


def _count_opens(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and _OPENED is not None and threading.current_thread() is _OPENED_BY:
        _OPENED.append(str(args[0]))


sys.addaudithook(_count_opens)  # Python's own hook on every file opened (it cannot be removed)


@pytest.fixture
def opened() -> Iterator[list[str]]:
    """The files this thread opens inside the test (Python's ``open`` audit event)."""
    global _OPENED, _OPENED_BY
    _OPENED, _OPENED_BY = [], threading.current_thread()
    try:
        yield _OPENED
    finally:
        _OPENED, _OPENED_BY = None, None


def sources(folder: Path) -> dict[str, np.ndarray]:
    """The RGB pictures of a mixed batch's images, by case id."""
    return {
        "jpg-0": detailed_image(1200, 900, seed=1),
        "jpg-1": detailed_image(1200, 900, seed=2),
        "png-0": detailed_image(640, 480, seed=3),
    }


def mixed(folder: Path) -> Path:
    """JPEG and PNG image cases, a video case and a text case."""
    (folder / "media").mkdir(parents=True)
    records = []
    for case_id, rgb in sources(folder).items():
        name = f"media/{case_id}.{case_id[:3]}"
        cv2.imwrite(str(folder / name) + ".tmp.png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        Image.open(str(folder / name) + ".tmp.png").save(
            folder / name, "JPEG" if case_id.startswith("jpg") else "PNG", quality=92
        )
        (folder / (name + ".tmp.png")).unlink()
        records.append(case_record(case_id, "image", [name]))
    write_video(folder / "media" / "vid.mp4")
    records.append(case_record("vid-0", "video", ["media/vid.mp4"]))
    records.append(case_record("txt-0", "text", [], text="A caption.", tags=[]))
    return write_batch(folder, records)


@pytest.fixture
def imported(workspace: Workspace, tmp_path: Path) -> Workspace:
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(mixed(tmp_path / "batch"))
    return workspace


def stored(ws: Workspace, case_id: str) -> StoredMedia:
    case = ws.queue.case(case_id)
    assert case is not None
    return ws.queue.open_media(case.media[0])


def the_case(ws: Workspace, case_id: str) -> Case:
    case = ws.queue.case(case_id)
    assert case is not None
    return case


def previews_on_disk(ws: Workspace) -> set[Path]:
    return set(ws.media_dir.glob(f"??/*{PREVIEW_SUFFIX}"))


def test_the_import_seals_one_blurred_preview_per_image_and_none_for_video_or_text(
    imported: Workspace, tmp_path: Path
) -> None:
    ws = imported
    images = {cid: stored(ws, cid) for cid in ("jpg-0", "jpg-1", "png-0")}
    assert previews_on_disk(ws) == {s.preview_path for s in images.values()}
    assert not stored(ws, "vid-0").preview_path.exists()
    for case_id, source in sources(tmp_path).items():
        on_disk = images[case_id].preview_path.read_bytes()
        with pytest.raises(UnidentifiedImageError):  # sealed: no image in it
            Image.open(images[case_id].preview_path)
        assert cv2.imdecode(np.frombuffer(on_disk, np.uint8), cv2.IMREAD_COLOR) is None
        preview = media.stored_preview(images[case_id])
        assert preview is not None
        h, w = source.shape[:2]
        assert preview.shape[:2] == media.preview_size(w, h)[::-1]
        assert max(preview.shape[:2]) <= PREVIEW_MAX_SIDE
        same_size = media.resize_to_fit(source, PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE)
        shown = media.decode_image_for_display(images[case_id], PREVIEW_MAX_SIDE)
        strongest = media.blur(shown, media.MAX_BLUR_LEVEL)  # what the app shows at most
        energy = media.high_frequency_energy
        assert energy(preview) < energy(same_size) / 1000, case_id
        # no sharper than the app's strongest blur of the file (to a grey level's rounding)
        assert energy(preview) <= energy(strongest) + ROUNDING, case_id


def test_a_preview_of_a_case_with_a_stored_one_never_opens_its_media_file(
    imported: Workspace, opened: list[str]
) -> None:
    case = the_case(imported, "jpg-1")
    media_file = stored(imported, "jpg-1")
    preview = preview_case(case, imported.queue.open_media, FilterSettings(blur_level=2))
    assert preview is not None and preview.preview and preview.sharp is None
    assert preview.blurred is not None
    assert max(preview.blurred.width(), preview.blurred.height()) <= PREVIEW_MAX_SIDE
    assert str(media_file.path) not in opened
    assert opened.count(str(media_file.preview_path)) == 1


def test_a_png_shows_its_stored_preview_too_and_without_one_waits_for_its_render(
    imported: Workspace, opened: list[str]
) -> None:
    """Any stored image preview is shown (not only a JPEG's); a PNG without one gets no
    preview, since decoding it small costs its full decode: the full render shows it."""
    case = the_case(imported, "png-0")
    media_file = stored(imported, "png-0")
    assert render.can_preview(case)
    shown = preview_case(case, imported.queue.open_media, FilterSettings(blur_level=3))
    assert shown is not None and shown.preview and shown.blurred is not None
    assert str(media_file.path) not in opened
    media_file.preview_path.unlink()  # as an import before stored previews left it
    opened.clear()
    assert preview_case(case, imported.queue.open_media, FilterSettings()) is None
    assert str(media_file.path) not in opened
    assert not media_file.preview_path.exists()  # nothing made from a full decode


def test_a_case_imported_before_previews_gets_its_preview_the_first_time_it_shows(
    imported: Workspace, opened: list[str]
) -> None:
    case = the_case(imported, "jpg-0")
    media_file = stored(imported, "jpg-0")
    media_file.preview_path.unlink()  # as an import before stored previews left it
    first = preview_case(case, imported.queue.open_media, FilterSettings())
    assert first is not None and str(media_file.path) in opened
    made = media.stored_preview(media_file)
    assert made is not None
    sharp = media.decode_image_for_display(media_file, PREVIEW_MAX_SIDE)
    assert media.high_frequency_energy(made) <= media.high_frequency_energy(
        media.blur(sharp, media.MAX_BLUR_LEVEL)
    )
    opened.clear()
    again = preview_case(case, imported.queue.open_media, FilterSettings())
    assert again is not None and str(media_file.path) not in opened


@pytest.mark.parametrize(
    "damage",
    ["flip", "truncate", "empty", "another-files-preview", "plain-png"],
)
def test_a_damaged_preview_falls_back_to_the_slow_path_and_is_made_again(
    imported: Workspace, opened: list[str], damage: str
) -> None:
    case = the_case(imported, "jpg-0")
    media_file = stored(imported, "jpg-0")
    path = media_file.preview_path
    data = path.read_bytes()
    if damage == "flip":
        path.write_bytes(data[:-40] + bytes([data[-40] ^ 1]) + data[-39:])
    elif damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "another-files-preview":
        path.write_bytes(stored(imported, "jpg-1").preview_path.read_bytes())
    else:  # a plaintext picture planted in its place is not a sealed preview either
        _ok, png = cv2.imencode(".png", detailed_image(40, 30))
        path.write_bytes(png.tobytes())
    with pytest.raises(MediaError, match=r"jpg-0\.jpg"):
        media.stored_preview(media_file)
    shown = preview_case(case, imported.queue.open_media, FilterSettings())
    assert shown is not None and shown.blurred is not None
    assert str(media_file.path) in opened  # the slow way
    assert media.stored_preview(media_file) is not None  # and stored again, sealed


def test_j_to_a_case_whose_preview_is_damaged_still_shows_it(
    qtbot: QtBot, imported: Workspace
) -> None:
    stored(imported, "jpg-1").preview_path.write_bytes(b"not a sealed file")
    window = open_window(qtbot, imported)
    review = window.review
    view = review.viewer.image_view
    qtbot.waitUntil(lambda: view.rendered is not None and not view.rendered.preview, timeout=10000)
    review.renderer.wait()
    QApplication.processEvents()
    review.renderer.clear()
    previews: list[str] = []
    review.renderer.previewed.connect(lambda p: previews.append(p.case_id))
    qtbot.keyClick(review.queue, Qt.Key.Key_J)
    assert review.case is not None and review.case.id == "jpg-1"
    qtbot.waitUntil(
        lambda: (
            view.rendered is not None
            and view.rendered.case_id == "jpg-1"
            and not view.rendered.preview
        ),
        timeout=10000,
    )
    assert not view.rendered.error
    assert "jpg-1" in previews
    rgb = qimage_to_rgb(view.rendered.blurred)
    assert rgb.std() > 1  # a picture, not an empty frame
    review.renderer.wait()
    assert media.stored_preview(stored(imported, "jpg-1")) is not None


def test_a_refused_image_leaves_no_preview_and_the_same_message(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "b"
    data = tiny_png(tmp_path / "a.png", width=256, height=256).read_bytes()
    (folder / "media").mkdir(parents=True)
    (folder / "media" / "cut.png").write_bytes(data[: len(data) // 2])
    (folder / "media" / "fine.png").write_bytes(data)
    write_batch(
        folder,
        [
            case_record("m-0", "image", ["media/fine.png"]),
            case_record("m-1", "image", ["media/cut.png"]),
        ],
    )
    with pytest.raises(BatchError, match=r"media/cut.png is not a readable image/png image"):
        workspace.batches.import_batch(folder)
    assert previews_on_disk(workspace) == set()


def test_a_16_bit_grey_png_gets_a_preview_too(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "b"
    (folder / "media").mkdir(parents=True)
    # a 16-bit grey PNG: a mode the preview is made from only through a conversion
    Image.fromarray(np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20).save(
        folder / "media" / "deep.png"
    )
    write_batch(folder, [case_record("m-0", "image", ["media/deep.png"])])
    workspace.batches.import_batch(folder)
    case = workspace.queue.case("m-0")
    assert case is not None
    assert media.stored_preview(workspace.queue.open_media(case.media[0])) is not None
    preview = preview_case(case, workspace.queue.open_media, FilterSettings())
    assert preview is not None and preview.blurred is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_decode_preview_reads_a_preview_or_says_it_is_not_one(data: bytes) -> None:
    try:
        picture = media.decode_preview(data, "x.jpg")
    except MediaError as exc:
        assert "x.jpg" in str(exc)
    else:
        assert max(picture.shape[:2]) <= PREVIEW_MAX_SIDE


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 3000), st.integers(1, 60), st.integers(1, 60))
def test_any_picture_encodes_to_a_preview_of_its_preview_size(
    width: int, height: int, decoded_w: int, decoded_h: int
) -> None:
    rgb = np.random.default_rng(width * height).integers(
        0, 255, (decoded_h, decoded_w, 3), dtype=np.uint8
    )
    picture = media.decode_preview(media.encode_preview(rgb, width, height), "x")
    assert picture.shape == (*media.preview_size(width, height)[::-1], 3)


def test_the_ui_previews_no_larger_than_core_stores() -> None:
    assert render.PREVIEW_MAX_SIDE == media.PREVIEW_MAX_SIDE


def test_an_altered_media_file_with_a_stored_preview_shows_it_blurred_then_the_error(
    imported: Workspace,
) -> None:
    case = the_case(imported, "jpg-0")
    media_file = stored(imported, "jpg-0")
    data = bytearray(media_file.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    media_file.path.write_bytes(bytes(data))
    preview = preview_case(case, imported.queue.open_media, FilterSettings())
    assert preview is not None and preview.sharp is None  # made at import, blurred
    full, _ = render.render_case(case, imported.queue.open_media, FilterSettings(), None)
    assert "jpg-0.jpg: the stored file is damaged or was altered" in full.error


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_the_preview_is_turned_like_the_picture_on_screen(
    workspace: Workspace, tmp_path: Path, orientation: int
) -> None:
    folder = tmp_path / "b"
    (folder / "media").mkdir(parents=True)
    rgb = np.zeros((900, 1200, 3), np.uint8)
    rgb[:, :400] = (250, 250, 250)  # bright on the left, one corner red: every turn differs
    rgb[:300, 900:] = (250, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(rgb).save(folder / "media" / "turned.jpg", quality=90, exif=exif)
    write_batch(folder, [case_record("m-0", "image", ["media/turned.jpg"])])
    workspace.batches.import_batch(folder)
    source = stored(workspace, "m-0")
    preview = media.stored_preview(source)
    assert preview is not None
    on_screen = media.decode_image_for_display(source, PREVIEW_MAX_SIDE)
    assert preview.shape == on_screen.shape
    expected = media.blur(on_screen, media.MAX_BLUR_LEVEL).astype(int)
    assert np.abs(preview.astype(int) - expected).mean() < 6
