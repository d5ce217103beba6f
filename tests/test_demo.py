"""The synthetic demo batch and the fictional demo guideline pack."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from qa_desktop.core.guidelines import Pack, load_pack
from qa_desktop.demo import (
    DEMO_BATCH_ID,
    DEMO_PACK,
    SCENARIOS,
    case_record,
    generate_demo_batch,
    plan_cases,
)

from .factory import make_workspace

KEYED_LABELS = [
    ("no_violation", "no_action", "NONE"),
    ("vh_remove", "remove", "VH"),
    ("vh_age_restrict", "age_restrict", "VH"),
    ("hs_remove", "remove", "HS"),
    ("an_remove", "remove", "AN"),
    ("an_age_restrict", "age_restrict", "AN"),
    ("hb_remove", "remove", "HB"),
    ("sh_remove", "remove", "SH"),
    ("sp_reduce", "reduce_reach", "SP"),
]
MARKET_LANGUAGES = {"DE": "de", "FR": "fr", "BR": "pt", "ID": "id"}


@pytest.fixture(scope="module")
def batch(demo_batch: Path) -> Path:
    """The demo batch with 1-second videos (conftest's, generated once per run)."""
    return demo_batch


@pytest.fixture(scope="module")
def records(batch: Path) -> list[dict]:
    """The batch's cases.jsonl records."""
    lines = (batch / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def pack() -> Pack:
    """The demo guideline pack."""
    return load_pack(DEMO_PACK)


def of_type(records: list[dict], content_type: str) -> list[dict]:
    return [r for r in records if r["content_type"] == content_type]


def scene_count(path: Path) -> int:
    """Scenes of a video, counted by big jumps in colour between consecutive frames."""
    capture = cv2.VideoCapture(str(path))
    previous, scenes = None, 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        small = cv2.resize(frame, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)
        if previous is None or float(np.abs(small - previous).mean()) > 25:
            scenes += 1
        previous = small
    capture.release()
    return scenes


# -- the guideline pack ------------------------------------------------------------------


def test_pack_has_the_nine_keyed_labels_in_order(pack: Pack) -> None:
    assert (pack.id, pack.version, pack.market, pack.language) == (
        "demo-global",
        "1.0.0",
        "global",
        "en",
    )
    assert "fictional" in pack.title.lower()
    assert [(lb.id, lb.action, lb.policy) for lb in pack.labels] == KEYED_LABELS
    assert pack.labels[0].severity == 0
    assert all(lb.severity > 0 for lb in pack.labels[1:])


def test_pack_sections_cover_six_policies_with_citable_ids(pack: Pack) -> None:
    assert len(pack.sections) >= 24
    assert {s.policy for s in pack.sections} == {"VH", "HS", "AN", "HB", "SH", "SP"}
    for section in pack.sections:
        assert section.id.startswith(f"{section.policy}-")
        assert section.labels and section.title and len(section.body.split(". ")) >= 2
        label_policies = {lb.policy for lb in pack.labels if lb.id in section.labels}
        assert label_policies <= {section.policy, "NONE"}
    exceptions = [s for s in pack.sections if "exception" in s.title.lower()]
    assert exceptions and all("no_violation" in s.labels for s in exceptions)


def test_pack_has_the_sections_other_tests_cite(pack: Pack) -> None:
    sections = {s.id: s for s in pack.sections}
    assert "visible injuries" in sections["VH-2.3"].body
    dismember = [s for s in pack.sections if "dismember" in f"{s.title} {s.body}".lower()]
    assert any(s.policy == "VH" and "vh_remove" in s.labels for s in dismember)


# -- the batch ---------------------------------------------------------------------------


def test_batch_header_names_the_demo_pack(batch: Path) -> None:
    header = json.loads((batch / "batch.json").read_text(encoding="utf-8"))
    assert header["format_version"] == 1
    assert header["id"] == DEMO_BATCH_ID
    assert header["market"] == "global"
    assert header["guideline_pack"] == {"id": "demo-global", "version": "1.0.0"}
    assert header["name"] and header["issuer"] and header["created_at"].endswith("Z")


def test_batch_mixes_images_videos_and_texts_over_four_markets(
    batch: Path, records: list[dict]
) -> None:
    assert len(records) >= 60
    counts = Counter(r["content_type"] for r in records)
    assert counts["image"] >= 28 and counts["video"] >= 10 and counts["text"] >= 18
    assert len({r["id"] for r in records}) == len(records)
    assert all(r["id"].startswith("demo-") for r in records)
    assert {(r["market"], r["language"]) for r in records} == set(MARKET_LANGUAGES.items())
    for content_type in ("image", "video", "text"):
        assert {r["market"] for r in of_type(records, content_type)} == set(MARKET_LANGUAGES)
    for record in records:
        assert record["text"]
        if record["content_type"] == "text":
            assert record["media"] == []
        else:
            assert len(record["media"]) == 1 and record["media"][0].startswith("media/")
            assert (batch / record["media"][0]).is_file()


def test_generation_writes_nothing_outside_the_target(batch: Path) -> None:
    assert [p.name for p in batch.parent.iterdir()] == ["batch"]
    assert sorted(p.name for p in batch.iterdir()) == ["batch.json", "cases.jsonl", "media"]


def test_images_come_in_several_sizes_including_4000x3000_jpegs(
    batch: Path, records: list[dict]
) -> None:
    found = []
    for record in of_type(records, "image"):
        with Image.open(batch / record["media"][0]) as image:
            found.append((image.size, image.format))
            assert image.size == (record["metadata"]["width"], record["metadata"]["height"])
    assert found.count(((4000, 3000), "JPEG")) >= 2
    sizes = {size for size, _ in found}
    assert {(1280, 720), (1080, 1920), (800, 800)} <= sizes
    assert {fmt for _, fmt in found} == {"JPEG", "PNG"}


def test_videos_are_720p_with_several_scenes(batch: Path, records: list[dict]) -> None:
    videos = of_type(records, "video")
    assert len(videos) >= 10
    for record in videos:
        path = batch / record["media"][0]
        assert path.suffix == ".mp4"
        capture = cv2.VideoCapture(str(path))
        assert capture.isOpened()
        width = capture.get(cv2.CAP_PROP_FRAME_WIDTH)
        height = capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
        assert (width, height) == (1280, 720)
        assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(24)
        capture.release()
        assert scene_count(path) == record["metadata"]["scenes"] >= 2


def test_decisions_use_pack_labels_and_a_quarter_are_deliberately_wrong(
    records: list[dict], pack: Pack
) -> None:
    policy_of = {lb.id: lb.policy for lb in pack.labels}
    wrong = []
    for record in records:
        decision = record["decision"]
        assert decision["label"] in policy_of
        assert decision["policy"] == policy_of[decision["label"]]
        assert decision["moderator_id"] in {f"m-{i:03d}" for i in range(1, 9)}
        assert decision["queue"]
        decided = datetime.strptime(decision["decided_at"], "%Y-%m-%dT%H:%M:%SZ")
        assert datetime(2026, 9, 1) <= decided < datetime(2026, 11, 1)
        truth = record["metadata"]["demo_truth"]
        assert truth in policy_of
        if truth != decision["label"]:
            wrong.append(record)
            assert record["metadata"]["demo_note"].startswith("deliberately wrong: ")
        else:
            assert "demo_note" not in record["metadata"]
    assert 0.2 <= len(wrong) / len(records) <= 0.3
    kinds = {r["metadata"]["demo_note"].removeprefix("deliberately wrong: ") for r in wrong}
    assert kinds == {"over-enforcement", "under-enforcement", "wrong policy"}


def test_tags_are_pretend_categories_with_some_severe(records: list[dict]) -> None:
    tags = Counter(tag for r in records for tag in r["tags"])
    assert {"violence", "graphic", "nudity", "hate", "self-harm", "spam"} <= set(tags)
    assert 0.1 <= tags["severe"] / len(records) <= 0.2
    assert all(r["metadata"]["synthetic"] is True for r in records)


@pytest.mark.slow
def test_same_seed_gives_the_same_cases_and_overwrites_old_files(
    batch: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    (again / "media").mkdir(parents=True)
    (again / "media" / "demo-999.png").write_bytes(b"stale")
    (again / "cases.jsonl").write_text("stale\n", encoding="utf-8")
    generate_demo_batch(again, video_seconds=1.0)
    assert (again / "cases.jsonl").read_bytes() == (batch / "cases.jsonl").read_bytes()
    assert (again / "batch.json").read_bytes() == (batch / "batch.json").read_bytes()
    assert not (again / "media" / "demo-999.png").exists()
    assert sorted(p.name for p in (again / "media").iterdir()) == sorted(
        p.name for p in (batch / "media").iterdir()
    )
    assert media_digests(again) == media_digests(batch)  # the very same bytes, every file
    other = generate_demo_batch(tmp_path / "seed-8", seed=8, video_seconds=1.0)
    assert (other / "cases.jsonl").read_bytes() != (batch / "cases.jsonl").read_bytes()
    assert not set(media_digests(other).values()) & set(media_digests(batch).values())


def media_digests(folder: Path) -> dict[str, str]:
    """The sha256 of every media file of a batch folder, by name."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (folder / "media").iterdir()
    }


def test_another_seed_gives_other_cases() -> None:
    def plan(seed: int) -> list[dict]:
        return [case_record(case, 1.0) for case in plan_cases(seed)]

    assert plan(7) == plan(7)
    assert plan(8) != plan(7)


# -- through the real importer -----------------------------------------------------------


def test_demo_batch_imports_into_a_workspace(
    batch: Path, records: list[dict], tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path, "data", cases=0, reviewer="Demo Tester", pack=True, key=False)
    try:
        report = ws.batches.import_batch(batch)
        assert report.batch_id == DEMO_BATCH_ID
        assert report.cases_added == len(records) == ws.queue.count()
        assert report.media_added == sum(len(r["media"]) for r in records)

        first = ws.queue.case(records[0]["id"])
        assert first is not None and first.content_type == records[0]["content_type"]
        assert [lb.id for lb in ws.guidelines.labels_for(first)] == [key[0] for key in KEYED_LABELS]
        assert ws.guidelines.search(first, "dismember")[0].id == "VH-2.3"
        for record in records[:5]:
            case = ws.queue.case(record["id"])
            assert case is not None and case.market == record["market"]
            assert case.severe == ("severe" in record["tags"])
            for media in case.media:
                assert ws.queue.media_path(media).is_file()
    finally:
        ws.close()


def test_every_character_of_the_demo_texts_has_a_glyph_in_the_ci_font(
    qapp, records: list[dict]
) -> None:
    """No tofu: CI (``.ci/run``) installs one font package, fonts-dejavu-core, so DejaVu Sans
    must draw every character a demo case shows as its text (every caption of every
    scenario, in every language). Emoji outside it (a yellow heart, a money bag, a sunrise,
    the no-one-under-18 sign) showed as an empty box in the demo's text cases."""
    from PySide6.QtGui import QFont, QRawFont

    font = QRawFont.fromFont(QFont("DejaVu Sans"))
    assert font.familyName() == "DejaVu Sans"
    shown = {r["text"] for r in records} | {t for s in SCENARIOS for t in s.captions.values()}
    missing = sorted(
        f"U+{ord(ch):04X} in {text!r}"
        for text in shown
        for ch in set(text)
        if not font.supportsCharacter(ord(ch))
    )
    assert missing == []
