"""Media encrypted at rest (issue 17, item 14): sealed files, the store key, migration,
tamper detection, and display (images, storyboards, the player with seek) from memory."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from qa_desktop.core import keys, media_store
from qa_desktop.core.api import BatchError, MediaError, MediaKeyError, StoredMedia
from qa_desktop.core.media import VideoCapture, decode_image_for_display, storyboard, video_info
from qa_desktop.core.sealed_files import (
    CHUNK_SIZE,
    HEADER_SIZE,
    MAGIC,
    TAG_SIZE,
    SealedFileError,
    SealedReader,
    SealedWriter,
    is_sealed,
)
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.video_player import VideoPlayer

from .conftest import MemoryKeyring
from .factory import case_record, mixed_batch, write_batch, write_video
from .windows import open_window

KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def fresh_key_cache() -> None:
    media_store.forget_keys()
    yield
    media_store.forget_keys()


def seal(data: bytes, path: Path, name: str = "n", key: bytes = KEY) -> Path:
    with open(path, "wb") as out, SealedWriter(out, key, name) as sealed:
        sealed.write(data)
    return path


# -- the sealed file format --------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    size=st.sampled_from([0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE])
    | st.integers(0, 3 * CHUNK_SIZE + 7),
    reads=st.lists(st.tuples(st.integers(0, 3 * CHUNK_SIZE + 20), st.integers(-1, 2 * CHUNK_SIZE))),
)
def test_a_sealed_file_reads_back_with_random_access(
    tmp_path_factory: pytest.TempPathFactory, size: int, reads: list[tuple[int, int]]
) -> None:
    data = os.urandom(size)
    path = seal(data, tmp_path_factory.mktemp("s") / "f")
    plain = io.BytesIO(data)
    with SealedReader(path, KEY, "n") as reader:
        assert reader.size == size and reader.read_all() == data
        for offset, count in reads:
            reader.seek(offset)
            plain.seek(offset)
            assert reader.read(count) == plain.read(count)
            assert reader.tell() == plain.tell()


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_flipped_byte_truncation_or_addition_is_refused_never_misread(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    original = os.urandom(data.draw(st.integers(0, 2 * CHUNK_SIZE + 100)))
    path = seal(original, tmp_path_factory.mktemp("s") / "f")
    sealed = bytearray(path.read_bytes())
    how = data.draw(st.sampled_from(["flip", "truncate", "append", "drop-chunk"]))
    if how == "flip":
        at = data.draw(st.integers(0, len(sealed) - 1))
        sealed[at] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "truncate":
        del sealed[data.draw(st.integers(0, len(sealed) - 1)) :]
    elif how == "append":
        sealed += os.urandom(data.draw(st.integers(1, 40)))
    else:
        stride = CHUNK_SIZE + TAG_SIZE
        chunks = -(-(len(sealed) - HEADER_SIZE) // stride)
        if chunks < 2:
            sealed = sealed[:-1]
        else:
            at = HEADER_SIZE + data.draw(st.integers(0, chunks - 2)) * stride
            del sealed[at : at + stride]
    path.write_bytes(bytes(sealed))
    with pytest.raises(SealedFileError, match=path.name), SealedReader(path, KEY, "n") as reader:
        reader.read_all()


@pytest.mark.parametrize("size", [0, 5, CHUNK_SIZE])
def test_every_header_bit_is_checked_on_open_even_for_a_file_never_read(
    tmp_path: Path, size: int
) -> None:
    """Found by the property test in CI: an empty file's tampered chunk size went unnoticed,
    because nothing was ever decrypted. Opening now checks the last chunk's tag."""
    path = seal(os.urandom(size), tmp_path / "f")
    sealed = path.read_bytes()
    for at in range(len(MAGIC), HEADER_SIZE):
        for bit in range(8):
            altered = bytearray(sealed)
            altered[at] ^= 1 << bit
            path.write_bytes(bytes(altered))
            with pytest.raises(SealedFileError, match=path.name):
                SealedReader(path, KEY, "n").close()


def test_chunks_are_bound_to_their_file_and_key(tmp_path: Path) -> None:
    path = seal(b"x" * 100, tmp_path / "f", name="aaaa")
    with pytest.raises(SealedFileError, match="authentication"):
        SealedReader(path, KEY, "bbbb").read_all()  # swapped under another content hash
    with pytest.raises(SealedFileError, match="authentication"):
        SealedReader(path, os.urandom(32), "aaaa").read_all()
    (tmp_path / "plain").write_bytes(b"\x89PNG\r\n\x1a\nplain")
    with pytest.raises(SealedFileError, match="not an encrypted media file"):
        SealedReader(tmp_path / "plain", KEY, "aaaa")


# -- the store -----------------------------------------------------------------------------


@pytest.fixture
def imported(workspace: Workspace, tmp_path: Path) -> tuple[Workspace, Path]:
    workspace.guidelines.import_pack(DEMO_PACK)
    folder = mixed_batch(tmp_path / "b", images=2, videos=1, texts=0)
    workspace.batches.import_batch(folder)
    return workspace, folder


def test_media_on_disk_do_not_hold_the_original_bytes(imported: tuple[Workspace, Path]) -> None:
    ws, folder = imported
    everything = b"".join(p.read_bytes() for p in ws.data_dir.rglob("*") if p.is_file())
    for case_id in ("img-0", "img-1", "vid-0"):
        case = ws.queue.case(case_id)
        assert case is not None
        original = (folder / case.media[0].name).read_bytes()
        run = original[len(original) // 2 : len(original) // 2 + 24]  # distinctive bytes
        assert run not in everything  # not in the store, a temp file, nor the database
        stored = ws.queue.media_path(case.media[0])
        assert is_sealed(stored) and stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert ws.queue.open_media(case.media[0]).read_bytes() == original


def test_images_and_storyboards_decode_from_the_encrypted_store(
    imported: tuple[Workspace, Path],
) -> None:
    ws, folder = imported
    image = ws.queue.case("img-0").media[0]  # type: ignore[union-attr]
    from_store = decode_image_for_display(ws.queue.open_media(image), 1600)
    assert np.array_equal(from_store, decode_image_for_display(folder / image.name, 1600))
    video = ws.queue.case("vid-0").media[0]  # type: ignore[union-attr]
    info = video_info(ws.queue.open_media(video))
    assert (info.width, info.height, info.frame_count) == (160, 120, 24)
    assert len(storyboard(ws.queue.open_media(video), count=4)) == 4


def flip(path: Path, at: int) -> None:
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[at] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", [HEADER_SIZE + 5, -3])
def test_a_flipped_byte_is_a_media_error_naming_the_case_file(
    imported: tuple[Workspace, Path], where: int
) -> None:
    ws, _ = imported
    for case_id, show in (
        ("img-0", lambda s: decode_image_for_display(s, 1600)),
        ("vid-0", lambda s: storyboard(s, count=4)),
    ):
        media = ws.queue.case(case_id).media[0]  # type: ignore[union-attr]
        path = ws.queue.media_path(media)
        flip(path, where % path.stat().st_size)
        damaged = re.escape(f"{media.name}: the stored file is damaged")
        with pytest.raises(MediaError, match=damaged):
            show(ws.queue.open_media(media))


def long_video(path: Path) -> Path:
    write_video(path, width=320, height=240, frames=120)
    assert path.stat().st_size > 3 * CHUNK_SIZE  # several chunks: seeks skip some
    return path


def stored_copy(tmp_path: Path, plain: Path, key: bytes = KEY) -> StoredMedia:
    sealed = seal(plain.read_bytes(), tmp_path / "sealed", name="sha")
    return StoredMedia(plain.name, "sha", "video/mp4", sealed, key)


def test_seeking_an_encrypted_video_gives_the_same_frames_as_the_plain_file(
    tmp_path: Path,
) -> None:
    plain = long_video(tmp_path / "long.mp4")
    stored = stored_copy(tmp_path, plain)
    for position in (90, 7, 119, 0, 64):
        frames = []
        for source in (plain, stored):
            capture = VideoCapture(source)
            assert capture.set(cv2.CAP_PROP_POS_FRAMES, position)
            ok, frame = capture.read()
            capture.release()
            assert ok
            frames.append(frame)
        assert np.array_equal(frames[0], frames[1])


def test_a_video_damaged_mid_way_stops_with_a_media_error_not_a_short_video(
    tmp_path: Path,
) -> None:
    stored = stored_copy(tmp_path, long_video(tmp_path / "long.mp4"))
    flip(stored.path, HEADER_SIZE + 2 * (CHUNK_SIZE + TAG_SIZE) + 100)
    capture = VideoCapture(stored)
    with pytest.raises(MediaError, match=re.escape("long.mp4: the stored file is damaged")):
        while capture.grab():
            pass
    capture.release()


# -- the player and the review screen ------------------------------------------------------


def test_the_player_plays_and_seeks_an_encrypted_video(qtbot: QtBot, tmp_path: Path) -> None:
    stored = stored_copy(tmp_path, long_video(tmp_path / "long.mp4"))
    before = sorted(tmp_path.rglob("*"))
    player = VideoPlayer()
    qtbot.addWidget(player)
    with qtbot.waitSignal(player.frame_shown, timeout=10000):
        player.load(stored)
    with qtbot.waitSignal(player.frame_shown, timeout=10000) as shown:
        player.seek(6.0)  # 12 fps: frame 72
    assert shown.args == [72]
    with qtbot.waitSignal(player.frame_shown, timeout=10000) as shown:
        player.step_frame(-2)
    assert shown.args == [70]
    qtbot.waitUntil(lambda: "(no audio)" in player.mute_button.text(), timeout=10000)
    player.close_media()
    assert sorted(tmp_path.rglob("*")) == before  # nothing decrypted was written


def test_the_player_says_why_a_damaged_encrypted_video_stops(qtbot: QtBot, tmp_path: Path) -> None:
    stored = stored_copy(tmp_path, long_video(tmp_path / "long.mp4"))
    stride = CHUNK_SIZE + TAG_SIZE
    for chunk in range(1, (stored.path.stat().st_size - HEADER_SIZE) // stride - 1):
        flip(stored.path, HEADER_SIZE + chunk * stride + 7)  # the middle of the video
    player = VideoPlayer()
    qtbot.addWidget(player)
    with qtbot.waitSignal(player.failed, timeout=10000) as failed:
        player.load(stored)
        qtbot.waitUntil(
            lambda: player.current_frame() is not None or bool(player.screen_view.message),
            timeout=10000,
        )
        player.seek(5.0)
    assert "long.mp4: the stored file is damaged" in failed.args[0]
    player.close_media()


def test_the_review_screen_says_cannot_show_for_a_tampered_image(
    qtbot: QtBot, imported: tuple[Workspace, Path]
) -> None:
    ws, _ = imported
    media = ws.queue.case("img-0").media[0]  # type: ignore[union-attr]
    flip(ws.queue.media_path(media), HEADER_SIZE + 50)
    window = open_window(qtbot, ws)
    view = window.review.viewer.image_view
    qtbot.waitUntil(lambda: "Cannot show" in view._message, timeout=10000)
    assert "media/img0.png: the stored file is damaged" in view._message
    qtbot.keyClick(window.review.queue, Qt.Key.Key_J)  # the next case still shows
    qtbot.waitUntil(lambda: view.current_image() is not None, timeout=10000)


# -- the store key ---------------------------------------------------------------------------


def test_with_an_os_keyring_the_store_key_is_sealed_by_it(
    os_keyring: MemoryKeyring, imported: tuple[Workspace, Path]
) -> None:
    ws, folder = imported
    record = json.loads(ws.media_store.key_path.read_text(encoding="utf-8"))
    assert record["storage"] == "keyring" and "key" not in record
    assert stat.S_IMODE(ws.media_store.key_path.stat().st_mode) == 0o600
    [(service, entry)] = os_keyring.entries
    assert service == keys.KEYRING_SERVICE and entry == record["keyring_entry"]
    key = ws.media_store.key()
    assert base64.b64encode(key).decode() not in ws.media_store.key_path.read_text()
    assert base64.b64encode(key).decode() not in os_keyring.entries[(service, entry)]
    image = ws.queue.case("img-0").media[0]  # type: ignore[union-attr]
    media_store.forget_keys()
    assert ws.queue.open_media(image).read_bytes() == (folder / image.name).read_bytes()

    os_keyring.entries.clear()  # another login session, or the laptop's disk alone
    media_store.forget_keys()
    with pytest.raises(MediaKeyError, match="OS keyring"):
        ws.queue.open_media(image)
    with pytest.raises(BatchError, match="OS keyring"):
        ws.batches.import_batch(mixed_batch(folder.parent / "more", images=1, videos=0))


def test_without_a_keyring_the_key_file_holds_the_key_privately(
    imported: tuple[Workspace, Path],
) -> None:
    ws, _ = imported
    assert keys.os_keyring() is None
    record = json.loads(ws.media_store.key_path.read_text(encoding="utf-8"))
    assert record["storage"] == "file"
    assert base64.b64decode(record["key"]) == ws.media_store.key()
    assert stat.S_IMODE(ws.media_store.key_path.stat().st_mode) == 0o600


def test_a_lost_key_file_is_said_plainly_and_never_replaced(
    imported: tuple[Workspace, Path],
) -> None:
    ws, _ = imported
    ws.media_store.key_path.unlink()
    media_store.forget_keys()
    image = ws.queue.case("img-0").media[0]  # type: ignore[union-attr]
    with pytest.raises(MediaKeyError, match=r"media-store-key\.json is missing"):
        ws.queue.open_media(image)
    assert not ws.media_store.key_path.exists()  # no new key that would open nothing


def test_processes_making_the_key_at_once_agree_on_one(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from qa_desktop.core.media_store import MediaStore
        data = Path({str(tmp_path / "data")!r})
        print(MediaStore(data, data / "media").key().hex())
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(outputs) == 1 and len(outputs.pop()) == 64


# -- migration of stores from before encryption ------------------------------------------------


def make_plaintext_store(ws: Workspace, folder: Path) -> list[tuple[Path, bytes]]:
    """Turn an imported store back into the layout older versions wrote (plain files)."""
    stored = []
    for case_id in ("img-0", "img-1", "vid-0"):
        media = ws.queue.case(case_id).media[0]  # type: ignore[union-attr]
        path = ws.queue.media_path(media)
        original = (folder / media.name).read_bytes()
        path.write_bytes(original)
        stored.append((path, original))
    (ws.media_dir / media_store.MIGRATED_MARKER).unlink()
    return stored


def test_opening_an_old_store_encrypts_its_media_once(
    imported: tuple[Workspace, Path], tmp_path: Path
) -> None:
    ws, folder = imported
    stored = make_plaintext_store(ws, folder)
    leftover = stored[0][0].with_name(".sealing-abc")
    leftover.write_bytes(b"half")  # what a crash during a migration leaves
    ws.close()
    with Workspace.open(ws.data_dir) as again:
        for path, original in stored:
            assert is_sealed(path) and original[100:140] not in path.read_bytes()
        assert not leftover.exists()
        image = again.queue.case("img-0").media[0]  # type: ignore[union-attr]
        assert again.queue.open_media(image).read_bytes() == stored[0][1]
        sealed = [p.read_bytes() for p, _ in stored]
    with Workspace.open(ws.data_dir):
        assert [p.read_bytes() for p, _ in stored] == sealed  # idempotent: not sealed twice


@pytest.mark.slow
def test_kill_9_during_the_migration_loses_no_media(
    imported: tuple[Workspace, Path], tmp_path: Path
) -> None:
    ws, folder = imported
    stored = make_plaintext_store(ws, folder)
    for i in range(20):  # more plain files, so the kill lands mid-way
        extra = ws.media_dir / "ff" / f"ff{i:062d}"
        extra.parent.mkdir(exist_ok=True)
        extra.write_bytes(os.urandom(300_000))
        stored.append((extra, extra.read_bytes()))
    ws.close()
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from qa_desktop.core import media_store, sealed_files
        real = sealed_files.seal_in_place
        def noisy(path, key, name):
            done = real(path, key, name)
            print("sealed", flush=True)
            return done
        media_store.seal_in_place = noisy
        from qa_desktop.core.workspace import Workspace
        Workspace.open(Path({str(ws.data_dir)!r}))
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    for _ in range(4):
        assert child.stdout.readline().strip() == "sealed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    store = media_store.MediaStore(ws.data_dir, ws.media_dir)
    with Workspace.open(ws.data_dir):
        for path, original in stored:
            assert is_sealed(path)
            with SealedReader(path, store.key(), path.name) as reader:
                assert reader.read_all() == original
        assert not list(ws.media_dir.rglob(".sealing-*"))


def test_a_batch_of_one_big_image_imports_sealed(workspace: Workspace, tmp_path: Path) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    folder = tmp_path / "b"
    (folder / "media").mkdir(parents=True)
    img = np.random.default_rng(0).integers(0, 256, (900, 1200, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / "media" / "big.png"), img)  # several chunks
    write_batch(folder, [case_record("big", "image", ["media/big.png"])])
    workspace.batches.import_batch(folder)
    media = workspace.queue.case("big").media[0]  # type: ignore[union-attr]
    assert media.size > 3 * CHUNK_SIZE
    rgb = decode_image_for_display(workspace.queue.open_media(media), 2000)
    assert np.array_equal(rgb, cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
