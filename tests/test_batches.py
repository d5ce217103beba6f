"""Case batches: folder, zip, CSV; all or nothing; every refusal names file, line and field."""

from __future__ import annotations

import copy
import errno
import hashlib
import json
import os
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from qa_desktop.core import batches
from qa_desktop.core.batches import BatchError, ImportCancelled, ImportReport, import_batch, records
from qa_desktop.core.batches import limits as batch_limits
from qa_desktop.core.cases import load_case
from qa_desktop.core.formats import zip_safety
from qa_desktop.core.store import open_database
from qa_desktop.core.workspace import Workspace

from .factory import (
    batch_header,
    case_record,
    tiny_png,
    write_batch,
    write_cases_csv,
    write_video,
    zip_folder,
)

TABLES = ("batches", "cases", "media")


def snapshot(db: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables an import writes."""
    return {t: list(db.query(f"SELECT * FROM {t} ORDER BY rowid")) for t in TABLES}


def run(ws: Workspace, path: Path, **kwargs: Any) -> ImportReport:
    return import_batch(ws.database_for_tests(), ws.media_store, path, **kwargs)


def refused(ws: Workspace, path: Path, *fragments: str, **kwargs: Any) -> str:
    """Import ``path``, expect a BatchError naming every fragment, and an unchanged database."""
    before = snapshot(ws.database_for_tests())
    with pytest.raises(BatchError) as info:
        run(ws, path, **kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert snapshot(ws.database_for_tests()) == before
    return message


def text_records(count: int, prefix: str = "t") -> list[dict]:
    return [case_record(f"{prefix}-{i}", "text", [], tags=[]) for i in range(count)]


def media_batch(folder: Path, batch_id: str = "test-batch") -> Path:
    """A small real batch: two images, a video and two text posts."""
    tiny_png(folder / "media" / "a.png", seed=1)
    tiny_png(folder / "media" / "b.png", seed=2)
    write_video(folder / "media" / "clip.mp4", frames=6)
    records = [
        case_record("img-a", "image", ["media/a.png"], metadata={"source": "report", "n": 2}),
        case_record("img-ab", "image", ["media/a.png", "media/b.png"], text="two images"),
        case_record("vid-0", "video", ["media/clip.mp4"]),
        *text_records(2),
    ]
    return write_batch(folder, records, batch_id=batch_id)


def write_lines(folder: Path, lines: list[str | bytes], header: dict | None = None) -> Path:
    """A batch folder whose cases.jsonl holds exactly ``lines``."""
    (folder / "media").mkdir(parents=True, exist_ok=True)
    (folder / "batch.json").write_text(json.dumps(header or batch_header()), encoding="utf-8")
    raw = b"\n".join(line.encode() if isinstance(line, str) else line for line in lines)
    (folder / "cases.jsonl").write_bytes(raw + b"\n")
    return folder


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A workspace that already holds a batch 'base', so 'unchanged' means something."""
    run(workspace, write_batch(tmp_path / "base", text_records(2, "base"), batch_id="base"))
    return workspace


# -- good batches -----------------------------------------------------------------------------


def test_good_folder_imports_cases_media_and_the_batch(ws: Workspace, tmp_path: Path) -> None:
    folder = media_batch(tmp_path / "b")
    report = run(ws, folder)
    assert report == ImportReport("test-batch", 5, 0, 3)

    batch = next(ws.database_for_tests().query("SELECT * FROM batches WHERE id = 'test-batch'"))
    raw = (folder / "batch.json").read_bytes() + (folder / "cases.jsonl").read_bytes()
    assert batch["source_sha256"] == hashlib.sha256(raw).hexdigest()
    assert batch["signature_status"] == "unsigned"
    assert (batch["pack_id"], batch["pack_version"], batch["format_version"]) == (
        "demo-global",
        "1.0.0",
        1,
    )
    assert batch["imported_at"].endswith("Z")

    case = load_case(ws.database_for_tests(), "img-ab")
    assert case is not None and case.batch_id == "test-batch"
    assert [m.name for m in case.media] == ["media/a.png", "media/b.png"]
    assert case.media[0].sha256 == hashlib.sha256((folder / "media/a.png").read_bytes()).hexdigest()
    assert {m.mime for m in case.media} == {"image/png"}
    video = load_case(ws.database_for_tests(), "vid-0")
    assert video is not None and video.media[0].mime == "video/mp4"
    assert load_case(ws.database_for_tests(), "img-a").metadata == {"source": "report", "n": 2}  # type: ignore[union-attr]
    for media in (*case.media, *video.media):
        stored = media.path_in(ws.media_dir)
        original = (folder / media.name).read_bytes()
        assert ws.queue.open_media(media).read_bytes() == original  # encrypted at rest
        assert stored.read_bytes() != original
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert not list(ws.media_dir.rglob(".incoming-*"))


def test_content_sha256_is_the_documented_canonical_form(ws: Workspace, tmp_path: Path) -> None:
    folder = media_batch(tmp_path / "b")
    run(ws, folder)
    rows = {
        r["id"]: r["content_sha256"] for r in ws.database_for_tests().query("SELECT * FROM cases")
    }
    record = case_record("t-0", "text", [], tags=[])
    d = record["decision"]
    fields = [
        record["id"],
        "text",
        record["text"],
        "DE",
        "de",
        "[]",
        "{}",
        d["label"],
        d["policy"],
        d["moderator_id"],
        d["queue"],
        d["decided_at"],
    ]
    assert rows["t-0"] == hashlib.sha256("\x00".join(fields).encode()).hexdigest()
    a_sha = hashlib.sha256((folder / "media/a.png").read_bytes()).hexdigest()
    image = case_record("img-a", "image", ["media/a.png"])
    fields = [
        image["id"],
        "image",
        "",
        "DE",
        "de",
        '["violence"]',
        '{"n":2,"source":"report"}',
        *fields[7:],
        "media/a.png",
        a_sha,
    ]
    assert rows["img-a"] == hashlib.sha256("\x00".join(fields).encode()).hexdigest()


@pytest.mark.parametrize("prefix", ["", "weekly-de/"])
def test_good_zip_imports_like_the_folder(ws: Workspace, tmp_path: Path, prefix: str) -> None:
    archive = zip_folder(media_batch(tmp_path / "b"), tmp_path / "batch.zip", prefix)
    assert run(ws, archive) == ImportReport("test-batch", 5, 0, 3)
    case = load_case(ws.database_for_tests(), "img-ab")
    assert case is not None and all(m.path_in(ws.media_dir).is_file() for m in case.media)


def test_a_folder_and_its_zip_are_the_same_batch(ws: Workspace, tmp_path: Path) -> None:
    folder = media_batch(tmp_path / "b")
    run(ws, folder)
    assert run(ws, zip_folder(folder, tmp_path / "b.zip")) == ImportReport("test-batch", 0, 5, 0)


def test_batch_json_path_imports_its_folder(ws: Workspace, tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "b", text_records(2))
    assert run(ws, folder / "batch.json").cases_added == 2


def test_good_csv_beside_batch_json_gives_the_same_cases_as_jsonl(
    ws: Workspace, tmp_path: Path
) -> None:
    as_jsonl = media_batch(tmp_path / "jsonl")
    records = [json.loads(line) for line in (as_jsonl / "cases.jsonl").read_text().splitlines()]
    as_csv = tmp_path / "csv"
    for name in ("a.png", "b.png", "clip.mp4"):
        (as_csv / "media").mkdir(parents=True, exist_ok=True)
        (as_csv / "media" / name).write_bytes((as_jsonl / "media" / name).read_bytes())
    (as_csv / "batch.json").write_text(json.dumps(batch_header()), encoding="utf-8")
    csv_path = write_cases_csv(as_csv / "export.csv", records)

    assert run(ws, csv_path) == ImportReport("test-batch", 5, 0, 3)
    other = open_database(tmp_path / "other.database_for_tests()")
    import_batch(other, tmp_path / "other-media", as_jsonl)
    query = "SELECT * FROM cases WHERE batch_id = 'test-batch' ORDER BY seq"
    assert [dict(r, seq=0) for r in ws.database_for_tests().query(query)] == [
        dict(r, seq=0) for r in other.query(query)
    ]
    assert list(ws.database_for_tests().query("SELECT * FROM media")) == list(
        other.query("SELECT * FROM media")
    )
    other.close()


def test_csv_in_a_folder_with_bom_pipes_and_metadata(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "b"
    tiny_png(folder / "media" / "a.png")
    tiny_png(folder / "media" / "b.png", seed=3)
    (folder / "batch.json").write_text(json.dumps(batch_header()), encoding="utf-8")
    text = (
        "\ufeffid,content_type,media,text,market,language,tags,label,policy,moderator_id,"
        "queue,decided_at,metadata\n"
        'c-1,image,media/a.png | media/b.png,"a caption, with a comma",FR,fr,severe; gore ,'
        'vh_remove,VH,m-9,fr-queue,2026-10-30T12:00:00+01:00,"{""k"": [1, 2]}"\n'
        "\n"
        'c-2,text,,"multi\nline post",FR,fr,,no_violation,none,m-9,fr-queue,'
        "2026-10-30T12:00:00Z,\n"
    )
    (folder / "cases.csv").write_bytes(text.encode())
    assert run(ws, folder).cases_added == 2
    first = load_case(ws.database_for_tests(), "c-1")
    assert first is not None
    assert [m.name for m in first.media] == ["media/a.png", "media/b.png"]
    assert first.tags == ("severe", "gore") and first.metadata == {"k": [1, 2]}
    assert first.text == "a caption, with a comma" and first.market == "FR"
    second = load_case(ws.database_for_tests(), "c-2")
    assert second is not None and second.text == "multi\nline post" and second.tags == ()


def _spec_example(section: str) -> str:
    """The code block that follows ``section`` in the Example of docs/batch-format.md."""
    spec = (Path(__file__).parents[1] / "docs" / "batch-format.md").read_text(encoding="utf-8")
    example = spec[spec.index("## Example") :]
    after = example[example.index(section) :]
    start = after.index("```") + len(after[after.index("```") :].split("\n", 1)[0]) + 1
    return after[start : after.index("```", start)]


def test_the_spec_example_imports_as_jsonl_and_as_csv(ws: Workspace, tmp_path: Path) -> None:
    hashes = []
    for form in ("jsonl", "csv"):
        folder = tmp_path / form
        (folder / "media").mkdir(parents=True)
        Image.new("RGB", (40, 30), (10, 120, 200)).save(folder / "media" / "c-001.jpg", "JPEG")
        write_video(folder / "media" / "c-002.mp4", frames=2)
        (folder / "batch.json").write_text(_spec_example("`batch.json`:"), encoding="utf-8")
        section = "`cases.jsonl`:" if form == "jsonl" else "The same cases as `cases.csv`"
        (folder / f"cases.{form}").write_text(_spec_example(section), encoding="utf-8")
        db = open_database(tmp_path / f"{form}.db")
        assert import_batch(db, tmp_path / "media", folder).cases_added == 3
        hashes.append(list(db.query("SELECT id, content_sha256, tags, metadata FROM cases")))
        db.close()
    assert hashes[0] == hashes[1]
    assert hashes[0][0]["metadata"] == '{"reports":3}'


def test_optional_fields_may_be_null_or_absent(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "b"
    tiny_png(folder / "media" / "a.png")
    image = case_record("img", "image", ["media/a.png"], text=None, tags=None, metadata=None)
    text = case_record("txt", "text", [])
    for key in ("tags", "metadata", "media"):
        del text[key]
    text["media"] = None
    run(ws, write_batch(folder, [image, text]))
    stored = load_case(ws.database_for_tests(), "img")
    assert stored is not None and (stored.text, stored.tags, stored.metadata) == ("", (), {})
    stored = load_case(ws.database_for_tests(), "txt")
    assert stored is not None and (stored.tags, stored.metadata, stored.media) == ((), {}, ())


def test_reimport_adds_nothing_and_changes_nothing(ws: Workspace, tmp_path: Path) -> None:
    folder = media_batch(tmp_path / "b")
    run(ws, folder)
    before = snapshot(ws.database_for_tests())
    assert run(ws, folder) == ImportReport("test-batch", 0, 5, 0)
    assert snapshot(ws.database_for_tests()) == before


def test_reimport_with_new_cases_adds_only_those(ws: Workspace, tmp_path: Path) -> None:
    run(ws, write_batch(tmp_path / "v1", text_records(2)))
    assert run(ws, write_batch(tmp_path / "v2", text_records(3))) == ImportReport(
        "test-batch", 1, 2, 0
    )


# -- conflicts with what is already imported ----------------------------------------------------


def test_changed_case_under_the_same_id_is_a_conflict(ws: Workspace, tmp_path: Path) -> None:
    run(ws, write_batch(tmp_path / "v1", text_records(3)))
    records = text_records(3)
    records[2]["text"] = "edited after the first import"
    refused(
        ws,
        write_batch(tmp_path / "v2", records),
        "cases.jsonl line 3, field 'id': case 't-2' is already imported in batch 'test-batch'"
        " with different content",
    )


def test_changed_media_under_the_same_case_is_a_conflict(ws: Workspace, tmp_path: Path) -> None:
    folder = media_batch(tmp_path / "b")
    run(ws, folder)
    tiny_png(folder / "media" / "b.png", seed=99)
    refused(ws, folder, "line 2, field 'id': case 'img-ab' is already imported")


def test_case_id_of_another_batch_is_refused(ws: Workspace, tmp_path: Path) -> None:
    records = [*text_records(1), case_record("base-1", "text", [])]
    refused(
        ws,
        write_batch(tmp_path / "b", records),
        "cases.jsonl line 2, field 'id': case 'base-1' already belongs to batch 'base'",
    )


def test_changed_batch_header_is_refused(ws: Workspace, tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "b", text_records(2), batch_id="base")
    header = batch_header("base", guideline_pack={"id": "demo-global", "version": "2.0.0"})
    (folder / "batch.json").write_text(json.dumps(header))
    refused(ws, folder, "batch.json, field 'guideline_pack': batch 'base' is already imported")


# -- bad records ------------------------------------------------------------------------------


def _with(**changes: Any) -> Callable[[dict], dict]:
    def change(record: dict) -> dict:
        record = copy.deepcopy(record)
        for key, value in changes.items():
            if key.startswith("decision_"):
                record["decision"][key.removeprefix("decision_")] = value
            else:
                record[key] = value
        return record

    return change


def _without(key: str) -> Callable[[dict], dict]:
    def change(record: dict) -> dict:
        record = copy.deepcopy(record)
        if key.startswith("decision_"):
            del record["decision"][key.removeprefix("decision_")]
        else:
            del record[key]
        return record

    return change


def _renamed(old: str, new: str) -> Callable[[dict], dict]:
    return lambda r: {(new if k == old else k): v for k, v in r.items()}


def _raw(line: str) -> Callable[[dict], str]:
    return lambda _r: line


BAD_RECORDS: dict[str, tuple[Callable[[dict], dict | str], str]] = {
    "unknown content_type": (
        _with(content_type="gif"),
        "cases.jsonl line 2, field 'content_type': expected one of image, video, text, got 'gif'",
    ),
    "typo in a field name": (
        _renamed("content_type", "contnet_type"),
        "line 2, field 'contnet_type': unknown field (did you mean 'content_type'?)",
    ),
    "missing field": (_without("language"), "line 2, field 'language': missing"),
    "wrong type": (_with(market=7), "line 2, field 'market': expected a string, got a number"),
    "text not a string": (_with(text=["x"]), "line 2, field 'text': expected a string"),
    "tags not a list": (_with(tags="gore"), "line 2, field 'tags': expected a list of strings"),
    "empty tag": (_with(tags=["ok", ""]), "line 2, field 'tags': each tag: must not be empty"),
    "metadata not an object": (_with(metadata=[1]), "line 2, field 'metadata': expected an"),
    "NaN in metadata": (_with(metadata={"x": float("nan")}), "field 'metadata': numbers must"),
    "empty id": (_with(id=""), "line 2, field 'id': must not be empty"),
    "control character in id": (_with(id="a\x07b"), "field 'id': must not contain control"),
    "id with surrounding space": (_with(id="t-1 "), "field 'id': must not start or end"),
    "id too long": (_with(id="x" * 201), "line 2, field 'id': longer than 200 characters"),
    "decision not an object": (_with(decision="remove"), "field 'decision': expected an object"),
    "decision field missing": (_without("decision_label"), "field 'decision.label': missing"),
    "decision field unknown": (
        _with(decision_labell="x"),
        "field 'decision.labell': unknown field (did you mean 'label'?)",
    ),
    "decided_at not ISO 8601": (
        _with(decision_decided_at="30/10/2026 12:00"),
        "line 2, field 'decision.decided_at': expected an ISO 8601 timestamp",
    ),
    "decided_at without offset": (
        _with(decision_decided_at="2026-10-30T12:00:00"),
        "field 'decision.decided_at': the timestamp needs a UTC offset",
    ),
    "decided_at a number": (_with(decision_decided_at=1), "field 'decision.decided_at'"),
    "text case with no text": (_with(text="  "), "line 2, field 'text': a text case needs text"),
    "text case with media": (
        _with(media=["media/x.png"]),
        "field 'media': a text case has no media",
    ),
    "image case with no media": (
        _with(content_type="image", media=[]),
        "line 2, field 'media': an image case needs at least one media file",
    ),
    "video case with null media": (
        _with(content_type="video", media=None),
        "field 'media': a video case needs at least one media file",
    ),
    "absolute media path": (
        _with(content_type="image", media=["/etc/passwd"]),
        "field 'media': '/etc/passwd' is an absolute path",
    ),
    "drive letter": (_with(content_type="image", media=["C:/x.png"]), "is an absolute path"),
    "dot-dot media path": (
        _with(content_type="image", media=["media/../../x.png"]),
        "field 'media': 'media/../../x.png' contains '..'",
    ),
    "backslash media path": (
        _with(content_type="image", media=["media\\x.png"]),
        "contains a backslash",
    ),
    "media path not a string": (_with(content_type="image", media=[3]), "expected paths"),
    "lone surrogate": (_with(text="bad \ud800 text"), "line 2, field 'text': invalid Unicode"),
    "not an object": (_raw("[1, 2]"), "cases.jsonl line 2: expected a JSON object, got a list"),
    "malformed JSON": (_raw('{"id": "t-1",'), "cases.jsonl line 2: not valid JSON"),
    "record spanning two lines": (
        _raw('{"id": "t-1", "tags": ["a"\n,"b"]}'),
        "cases.jsonl line 2: not valid JSON",
    ),
    "two records on one line": (
        _raw(
            json.dumps(case_record("t-1", "text", []))
            + ", "
            + json.dumps(case_record("t-9", "text", []))
        ),
        "cases.jsonl line 2: not valid JSON (Extra data",
    ),
    "duplicate id": (
        _with(id="t-0"),
        "cases.jsonl line 2, field 'id': duplicate case id 't-0' (first on line 1)",
    ),
}


@pytest.mark.parametrize("name", list(BAD_RECORDS))
def test_bad_record_is_refused_naming_file_line_and_field(
    ws: Workspace, tmp_path: Path, name: str
) -> None:
    change, expected = BAD_RECORDS[name]
    records: list[dict | str] = list(text_records(3))
    records[1] = change(records[1])  # type: ignore[arg-type]
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    refused(ws, write_lines(tmp_path / "b", lines), expected)  # type: ignore[arg-type]


def test_every_problem_is_listed(ws: Workspace, tmp_path: Path) -> None:
    records = text_records(5)
    records[0]["content_type"] = "gif"
    records[2]["market"] = ""
    records[4]["decision"]["decided_at"] = "yesterday"
    with pytest.raises(BatchError) as info:
        run(ws, write_batch(tmp_path / "b", records))
    assert len(info.value.problems) == 3
    message = str(info.value)
    assert message.startswith("3 problems")
    for where in (
        "line 1, field 'content_type'",
        "line 3, field 'market'",
        "line 5, field 'decision.decided_at'",
    ):
        assert where in message


def test_a_long_list_of_problems_is_cut_short(ws: Workspace, tmp_path: Path) -> None:
    records = text_records(30)
    for record in records:
        record["language"] = ""
    message = refused(ws, write_batch(tmp_path / "b", records), "30 problems", "and 10 more")
    assert message.count("\n- ") == batches.MAX_REPORTED_PROBLEMS + 1


# -- bad media --------------------------------------------------------------------------------


def _image_case(folder: Path, name: str, content_type: str = "image") -> Path:
    return write_batch(folder, [case_record("m-1", content_type, [f"media/{name}"])])


def test_missing_media_is_refused(ws: Workspace, tmp_path: Path) -> None:
    folder = _image_case(tmp_path / "b", "missing.png")
    refused(ws, folder, "cases.jsonl line 1, field 'media': media/missing.png not found")


def test_media_that_is_a_folder_is_refused(ws: Workspace, tmp_path: Path) -> None:
    folder = _image_case(tmp_path / "b", "dir.png")
    (folder / "media" / "dir.png").mkdir()
    refused(ws, folder, "field 'media': media/dir.png is a folder")


@pytest.mark.parametrize("unreadable", ["a link to itself", "a file open() refuses"])
def test_unreadable_media_is_refused(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unreadable: str
) -> None:
    folder = _image_case(tmp_path / "b", "a.png")
    media = folder / "media" / "a.png"
    reason = ""
    if unreadable == "a link to itself":  # nobody can read it (ELOOP), root included
        media.symlink_to(media.name)
    else:  # chmod 000 stops everyone but root (CI runs as root): open() refuses it for all
        tiny_png(media).chmod(0)
        real_open, reason = Path.open, os.strerror(errno.EACCES)

        def refuse(path: Path, *args: Any, **kwargs: Any) -> Any:
            if path == media.resolve():
                raise PermissionError(errno.EACCES, reason, str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(Path, "open", refuse)
    refused(ws, folder, "field 'media': media/a.png cannot be read", reason)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"just some text, not a picture", "is not a supported image or video"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "is not a readable image/png image"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, "is not a supported image or video"),
    ],
)
def test_media_that_is_not_an_image_is_refused(
    ws: Workspace, tmp_path: Path, data: bytes, expected: str
) -> None:
    folder = _image_case(tmp_path / "b", "x.png")
    (folder / "media" / "x.png").write_bytes(data)
    refused(ws, folder, f"line 1, field 'media': media/x.png {expected}")


def test_media_type_comes_from_the_bytes_not_the_name(ws: Workspace, tmp_path: Path) -> None:
    folder = _image_case(tmp_path / "b", "clip.mp4", content_type="video")
    tiny_png(folder / "media" / "clip.mp4")
    refused(ws, folder, "media/clip.mp4 is image/png, but the case's content_type is 'video'")
    folder = _image_case(tmp_path / "c", "photo.png")
    write_video(folder / "media" / "clip.mp4", frames=2)
    (folder / "media" / "clip.mp4").rename(folder / "media" / "photo.png")
    refused(ws, folder, "media/photo.png is video/mp4, but the case's content_type is 'image'")


def test_other_image_formats_are_accepted(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "b"
    (folder / "media").mkdir(parents=True)
    source = Image.new("RGB", (32, 24), (200, 30, 30))
    records = []
    for fmt in ("JPEG", "GIF", "WEBP", "BMP"):
        source.save(folder / "media" / f"x.{fmt.lower()}", fmt)
        records.append(case_record(f"img-{fmt}", "image", [f"media/x.{fmt.lower()}"]))
    run(ws, write_batch(folder, records))
    mimes = {r["mime"] for r in ws.database_for_tests().query("SELECT mime FROM media")}
    assert mimes == {"image/jpeg", "image/gif", "image/webp", "image/bmp"}


def test_decompression_bomb_is_refused(ws: Workspace, tmp_path: Path) -> None:
    folder = _image_case(tmp_path / "b", "bomb.png")
    Image.new("1", (20000, 20000)).save(folder / "media" / "bomb.png")
    assert (folder / "media" / "bomb.png").stat().st_size < 100_000
    refused(ws, folder, "field 'media': media/bomb.png", "megapixels are refused")


def test_image_over_the_pixel_limit_is_refused(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_limits, "MAX_IMAGE_PIXELS", 1000)
    folder = _image_case(tmp_path / "b", "a.png")
    tiny_png(folder / "media" / "a.png")
    refused(ws, folder, "media/a.png is 64x48 pixels; images over 0.001 megapixels")


def test_link_out_of_the_batch_is_refused(ws: Workspace, tmp_path: Path) -> None:
    outside = tiny_png(tmp_path / "elsewhere" / "secret.png")
    folder = _image_case(tmp_path / "b", "a.png")
    (folder / "media" / "a.png").symlink_to(outside)
    refused(ws, folder, "field 'media': media/a.png is a link to a file outside the batch")
    tiny_png(outside.parent / "a.png")
    other = _image_case(tmp_path / "c", "sub/a.png")
    (other / "media" / "sub").symlink_to(outside.parent, target_is_directory=True)
    refused(ws, other, "media/sub/a.png is a link to a file outside the batch")


def test_link_inside_the_batch_is_followed(ws: Workspace, tmp_path: Path) -> None:
    folder = _image_case(tmp_path / "b", "alias.png")
    tiny_png(folder / "media" / "real.png")
    (folder / "media" / "alias.png").symlink_to("real.png")
    assert run(ws, folder).media_added == 1


def test_oversize_media_is_refused(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _image_case(tmp_path / "b", "a.png")
    tiny_png(folder / "media" / "a.png")
    limits = zip_safety.BATCH_LIMITS
    monkeypatch.setattr(zip_safety, "BATCH_LIMITS", replace(limits, max_member_bytes=1000))
    refused(ws, folder, "media/a.png is larger than the 1000 bytes limit for one file")
    monkeypatch.setattr(
        zip_safety,
        "BATCH_LIMITS",
        replace(limits, max_member_bytes=2 * zip_safety.GiB, max_total_bytes=5000),
    )
    refused(ws, folder, "the batch is larger than the 4.88281 KiB limit")


def test_oversize_cases_file_is_refused(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_limits, "MAX_CASES_FILE_BYTES", 500)
    refused(ws, write_batch(tmp_path / "b", text_records(5)), "cases.jsonl: is larger than")


def test_too_many_cases_are_refused(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_limits, "MAX_CASES", 3)
    refused(ws, write_batch(tmp_path / "b", text_records(4)), "4 cases, more than the 3 limit")


# -- bad archives -------------------------------------------------------------------------------


def _zip_with(tmp_path: Path, member: zipfile.ZipInfo | str, data: bytes = b"x") -> Path:
    """A good batch zip plus one extra ``member``."""
    archive = zip_folder(write_batch(tmp_path / "b", text_records(2)), tmp_path / "b.zip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name
        with zipfile.ZipFile(archive, "a") as out:
            out.writestr(member, data)
    return archive


def _symlink_member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _patch_central_entry(archive: Path, name: str, offset: int, value: bytes) -> None:
    """Overwrite bytes of ``name``'s central-directory entry (to make a lying header)."""
    data = bytearray(archive.read_bytes())
    entry = data.find(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(name)] != name.encode():
        entry = data.find(b"PK\x01\x02", entry + 4)
    data[entry + offset : entry + offset + len(value)] = value
    archive.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("../evil.png", "member '../evil.png' contains '..'"),
        ("media/../../evil.png", "member 'media/../../evil.png' contains '..'"),
        ("/etc/evil.png", "member '/etc/evil.png' is an absolute path"),
        ("C:/evil.png", "member 'C:/evil.png' is an absolute path"),
        ("media\\evil.png", "member 'media\\\\evil.png' contains a backslash"),
        (_symlink_member("media/link.png"), "member 'media/link.png' is a link"),
        ("cases.jsonl", "member 'cases.jsonl' appears twice"),
    ],
)
def test_unsafe_zip_member_is_refused(
    ws: Workspace, tmp_path: Path, member: zipfile.ZipInfo | str, expected: str
) -> None:
    refused(ws, _zip_with(tmp_path, member), f"b.zip: {expected}")


def test_zip_bomb_is_refused(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits = replace(zip_safety.BATCH_LIMITS, ratio_check_min_bytes=10_000)
    monkeypatch.setattr(zip_safety, "BATCH_LIMITS", limits)
    info = zipfile.ZipInfo("media/zeros.bin")
    info.compress_type = zipfile.ZIP_DEFLATED
    refused(
        ws,
        _zip_with(tmp_path, info, bytes(3_000_000)),
        "b.zip: member 'media/zeros.bin' expands more than 200 times its compressed size",
    )


def test_zip_member_that_expands_past_its_header_is_refused(ws: Workspace, tmp_path: Path) -> None:
    folder = _image_case(tmp_path / "b", "a.png")
    tiny_png(folder / "media" / "a.png")
    archive = zip_folder(folder, tmp_path / "b.zip")
    _patch_central_entry(archive, "media/a.png", 24, (100).to_bytes(4, "little"))
    refused(ws, archive, "b.zip: member 'media/a.png'", "CRC-32 or sizes differ")


def test_encrypted_zip_member_is_refused(ws: Workspace, tmp_path: Path) -> None:
    archive = _zip_with(tmp_path, "media/secret.png")
    _patch_central_entry(archive, "media/secret.png", 8, b"\x01")
    refused(ws, archive, "b.zip: member 'media/secret.png' is encrypted")


def test_zip_with_too_many_members_is_refused(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zip_safety, "BATCH_LIMITS", replace(zip_safety.BATCH_LIMITS, max_members=2))
    refused(ws, _zip_with(tmp_path, "media/x.png"), "b.zip: more than 2 entries")


def test_zip_without_batch_json_is_refused(ws: Workspace, tmp_path: Path) -> None:
    archive = tmp_path / "b.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("a/batch.json", "{}")
        out.writestr("b/batch.json", "{}")
    refused(ws, archive, "b.zip: no batch.json at the top of the archive")


# -- bad headers, files and paths -------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"format_version": 2}, "batch.json, field 'format_version': unsupported format_version 2"),
        ({"format_version": "1"}, "field 'format_version': expected the integer 1, got '1'"),
        ({"created_at": "1 Nov 2026"}, "batch.json, field 'created_at': expected an ISO 8601"),
        ({"descripton": "x"}, "batch.json, field 'descripton': unknown field"),
        ({"guideline_pack": {"id": "p"}}, "field 'guideline_pack.version': missing"),
        ({"guideline_pack": "p"}, "field 'guideline_pack': expected an object"),
        ({"id": "a\nb"}, "batch.json, field 'id': must not contain control characters"),
        ({"issuer": 3}, "batch.json, field 'issuer': expected a string"),
    ],
)
def test_bad_header_is_refused(ws: Workspace, tmp_path: Path, changes: dict, expected: str) -> None:
    folder = write_batch(tmp_path / "b", text_records(1))
    (folder / "batch.json").write_text(json.dumps(batch_header(**changes)))
    refused(ws, folder, expected)


def test_missing_format_version_is_refused(ws: Workspace, tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "b", text_records(1))
    header = batch_header()
    del header["format_version"]
    (folder / "batch.json").write_text(json.dumps(header))
    refused(ws, folder, "field 'format_version': expected the integer 1, got nothing (missing)")


def test_malformed_batch_json_is_refused(ws: Workspace, tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "b", text_records(1))
    (folder / "batch.json").write_text('{\n  "id": "x",\n  oops\n}')
    refused(ws, folder, "batch.json line 3: not valid JSON")


@pytest.mark.parametrize("name", ["batch.json", "cases.jsonl", "cases.csv"])
def test_text_that_is_not_utf8_is_refused(ws: Workspace, tmp_path: Path, name: str) -> None:
    folder = write_batch(tmp_path / "b", text_records(2))
    if name == "cases.csv":
        (folder / "cases.jsonl").unlink()
        write_cases_csv(folder / "cases.csv", text_records(2))
    lines = (folder / name).read_bytes().split(b"\n")
    lines[-2 if name != "batch.json" else 0] += b" caf\xe9"
    (folder / name).write_bytes(b"\n".join(lines))
    line = 1 if name == "batch.json" else 2 if name == "cases.jsonl" else 3
    refused(ws, folder, f"{name} line {line}: not valid UTF-8 (byte 0xe9")


@pytest.mark.parametrize("content", [b"", b"\n\n   \n"])
def test_empty_batch_is_refused(ws: Workspace, tmp_path: Path, content: bytes) -> None:
    folder = write_batch(tmp_path / "b", [])
    (folder / "cases.jsonl").write_bytes(content)
    refused(ws, folder, "cases.jsonl: the batch has no cases")


def test_paths_that_are_not_batches_are_refused(ws: Workspace, tmp_path: Path) -> None:
    refused(ws, tmp_path / "nowhere", f"{tmp_path / 'nowhere'}: no such file or folder")
    (tmp_path / "notes.txt").write_text("hello")
    refused(ws, tmp_path / "notes.txt", "notes.txt: not a case batch")
    (tmp_path / "fake.zip").write_bytes(b"PK\x03\x04 not really")
    refused(ws, tmp_path / "fake.zip", "fake.zip: the .zip file is damaged")
    (tmp_path / "random.zip").write_bytes(bytes(range(256)) * 40)
    refused(ws, tmp_path / "random.zip", "random.zip: the .zip file is damaged or incomplete")
    (tmp_path / "renamed.bin").write_bytes(b"PK\x03\x04 cut short")
    refused(ws, tmp_path / "renamed.bin", "renamed.bin: the .zip file is damaged")
    (tmp_path / "empty").mkdir()
    refused(ws, tmp_path / "empty", "empty: no batch.json in this folder")
    write_cases_csv(tmp_path / "alone" / "cases.csv", text_records(1))
    refused(ws, tmp_path / "alone" / "cases.csv", "a .csv of cases needs a batch.json beside it")


def test_batch_needs_exactly_one_cases_file(ws: Workspace, tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "b", text_records(1))
    write_cases_csv(folder / "cases.csv", text_records(1))
    refused(ws, folder, "cases.jsonl: the batch also has a cases.csv; keep only one")
    (folder / "cases.csv").unlink()
    (folder / "cases.jsonl").unlink()
    refused(ws, folder, "cases.jsonl: missing; a batch needs cases.jsonl or cases.csv")


# -- bad CSV ----------------------------------------------------------------------------------


def _csv_batch(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "batch.json").write_text(json.dumps(batch_header()), encoding="utf-8")
    (folder / "cases.csv").write_text(text, encoding="utf-8")
    return folder


CSV_HEAD = "id,content_type,text,market,language,label,policy,moderator_id,queue,decided_at\n"
CSV_ROW = "c-{},text,hello,DE,de,vh_remove,VH,m-1,q,2026-10-30T12:00:00Z\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            CSV_HEAD.replace("content_type", "contnet_type") + CSV_ROW.format(1),
            "cases.csv line 1, field 'contnet_type': unknown column (did you mean 'content_type'?)",
        ),
        (
            CSV_HEAD.replace(",label", "") + CSV_ROW.format(1).replace(",vh_remove", ""),
            "cases.csv line 1, field 'label': missing column (required)",
        ),
        (
            CSV_HEAD.replace("text,", "text,text,") + CSV_ROW.format(1),
            "cases.csv line 1, field 'text': the column appears twice",
        ),
        (
            CSV_HEAD + CSV_ROW.format(1) + "c-2,text,hello\n",
            "cases.csv line 3: 3 cells, but the header names 10 columns",
        ),
        (
            CSV_HEAD + CSV_ROW.format(1).replace("vh_remove", ""),
            "cases.csv line 2, field 'label': must not be empty",
        ),
        (
            CSV_HEAD + CSV_ROW.format(1).replace("text,hello", "txt,hello"),
            "cases.csv line 2, field 'content_type': expected one of image, video, text, got 'txt'",
        ),
        (
            CSV_HEAD.replace("\n", ",metadata\n") + CSV_ROW.format(1).replace("\n", ",{oops\n"),
            "cases.csv line 2, field 'metadata': not valid JSON",
        ),
        (CSV_HEAD, "cases.csv: the batch has no cases"),
        (CSV_HEAD + 'c-1,text,"unterminated\n', "cases.csv line 2: not valid CSV"),
        ("", "cases.csv: empty; expected a header row"),
    ],
)
def test_bad_csv_is_refused(ws: Workspace, tmp_path: Path, text: str, expected: str) -> None:
    refused(ws, _csv_batch(tmp_path / "b", text), expected)


# -- progress and cancel ------------------------------------------------------------------------


def test_progress_counts_four_units_a_case_and_ends_at_total(ws: Workspace, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    run(ws, media_batch(tmp_path / "b"), progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 20) and calls[-1] == (20, 20)
    assert all(total == 20 for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_progress_on_a_large_batch_is_throttled(ws: Workspace, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    run(ws, write_batch(tmp_path / "b", text_records(5000)), progress=lambda *c: calls.append(c))
    assert calls[-1] == (20_000, 20_000) and len(calls) < 400


def test_cancel_at_any_point_leaves_the_database_unchanged(ws: Workspace, tmp_path: Path) -> None:
    folder = media_batch(tmp_path / "b")
    polls = 0

    def count() -> bool:
        nonlocal polls
        polls += 1
        return False

    scratch = open_database(tmp_path / "scratch.database_for_tests()")
    import_batch(scratch, tmp_path / "scratch-media", folder, cancelled=count)
    scratch.close()
    assert polls >= 8
    before = snapshot(ws.database_for_tests())
    for stop_at in range(1, polls + 1):
        calls = 0

        def cancel_now(stop_at: int = stop_at) -> bool:
            nonlocal calls
            calls += 1
            return calls >= stop_at

        with pytest.raises(ImportCancelled):
            import_batch(
                ws.database_for_tests(), tmp_path / f"media-{stop_at}", folder, cancelled=cancel_now
            )
        assert snapshot(ws.database_for_tests()) == before
    # Media copied before a late cancel may stay in the store: unreferenced, harmless.
    assert any(p.is_file() for p in (tmp_path / f"media-{polls}").rglob("*"))
    assert not list(tmp_path.glob("media-*/*/.incoming-*"))
    assert run(ws, folder) == ImportReport("test-batch", 5, 0, 3)


# -- properties of the parser ---------------------------------------------------------------------

_ALL_TEXT = st.characters(blacklist_categories=("Cs",))
_TOKEN = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=12
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_ALL_TEXT, max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(_ALL_TEXT, max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_TIMES = st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z"))


@st.composite
def text_case(draw: st.DrawFn, case_id: str) -> dict[str, Any]:
    """A valid text case record with arbitrary (valid) content."""
    record: dict[str, Any] = {
        "id": case_id,
        "content_type": "text",
        "text": draw(
            st.text(
                st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
            ).filter(lambda t: not t.isspace())
        ),
        "market": draw(_TOKEN),
        "language": draw(_TOKEN),
        "decision": {
            "label": draw(_TOKEN),
            "policy": draw(_TOKEN),
            "moderator_id": draw(_TOKEN),
            "queue": draw(_TOKEN),
            "decided_at": draw(_TIMES),
        },
    }
    if draw(st.booleans()):
        record["tags"] = draw(st.lists(_TOKEN, max_size=3))
    if draw(st.booleans()):
        record["metadata"] = draw(
            st.dictionaries(st.text(_ALL_TEXT, max_size=5), _JSON, max_size=3)
        )
    if draw(st.booleans()):
        record["media"] = []
    return record


_FIELDS = [
    "id",
    "content_type",
    "text",
    "market",
    "language",
    "tags",
    "metadata",
    "media",
    "decision",
    "decision.label",
    "decision.decided_at",
    "extra",
]


@st.composite
def perturbed_case(draw: st.DrawFn) -> Any:
    """A valid record, or one with a field replaced by an arbitrary value or removed."""
    record = draw(text_case("c-1"))
    for field in draw(st.lists(st.sampled_from(_FIELDS), max_size=2)):
        target, key = record, field
        if field.startswith("decision."):
            target, key = record.get("decision"), field.removeprefix("decision.")
            if not isinstance(target, dict):
                continue
        if draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = draw(_JSON | _TOKEN | st.sampled_from(["image", "video", "text", ""]))
    return record


@settings(max_examples=300, deadline=None)
@given(perturbed_case())
def test_fast_and_thorough_checks_agree(record: Any) -> None:
    """The fast path of the parser accepts exactly what the spelled-out rules accept."""
    try:
        records._check_case(copy.deepcopy(record))
        rules_accept = True
    except records._Bad:
        rules_accept = False
    try:
        records._case_row(copy.deepcopy(record), "b")
        fast_accepts = True
    except records._Bad:
        fast_accepts = False
    assert fast_accepts == rules_accept


@pytest.fixture(scope="module")
def scratch_db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = open_database(tmp_path_factory.mktemp("prop") / "qa.db")
    yield db
    db.close()


def _import_lines(db: Any, lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "batch.json").write_text(json.dumps(batch_header("prop")))
        (folder / "cases.jsonl").write_bytes(b"\n".join(lines))
        import_batch(db, folder / "store", folder)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300).filter(lambda b: b.decode("utf-8", "replace").strip() != ""))
def test_arbitrary_bytes_as_a_line_only_ever_raise_batch_error(
    scratch_db: Any, line: bytes
) -> None:
    with pytest.raises(BatchError):
        _import_lines(scratch_db, [json.dumps(case_record("ok", "text", [])).encode(), line])
    assert scratch_db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
def test_arbitrary_json_as_a_line_only_ever_raises_batch_error(scratch_db: Any, value: Any) -> None:
    with pytest.raises(BatchError):
        _import_lines(scratch_db, [json.dumps(value).encode()])
    assert scratch_db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=4, unique=True).flatmap(
        lambda ids: st.tuples(*(text_case(f"case-{i}") for i in ids))
    )
)
def test_valid_records_round_trip_into_the_database(records: tuple[dict[str, Any], ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "b"
        folder.mkdir()
        (folder / "batch.json").write_text(json.dumps(batch_header()))
        # Raw UTF-8 (U+2028 and all): only "\n" ends a line.
        lines = [json.dumps(r, ensure_ascii=False) for r in records]
        (folder / "cases.jsonl").write_text("\n".join(lines), encoding="utf-8")
        db = open_database(Path(tmp) / "qa.db")
        report = import_batch(db, Path(tmp) / "media", folder)
        assert report.cases_added == len(records)
        for record in records:
            case = load_case(db, record["id"])
            assert case is not None
            assert case.text == record["text"]
            assert (case.market, case.language) == (record["market"], record["language"])
            assert case.tags == tuple(record.get("tags", []))
            assert case.metadata == record.get("metadata", {})
            assert vars(case.original) == record["decision"]
        assert import_batch(db, Path(tmp) / "media", folder).cases_already_present == len(records)
        db.close()
