"""One rule for cases.jsonl and cases.csv: no duplicate JSON keys, one per-field size limit
(issue 17, item 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_desktop.core.batches import BatchError, import_batch
from qa_desktop.core.batches import limits as batch_limits
from qa_desktop.core.workspace import Workspace

from .factory import batch_header, case_record, write_batch, write_cases_csv

LIMIT = batch_limits.MAX_FIELD_CHARS


def refused(ws: Workspace, path: Path, *fragments: str) -> str:
    db = ws.database_for_tests()
    before = db["cases"].count
    with pytest.raises(BatchError) as exc:
        import_batch(db, ws.media_dir, path)
    message = str(exc.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert db["cases"].count == before
    return message


def jsonl_batch(folder: Path, lines: list[str]) -> Path:
    folder.mkdir(parents=True)
    (folder / "batch.json").write_text(json.dumps(batch_header()), encoding="utf-8")
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def csv_batch(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "batch.json").write_text(json.dumps(batch_header()), encoding="utf-8")
    return write_cases_csv(folder / "cases.csv", records)


def good_line(case_id: str = "t-1") -> str:
    return json.dumps(case_record(case_id, "text", []))


# -- duplicate keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('"market": "DE"', '"market": "DE", "market": "FR"', "market"),
        ('"label": "vh_remove"', '"label": "vh_remove", "label": "no_violation"', "label"),
        ('"metadata": {}', '"metadata": {"a": 1, "a": 2}', "a"),
    ],
)
def test_a_duplicate_key_in_cases_jsonl_is_refused(
    workspace: Workspace, tmp_path: Path, old: str, new: str, key: str
) -> None:
    line = good_line("t-2")
    assert old in line
    folder = jsonl_batch(tmp_path / "b", [good_line(), line.replace(old, new)])
    refused(workspace, folder, f"cases.jsonl line 2: duplicate key {key!r}")


def test_a_duplicate_key_in_batch_json_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "b", [case_record("t-1", "text", [])])
    header = (folder / "batch.json").read_text(encoding="utf-8")
    (folder / "batch.json").write_text(
        header.replace('"name": ', '"name": "first", "name": '), encoding="utf-8"
    )
    refused(workspace, folder, "batch.json: duplicate key 'name'")


def test_a_duplicate_key_in_a_csv_metadata_cell_is_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = csv_batch(tmp_path / "b", [case_record("t-1", "text", [], metadata={"a": 1})])
    text = path.read_text(encoding="utf-8")
    assert '"{""a"": 1}"' in text
    path.write_text(text.replace('"{""a"": 1}"', '"{""a"": 1, ""a"": 2}"'), encoding="utf-8")
    refused(workspace, path, "cases.csv line 2, field 'metadata': duplicate key 'a'")


# -- one size limit per field ---------------------------------------------------------------------


def test_the_field_limit_is_the_same_for_jsonl_and_csv(
    workspace: Workspace, tmp_path: Path
) -> None:
    at_limit = case_record("t-1", "text", [], text="x" * LIMIT)
    over = case_record("t-2", "text", [], text="x" * (LIMIT + 1))
    db = workspace.database_for_tests()
    assert import_batch(
        db, workspace.media_dir, write_batch(tmp_path / "j1", [at_limit])
    ).cases_added
    refused(
        workspace,
        write_batch(tmp_path / "j2", [over]),
        "cases.jsonl line 1, field 'text': is 131,073 characters long",
        "the limit for one field is 131,072 characters",
    )
    csv_ok = csv_batch(tmp_path / "c1", [{**at_limit, "id": "t-3"}])
    assert import_batch(db, workspace.media_dir, csv_ok).cases_added == 1
    refused(
        workspace,
        csv_batch(tmp_path / "c2", [over]),
        "cases.csv line 2: a cell is longer than 131,072 characters",
        "the limit for one field is 131,072 characters",
    )


def test_metadata_over_the_field_limit_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    big = case_record("t-1", "text", [], metadata={"note": "y" * LIMIT})
    refused(
        workspace,
        write_batch(tmp_path / "b", [big]),
        "cases.jsonl line 1, field 'metadata': is 131,083 characters long as JSON",
    )


def test_a_100_mb_text_field_is_refused_without_reading_it_twice(
    workspace: Workspace, tmp_path: Path
) -> None:
    huge = case_record("t-1", "text", [], text="z" * (8 * LIMIT))
    refused(workspace, write_batch(tmp_path / "b", [huge]), "field 'text': is 1,048,576 characters")
