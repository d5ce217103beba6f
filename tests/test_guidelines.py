"""Guideline packs: the loader's checks, storage, overlay resolution and search."""

from __future__ import annotations

import contextlib
import copy
import json
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.core.guidelines import (
    Guideline,
    GuidelineNotFound,
    PackError,
    PackSummary,
    list_packs,
    load_pack,
    pack_labels,
    pack_sections,
    parse_pack,
    resolve_guideline,
    search_sections,
    semver_key,
    store_pack,
    store_packs,
)
from qa_desktop.core.store import migrate
from qa_desktop.demo import DEMO_PACK, DEMO_PACKS

# -- building packs ----------------------------------------------------------------------


def global_pack(version: str = "1.0.0", **fields: Any) -> dict[str, Any]:
    """A small valid global pack: two labels, a root section and two children."""
    pack = {
        "format_version": 1,
        "id": "base",
        "version": version,
        "market": "global",
        "language": "en",
        "title": "Base pack",
        "effective_date": "2026-01-01",
        "labels": [
            {"id": "ok", "name": "OK", "action": "no_action", "severity": 0, "policy": "NONE"},
            {"id": "rm", "name": "Remove", "action": "remove", "severity": 3, "policy": "VH"},
        ],
        "sections": [
            {
                "id": "VH-0",
                "policy": "VH",
                "title": "Violence",
                "body": "Scope.",
                "labels": ["rm", "ok"],
            },
            {
                "id": "VH-1",
                "policy": "VH",
                "title": "Gore",
                "body": "Remove gore.",
                "labels": ["rm"],
                "parent": "VH-0",
                "examples": ["a gory photo"],
            },
            {
                "id": "VH-2",
                "policy": "VH",
                "title": "Fiction",
                "body": "Films are fine.",
                "labels": ["ok"],
                "parent": "VH-0",
            },
        ],
    }
    pack.update(fields)
    return pack


def overlay_pack(
    market: str = "FR",
    version: str = "1.0.0",
    effective_date: str = "2026-02-01",
    base_version: str = "1.0.0",
    sections: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A valid overlay of ``base``: replaces VH-1, adds VH-3 under VH-0, retires VH-2."""
    pack = {
        "format_version": 1,
        "id": f"base-{market.lower()}",
        "version": version,
        "market": market,
        "language": market.lower(),
        "title": f"Base {market}",
        "effective_date": effective_date,
        "base": {"id": "base", "version": base_version},
        "sections": sections
        if sections is not None
        else [
            {
                "id": "VH-1",
                "change": "replace",
                "title": f"Gore {market} {version}",
                "body": f"Local gore rule {version}.",
            },
            {
                "id": "VH-3",
                "change": "add",
                "policy": "VH",
                "title": "Local law",
                "body": "A local rule.",
                "labels": ["rm"],
                "parent": "VH-0",
            },
            {"id": "VH-2", "change": "retire"},
        ],
    }
    pack.update(fields)
    return pack


def write(folder: Path, name: str, data: Any) -> Path:
    """Write ``data`` as JSON to ``folder/name``."""
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def memory_db() -> sqlite_utils.Database:
    """A migrated in-memory database."""
    db = sqlite_utils.Database(sqlite3.connect(":memory:", isolation_level=None))
    db.execute("PRAGMA foreign_keys=ON")
    migrate(db)
    return db


def dump(db: sqlite_utils.Database) -> dict[str, list[tuple]]:
    """Every row of every table, to compare a database before and after."""
    return {
        t: sorted(map(tuple, db.execute(f"SELECT * FROM [{t}]").fetchall()), key=repr)
        for t in db.table_names()
    }


@pytest.fixture
def db() -> sqlite_utils.Database:
    """A database holding base 1.0.0."""
    db = memory_db()
    store_pack(db, parse_pack(global_pack(), "base-1.0.0.json"))
    return db


def store(db: sqlite_utils.Database, data: dict[str, Any], name: str = "x.json") -> bool:
    """Parse and store a pack given as a dict."""
    return store_pack(db, parse_pack(data, name))


# -- resolution tables -------------------------------------------------------------------


def test_market_without_overlay_gets_the_global_text(db: sqlite_utils.Database) -> None:
    store(db, overlay_pack("FR"))
    g = resolve_guideline(db, "base", "1.0.0", "BR", on_date="2026-06-01")
    assert (g.overlay, g.language, g.market) == (None, "en", "BR")
    assert [(s.id, s.status, s.localized, s.pack_id) for s in g.sections] == [
        ("VH-0", "active", False, "base"),
        ("VH-1", "active", False, "base"),
        ("VH-2", "active", False, "base"),
    ]
    assert [lb.id for lb in g.labels] == ["ok", "rm"]


@pytest.mark.parametrize(
    ("section_id", "status", "localized", "title", "source"),
    [
        ("VH-0", "active", False, "Violence", ("base", "1.0.0")),
        ("VH-1", "active", True, "Gore FR 1.0.0", ("base-fr", "1.0.0")),
        ("VH-2", "retired", False, "Fiction", ("base", "1.0.0")),
        ("VH-3", "active", True, "Local law", ("base-fr", "1.0.0")),
    ],
)
def test_overlay_replaces_adds_and_retires(
    db: sqlite_utils.Database,
    section_id: str,
    status: str,
    localized: bool,
    title: str,
    source: tuple[str, str],
) -> None:
    store(db, overlay_pack("FR"))
    g = resolve_guideline(db, "base", "1.0.0", "FR", on_date="2026-06-01")
    assert (g.overlay, g.language) == (("base-fr", "1.0.0"), "fr")
    s = g.section(section_id)
    assert s is not None
    assert (s.status, s.localized, s.title, (s.pack_id, s.pack_version)) == (
        status,
        localized,
        title,
        source,
    )


def test_overlay_keeps_labels_and_tree_and_inserts_added_sections_under_their_parent(
    db: sqlite_utils.Database,
) -> None:
    store(db, overlay_pack("FR"))
    g = resolve_guideline(db, "base", "1.0.0", "fr", on_date="2026-06-01")
    assert [s.id for s in g.sections] == ["VH-0", "VH-1", "VH-2", "VH-3"]
    assert [s.id for s in g.children(None)] == ["VH-0"]
    assert [s.id for s in g.children("VH-0")] == ["VH-1", "VH-2", "VH-3"]
    replaced = g.section("VH-1")
    assert replaced is not None
    assert replaced.labels == ("rm",) and replaced.examples == ("a gory photo",)
    assert g.label("rm") is not None and g.label("nope") is None


@pytest.mark.parametrize(
    ("on_date", "expected"),
    [
        ("2026-01-15", None),
        ("2026-02-01", ("base-fr", "1.0.0")),
        ("2026-04-30", ("base-fr", "1.0.0")),
        ("2026-05-01", ("base-fr", "1.1.0")),
        ("2026-05-01T08:00:00Z", ("base-fr", "1.1.0")),
        ("2027-01-01", ("base-fr", "1.1.0")),
    ],
)
def test_the_newest_overlay_in_force_on_the_date_applies(
    db: sqlite_utils.Database, on_date: str, expected: tuple[str, str] | None
) -> None:
    store(db, overlay_pack("FR", "1.1.0", "2026-05-01"))
    store(db, overlay_pack("FR", "1.0.0", "2026-02-01"))
    g = resolve_guideline(db, "base", "1.0.0", "FR", on_date=on_date)
    assert g.overlay == expected
    gore = g.section("VH-1")
    assert gore is not None
    assert gore.title == (f"Gore FR {expected[1]}" if expected else "Gore")


def test_on_date_defaults_to_today(db: sqlite_utils.Database) -> None:
    store(db, overlay_pack("FR", effective_date="2000-01-01"))
    store(db, overlay_pack("FR", "2.0.0", effective_date="2999-01-01"))
    assert resolve_guideline(db, "base", "1.0.0", "FR").overlay == ("base-fr", "1.0.0")


@pytest.mark.parametrize(
    ("version", "market", "title", "overlay"),
    [
        ("1.0.0", "global", "Gore", None),
        ("1.1.0", "global", "Gore, rewritten", None),
        ("1.0.0", "FR", "Gore FR 1.0.0", ("base-fr", "1.0.0")),
        ("1.1.0", "FR", "Gore, rewritten", None),  # the FR overlay is of 1.0.0 only
    ],
)
def test_global_versions_live_side_by_side(
    db: sqlite_utils.Database, version: str, market: str, title: str, overlay: Any
) -> None:
    newer = global_pack("1.1.0")
    newer["sections"][1]["title"] = "Gore, rewritten"
    newer["sections"][2]["status"] = "retired"
    store(db, newer)
    store(db, overlay_pack("FR"))
    g = resolve_guideline(db, "base", version, market, on_date="2026-06-01")
    assert g.pack_version == version and g.overlay == overlay
    gore = g.section("VH-1")
    assert gore is not None and gore.title == title
    fiction = g.section("VH-2")
    assert fiction is not None
    assert fiction.status == ("retired" if version == "1.1.0" or overlay else "active")


def test_unknown_base_pack_is_not_found(db: sqlite_utils.Database) -> None:
    with pytest.raises(GuidelineNotFound, match=r"base 9\.9\.9 is not loaded"):
        resolve_guideline(db, "base", "9.9.9", "FR")
    assert issubclass(GuidelineNotFound, LookupError) and issubclass(GuidelineNotFound, PackError)


def test_resolving_an_overlay_directly_says_what_to_do(db: sqlite_utils.Database) -> None:
    store(db, overlay_pack("FR"))
    with pytest.raises(PackError, match=r"FR overlay of base 1\.0\.0"):
        resolve_guideline(db, "base-fr", "1.0.0", "FR")


# -- search ------------------------------------------------------------------------------


def test_search_ranks_active_then_id_then_title_then_body(db: sqlite_utils.Database) -> None:
    store(
        db,
        overlay_pack(
            "FR",
            sections=[
                {"id": "VH-2", "change": "retire"},
                {
                    "id": "VH-0",
                    "change": "replace",
                    "title": "Violence",
                    "body": "Vh rules, gore too.",
                },
            ],
        ),
    )
    g = resolve_guideline(db, "base", "1.0.0", "FR", on_date="2026-06-01")
    assert [s.id for s in g.search("gore")] == ["VH-1", "VH-0"]
    assert [s.id for s in g.search("vh")] == ["VH-0", "VH-1", "VH-2"]
    assert [s.id for s in g.search("fine films")] == ["VH-2"]
    assert g.search("  ") == [] and len(g.search("vh", limit=1)) == 1


def test_old_readers_still_work(db: sqlite_utils.Database) -> None:
    assert [lb.id for lb in pack_labels(db, "base", "1.0.0")] == ["ok", "rm"]
    assert [s.id for s in pack_sections(db, "base", "1.0.0")] == ["VH-0", "VH-1", "VH-2"]
    assert [s.id for s in search_sections(db, "base", "1.0.0", "gore")] == ["VH-1"]


def test_list_packs_orders_by_id_then_semver(db: sqlite_utils.Database) -> None:
    store(db, global_pack("1.10.0"))
    store(db, global_pack("1.2.0"))
    store(db, overlay_pack("FR"))
    assert [(p.id, p.version) for p in list_packs(db)] == [
        ("base", "1.0.0"),
        ("base", "1.2.0"),
        ("base", "1.10.0"),
        ("base-fr", "1.0.0"),
    ]
    assert list_packs(db)[-1] == PackSummary(
        "base-fr", "1.0.0", "FR", "fr", "Base FR", "2026-02-01", ("base", "1.0.0")
    )


def test_semver_precedence() -> None:
    versions = ["1.0.0", "1.0.0-rc.1", "1.0.0-alpha", "1.0.0-alpha.1", "0.9.9", "1.0.1"]
    assert sorted(versions, key=semver_key) == [
        "0.9.9",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
    ]
    with pytest.raises(ValueError):
        semver_key("1.0")


# -- storing -----------------------------------------------------------------------------


def test_storing_twice_is_a_no_op_but_changed_content_is_refused(
    db: sqlite_utils.Database,
) -> None:
    assert store(db, global_pack()) is False
    before = dump(db)
    with pytest.raises(PackError, match=r"base-1\.0\.0\.json: version: .*different content"):
        store(db, global_pack(title="Changed"), "base-1.0.0.json")
    assert dump(db) == before


def test_store_packs_puts_globals_first_in_one_transaction(tmp_path: Path) -> None:
    db = memory_db()
    packs = [parse_pack(overlay_pack("FR"), "fr.json"), parse_pack(global_pack(), "g.json")]
    assert store_packs(db, packs) == [True, True]
    db2 = memory_db()
    bad = parse_pack(overlay_pack("FR", base_version="2.0.0"), "fr.json")
    with pytest.raises(PackError):
        store_packs(db2, [parse_pack(global_pack(), "g.json"), bad])
    assert list_packs(db2) == []


# -- bad packs ---------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: list[Any], value: Any) -> Mutation:
    def mutate(pack: dict[str, Any]) -> None:
        target = pack
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: list[Any]) -> Mutation:
    def mutate(pack: dict[str, Any]) -> None:
        target = pack
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


BAD_GLOBALS = [
    (_set(["labels", 1, "id"], "ok"), "labels[1].id: duplicate label id 'ok'"),
    (_set(["sections", 2, "id"], "VH-1"), "sections[2].id: duplicate section id 'VH-1'"),
    (_set(["sections", 1, "labels", 0], "rmm"), "sections[1].labels[0]: unknown label 'rmm'"),
    (_set(["sections", 1, "parent"], "VH-9"), "sections[1].parent: unknown section 'VH-9'"),
    (
        _set(["sections", 0, "parent"], "VH-1"),
        "sections[0].parent: cycle in the section tree: VH-0 -> VH-1 -> VH-0",
    ),
    (
        _set(["sections", 0, "parent"], "VH-0"),
        "sections[0].parent: cycle in the section tree: VH-0 -> VH-0",
    ),
    (_set(["sections", 1, "body"], "  \n "), "sections[1].body: must not be empty"),
    (_set(["sections", 1, "title"], ""), "sections[1].title: must not be empty"),
    (_set(["sections", 1, "labels"], []), "sections[1].labels: must not be empty"),
    (_set(["sections"], []), "sections: must not be empty"),
    (_set(["version"], "1.0"), "version: bad semver '1.0'"),
    (_set(["version"], "1.02.0"), "version: bad semver '1.02.0'"),
    (_set(["version"], "1.0.0\n"), "version: bad semver '1.0.0\\n'"),
    (_set(["effective_date"], "2026-13-01"), "effective_date: bad date '2026-13-01'"),
    (_delete(["effective_date"]), "missing field 'effective_date'"),
    (_set(["labels", 0, "action"], "ban"), "labels[0].action: 'ban' is not one of"),
    (_set(["labels", 0, "severity"], "high"), "labels[0].severity: expected integer, got string"),
    (_set(["sections", 0, "colour"], "red"), "sections[0]: unknown field 'colour'"),
    (_set(["format_version"], 2), "format_version: 2 must be 1"),
    (_set(["market"], "FR"), "market: 'FR' must be 'global'"),
    (_delete(["labels"]), "missing field 'labels'"),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_GLOBALS)
def test_bad_global_pack_names_file_and_json_path(
    db: sqlite_utils.Database, tmp_path: Path, mutate: Mutation, message: str
) -> None:
    data = global_pack("2.0.0")
    mutate(data)
    path = write(tmp_path, "base-2.0.0.json", data)
    before = dump(db)
    with pytest.raises(PackError) as caught:
        store_pack(db, load_pack(path))
    assert str(caught.value).startswith(f"base-2.0.0.json: {message}")
    assert dump(db) == before


BAD_OVERLAYS = [
    (
        {"base": {"id": "nope", "version": "1.0.0"}},
        "base: unknown base pack nope 1.0.0 (no version is stored)",
    ),
    (
        {"base": {"id": "base", "version": "3.0.0"}},
        "base: unknown base pack base 3.0.0 (stored: 1.0.0)",
    ),
    ({"base": {"id": "base", "version": "3.0"}}, "base.version: bad semver '3.0'"),
    (
        {"sections": [{"id": "VH-9", "change": "replace", "title": "T", "body": "B"}]},
        "sections[0].id: unknown section 'VH-9' (not in base 1.0.0)",
    ),
    (
        {"sections": [{"id": "VH-9", "change": "retire"}]},
        "sections[0].id: unknown section 'VH-9' (not in base 1.0.0)",
    ),
    (
        {
            "sections": [
                {
                    "id": "VH-1",
                    "change": "add",
                    "policy": "VH",
                    "title": "T",
                    "body": "B",
                    "labels": ["rm"],
                }
            ]
        },
        "sections[0].id: section 'VH-1' is already in base 1.0.0",
    ),
    (
        {
            "sections": [
                {"id": "VH-1", "change": "retire"},
                {
                    "id": "VH-3",
                    "change": "add",
                    "policy": "VH",
                    "title": "T",
                    "body": "B",
                    "labels": ["rm", "vh_remov"],
                },
            ]
        },
        "sections[1].labels[1]: unknown label 'vh_remov'",
    ),
    (
        {
            "sections": [
                {
                    "id": "VH-3",
                    "change": "add",
                    "policy": "VH",
                    "title": "T",
                    "body": "B",
                    "labels": ["rm"],
                    "parent": "VH-7",
                }
            ]
        },
        "sections[0].parent: unknown section 'VH-7'",
    ),
    (
        {
            "sections": [
                {
                    "id": "VH-3",
                    "change": "add",
                    "policy": "VH",
                    "title": "T",
                    "body": "B",
                    "labels": ["rm"],
                    "parent": "VH-4",
                },
                {
                    "id": "VH-4",
                    "change": "add",
                    "policy": "VH",
                    "title": "T",
                    "body": "B",
                    "labels": ["rm"],
                    "parent": "VH-3",
                },
            ]
        },
        "sections[0].parent: cycle in the section tree: VH-3 -> VH-4 -> VH-3",
    ),
    (
        {"sections": [{"id": "VH-1", "change": "replace", "title": "T", "body": ""}]},
        "sections[0].body: must not be empty",
    ),
    (
        {"sections": [{"id": "VH-1", "change": "replace", "title": "T"}]},
        "sections[0]: missing field 'body'",
    ),
    (
        {
            "sections": [
                {"id": "VH-1", "change": "replace", "title": "T", "body": "B", "labels": ["rm"]}
            ]
        },
        "sections[0]: field 'labels' is not allowed here (allowed: change, id, title, body",
    ),
    (
        {"sections": [{"id": "VH-1", "change": "rewrite"}]},
        "sections[0].change: 'rewrite' is not one of add, replace, retire",
    ),
    (
        {"sections": [{"id": "VH-1", "change": "retire"}, {"id": "VH-1", "change": "retire"}]},
        "sections[1].id: duplicate section id 'VH-1'",
    ),
    ({"labels": global_pack()["labels"]}, "an overlay (a pack with 'base') cannot define labels"),
    ({"market": "global"}, "market: bad market 'global'"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_OVERLAYS)
def test_bad_overlay_names_file_and_json_path(
    db: sqlite_utils.Database, tmp_path: Path, fields: dict[str, Any], message: str
) -> None:
    path = write(tmp_path, "base-fr-1.1.0.json", {**overlay_pack("FR", "1.1.0"), **fields})
    before = dump(db)
    with pytest.raises(PackError) as caught:
        store_pack(db, load_pack(path))
    assert str(caught.value).startswith(f"base-fr-1.1.0.json: {message}")
    assert dump(db) == before


def test_replacing_a_retired_section_is_refused(db: sqlite_utils.Database) -> None:
    newer = global_pack("1.1.0")
    newer["sections"][2]["status"] = "retired"
    store(db, newer)
    data = overlay_pack(
        "FR",
        base_version="1.1.0",
        sections=[
            {"id": "VH-2", "change": "replace", "title": "T", "body": "B"},
        ],
    )
    with pytest.raises(PackError, match=r"sections\[0\].id: section 'VH-2' is retired"):
        store(db, data, "fr.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"{", "not valid UTF-8 JSON"),
        (b"[]", "bad.json: expected object, got array"),
        (b"[" * 100_000 + b"]" * 100_000, "bad.json: "),
    ],
)
def test_unreadable_files_are_pack_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(PackError, match=message):
        load_pack(path)
    with pytest.raises(PackError, match="cannot read"):
        load_pack(tmp_path / "missing.json")


# -- properties --------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    ["id", "version", "market", "labels", "sections", "base", "change", "title", "body"]
)


def _near_packs() -> st.SearchStrategy[Any]:
    """Valid packs with one field replaced by arbitrary JSON."""
    return st.tuples(st.sampled_from([global_pack(), overlay_pack()]), KEYS, JSON).map(
        lambda t: {**copy.deepcopy(t[0]), t[1]: t[2]}
    )


@settings(max_examples=150, deadline=None)
@given(st.one_of(JSON, _near_packs()))
def test_any_json_is_a_pack_or_a_pack_error(data: Any) -> None:
    try:
        parse_pack(data, "any.json")
    except PackError as exc:
        assert str(exc).startswith("any.json: ")


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_a_pack_or_a_pack_error(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "any.json"
        path.write_bytes(content)
        with contextlib.suppress(PackError):
            load_pack(path)


IDS = st.from_regex(r"[A-Z]{2}-[0-9](\.[0-9])?", fullmatch=True)
TEXT = st.text(min_size=1, max_size=30).filter(str.strip)


@st.composite
def valid_packs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid global pack: random labels, sections, examples and a random tree."""
    label_ids = draw(
        st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=4, unique=True)
    )
    section_ids = draw(st.lists(IDS, min_size=1, max_size=6, unique=True))
    sections = []
    for i, sid in enumerate(section_ids):
        section = {
            "id": sid,
            "policy": "VH",
            "title": draw(TEXT),
            "body": draw(TEXT),
            "labels": draw(st.lists(st.sampled_from(label_ids), min_size=1, max_size=2)),
            "examples": draw(st.lists(TEXT, max_size=2)),
            "status": draw(st.sampled_from(["active", "retired"])),
        }
        if i and draw(st.booleans()):
            section["parent"] = draw(st.sampled_from(section_ids[:i]))
        sections.append(section)
    labels = [
        {
            "id": lid,
            "name": draw(TEXT),
            "action": draw(
                st.sampled_from(["no_action", "reduce_reach", "age_restrict", "remove"])
            ),
            "severity": draw(st.integers(0, 9)),
            "policy": "VH",
        }
        for lid in label_ids
    ]
    version = draw(
        st.from_regex(r"(0|[1-9][0-9]?)\.(0|[1-9])\.(0|[1-9])(-rc\.[1-9])?", fullmatch=True)
    )
    return global_pack(version, labels=labels, sections=sections)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_packs())
def test_valid_packs_round_trip(data: dict[str, Any]) -> None:
    db = memory_db()
    with tempfile.TemporaryDirectory() as tmp:
        pack = load_pack(write(Path(tmp), "p.json", data))
    assert store_pack(db, pack) is True
    g = resolve_guideline(db, "base", data["version"], "global")
    assert [(lb.id, lb.name, lb.action, lb.severity) for lb in g.labels] == [
        (lb["id"], lb["name"], lb["action"], lb["severity"]) for lb in data["labels"]
    ]
    assert [
        (s.id, s.title, s.body, list(s.labels), list(s.examples), s.parent, s.status)
        for s in g.sections
    ] == [
        (s["id"], s["title"], s["body"], s["labels"], s["examples"], s.get("parent"), s["status"])
        for s in data["sections"]
    ]
    assert pack_sections(db, "base", data["version"]) == list(pack.sections)


# -- the demo packs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db() -> sqlite_utils.Database:
    """A database with every demo pack stored."""
    db = memory_db()
    assert store_packs(db, [load_pack(p) for p in DEMO_PACKS]) == [True] * len(DEMO_PACKS)
    return db


def test_demo_packs_load_in_order(demo_db: sqlite_utils.Database) -> None:
    assert DEMO_PACKS[0] == DEMO_PACK
    assert [(p.id, p.version, p.market) for p in list_packs(demo_db)] == [
        ("demo-de", "1.0.0", "DE"),
        ("demo-fr", "1.0.0", "FR"),
        ("demo-global", "1.0.0", "global"),
        ("demo-global", "1.1.0", "global"),
    ]


def _changes(g: Guideline) -> dict[str, set[str]]:
    return {
        "localized": {s.id for s in g.sections if s.localized},
        "retired": {s.id for s in g.sections if s.status == "retired"},
    }


@pytest.mark.parametrize(
    ("version", "market", "language", "localized", "retired"),
    [
        ("1.0.0", "global", "en", set(), set()),
        ("1.0.0", "BR", "en", set(), set()),
        (
            "1.0.0",
            "FR",
            "fr",
            {"VH-0", "VH-2.1", "VH-2.3", "HS-1.1", "HS-2.1", "HS-3.1"},
            {"SP-1.2"},
        ),
        ("1.0.0", "DE", "de", {"VH-1.2", "VH-2.3", "HS-1.3"}, set()),
        ("1.1.0", "FR", "en", set(), {"AN-1.3", "SP-1.3"}),
    ],
)
def test_demo_guidelines_per_market_and_version(
    demo_db: sqlite_utils.Database,
    version: str,
    market: str,
    language: str,
    localized: set[str],
    retired: set[str],
) -> None:
    g = resolve_guideline(demo_db, "demo-global", version, market, on_date="2026-12-31")
    assert g.language == language
    assert _changes(g) == {"localized": localized, "retired": retired}
    assert [lb.id for lb in g.labels] == [
        "no_violation",
        "vh_remove",
        "vh_age_restrict",
        "hs_remove",
        "an_remove",
        "an_age_restrict",
        "hb_remove",
        "sh_remove",
        "sp_reduce",
    ]


def test_demo_global_1_1_0_rewrites_two_sections(demo_db: sqlite_utils.Database) -> None:
    old = resolve_guideline(demo_db, "demo-global", "1.0.0", "global")
    new = resolve_guideline(demo_db, "demo-global", "1.1.0", "global")
    assert [s.id for s in old.sections] == [s.id for s in new.sections]
    rewritten = {
        s.id for s in new.sections if s.status == "active" and (s.title, s.body) != _text(old, s.id)
    }
    assert rewritten == {"VH-2.1", "VH-3.1"}
    assert new.search("dismember")[0].id == "VH-2.3"


def _text(g: Guideline, section_id: str) -> tuple[str, str]:
    s = g.section(section_id)
    assert s is not None
    return s.title, s.body


def test_search_on_a_localized_market_matches_both_wordings_and_says_whose(
    db: sqlite_utils.Database,
) -> None:
    """FR retitled VH-2.1 in French: the global words still find it, ranked first when it
    supports the chosen label and is of the case's policy (issue 10, item 3)."""
    store_packs(db, [load_pack(path) for path in DEMO_PACKS])
    fr = resolve_guideline(db, "demo-global", "1.0.0", "FR")
    found = fr.find("wounds", label="vh_remove", policy="VH")
    assert [(m.section.id, m.wording, m.supports) for m in found][:2] == [
        ("VH-2.1", "global", True),
        ("VH-2.2", "global", False),
    ]
    assert found[0].section.pack_id == "demo-fr"  # the citation is of the French text
    assert [(m.section.id, m.wording) for m in fr.find("plaies")] == [("VH-2.1", "FR")]
    assert [(m.section.id, m.wording) for m in fr.find("plaies wounds")] == [
        ("VH-2.1", "FR + global")
    ]
    assert [s.id for s in fr.search("wounds")][:1] == ["VH-2.1"]
    br = resolve_guideline(db, "demo-global", "1.0.0", "BR")
    assert {m.wording for m in br.find("wounds")} == {"global"}
    assert br.find("plaies") == []
