"""Core of the room vote page (no Qt): codes, tokens, rate limits, the request parsers
(Hypothesis), and the desk's rules on a real workspace."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_desktop.core import room_votes
from qa_desktop.core.api import RefusalReason, Refused, RoomVoteError, RoomVoteProblem, RoomVotes
from qa_desktop.core.room_votes import (
    CODE_ALPHABET,
    CODE_LENGTH,
    MAX_BODY_BYTES,
    JoinRequest,
    Limits,
    RateLimiter,
    TokenBucket,
    VoteRequest,
    display_code,
    new_session_code,
    normalize_code,
    parse_join_request,
    parse_vote_request,
    token_cookie,
    token_from_cookie,
)
from qa_desktop.core.workspace import Workspace

from .factory import make_workspace


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- codes and tokens -------------------------------------------------------------------------


def test_codes_are_long_enough_for_the_stated_rate_limit() -> None:
    """The numbers the docstring and README state: 32**6 codes, 20 attempts/s in total."""
    assert len(set(CODE_ALPHABET)) == 32 and not set("01IO") & set(CODE_ALPHABET)
    space = len(CODE_ALPHABET) ** CODE_LENGTH
    assert space == 1_073_741_824
    days_all = space / room_votes.JOIN_RATE_TOTAL / 86_400
    assert round(days_all) == 621 and days_all / 2 > 1  # far longer than a day
    assert round(space / room_votes.JOIN_RATE / 86_400 / 365) == 17
    doc = room_votes.__doc__ or ""
    assert "1,073,741,824" in doc and "621 days" in doc and "17 years" in doc
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "1,073,741,824" in readme and "621 days" in readme


def test_codes_are_random_and_typed_loosely() -> None:
    codes = {new_session_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert display_code("K7QM2X") == "K7Q-M2X"
    assert normalize_code(" k7q-m2x ") == "K7QM2X"


def test_the_cookie_is_strict_and_read_back() -> None:
    token = room_votes.new_token()
    assert len(token) == 43
    cookie = token_cookie(token)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert token_from_cookie(f"a=1; {cookie.split(';')[0]}; b=2") == token
    assert token_from_cookie("") is None and token_from_cookie("qa_vote=") is None


@given(st.text(max_size=300))
def test_any_cookie_header_reads_to_a_token_or_none(header: str) -> None:
    token = token_from_cookie(header)
    assert token is None or (token and ";" not in token)


# -- rate limits ------------------------------------------------------------------------------


def test_a_bucket_spends_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, 5, clock)
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    assert bucket.retry_after() == 1
    clock.now += 0.5
    assert bucket.take() and not bucket.take()
    clock.now += 100
    assert bucket.full


def test_the_limiter_keeps_a_bucket_per_address_and_forgets_the_oldest() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 2, clock, max_addresses=3)
    assert limiter.take("a") and limiter.take("a") and not limiter.take("a")
    assert limiter.take("b")
    for name in ("c", "d"):
        limiter.take(name)
    assert len(limiter._buckets) == 3 and "a" not in limiter._buckets


# -- parsing ----------------------------------------------------------------------------------

ids = st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=room_votes.MAX_ID_CHARS
).filter(lambda s: s.strip() == s and s)


@given(case_id=ids, label=ids, citations=st.lists(ids, max_size=room_votes.MAX_CITATIONS))
def test_a_well_formed_vote_parses_to_what_was_sent(
    case_id: str, label: str, citations: list[str]
) -> None:
    body = json.dumps({"case_id": case_id, "label": label, "citations": citations}).encode()
    if len(body) > MAX_BODY_BYTES:
        with pytest.raises(RoomVoteError) as caught:
            parse_vote_request(body)
        assert caught.value.problem is RoomVoteProblem.TOO_LARGE
        return
    assert parse_vote_request(body) == VoteRequest(case_id, label, tuple(dict.fromkeys(citations)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _fields(children: st.SearchStrategy[object]) -> st.SearchStrategy[dict[str, object]]:
    keys = st.sampled_from(["case_id", "label", "citations", "code", "name", "x"])
    return st.dictionaries(keys, children, max_size=4)


@settings(max_examples=300)
@given(st.binary(max_size=600) | json_values.map(lambda v: json.dumps(v).encode())
       | _fields(json_values).map(lambda v: json.dumps(v).encode()))  # fmt: skip
def test_any_body_parses_or_is_refused_with_a_code(body: bytes) -> None:
    for parse in (parse_vote_request, parse_join_request):
        try:
            result = parse(body)
        except RoomVoteError as error:
            assert error.problem in (RoomVoteProblem.MALFORMED, RoomVoteProblem.TOO_LARGE)
            assert error.status in (400, 413) and error.message
            assert error.to_json()["error"] == error.problem.value
        else:
            assert isinstance(result, VoteRequest | JoinRequest)


@pytest.mark.parametrize(
    ("body", "problem", "words"),
    [
        (b"x" * (MAX_BODY_BYTES + 1), RoomVoteProblem.TOO_LARGE, "4,097 bytes"),
        (b"\xff", RoomVoteProblem.MALFORMED, "not JSON"),
        (b'"vote"', RoomVoteProblem.MALFORMED, "not str"),
        (b'{"case_id": "t", "label": "l", "who": "me"}', RoomVoteProblem.MALFORMED, "who"),
        (b'{"case_id": "t"}', RoomVoteProblem.MALFORMED, "missing field(s): label"),
        (b'{"case_id": " ", "label": "l"}', RoomVoteProblem.MALFORMED, "needs a case_id"),
        (b'{"case_id": "t", "label": "l", "citations": "VH-1"}', RoomVoteProblem.MALFORMED,
         "citations must be a list"),
        (b'{"case_id": "t", "label": "l", "citations": [""]}', RoomVoteProblem.MALFORMED,
         "section ids"),
        (b'{"case_id": "t", "label": Infinity}', RoomVoteProblem.MALFORMED, "not JSON"),
        (json.dumps({"case_id": "t", "label": "l", "citations": ["a"] * 21}).encode(),
         RoomVoteProblem.MALFORMED, "21 citations"),
        (b"[" * 2000 + b"]" * 2000, RoomVoteProblem.MALFORMED, "not JSON"),
    ],
)  # fmt: skip
def test_bad_vote_bodies_say_what_is_wrong(
    body: bytes, problem: RoomVoteProblem, words: str
) -> None:
    with pytest.raises(RoomVoteError) as caught:
        parse_vote_request(body)
    assert caught.value.problem is problem
    assert words in caught.value.message


# -- the desk ---------------------------------------------------------------------------------


@pytest.fixture
def lead(tmp_path: Path) -> Iterator[Workspace]:
    ws = make_workspace(tmp_path, "Lead", key=False)
    yield ws
    ws.close()


def desk_for(ws: Workspace, **kwargs: object) -> RoomVotes:
    session = ws.calibration.create("room", cases=["t-0", "t-1"], participants=["Ana", "Bo"])
    return RoomVotes(ws.calibration, ws.guidelines, ws.queue, session.id, **kwargs)  # type: ignore[arg-type]


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_page_vote_is_the_same_event_as_a_grid_vote(lead: Workspace) -> None:
    desk = desk_for(lead)
    token, answer = desk.join("10.0.0.5", body(code=desk.code, name="ana"))
    assert token and answer["name"] == "Ana"
    page = desk.vote(token, body(case_id="t-0", label="vh_remove", citations=["VH-2.3"]))
    assert page["your_vote"] == "vh_remove" and page["voted"] == 1
    lead.calibration.vote("room", "t-0", "Bo", "no_violation")
    rows = (
        lead.database_for_tests()
        .execute("SELECT reviewer_id, role, session_id FROM verdicts ORDER BY created_at")
        .fetchall()
    )
    session = lead.calibration.session("room")
    ids = [p.id for p in session.participants]
    assert rows == [(ids[0], "participant", session.id), (ids[1], "participant", session.id)]
    assert lead.calibration.case_state("room", "t-0").status_text == "2 of 2 voted"


def test_the_page_state_holds_no_case_text_and_no_vote_before_the_reveal(
    lead: Workspace,
) -> None:
    desk = desk_for(lead)
    ana, _ = desk.join("a", body(code=desk.code, name="Ana"))
    bo, _ = desk.join("b", body(code=desk.code, name="Bo"))
    desk.vote(ana, body(case_id="t-0", label="vh_remove"))
    case = lead.queue.case("t-0")
    assert case is not None
    bo_page = desk.page_state(bo)
    text = json.dumps(bo_page)
    assert case.text not in text and bo_page["your_vote"] is None
    public = desk.public_state()
    assert public["distribution"] is None and public["voted"] == 1
    without_labels = {k: v for k, v in public.items() if k != "labels"}
    assert "vh_remove" not in json.dumps(without_labels)
    lead.calibration.reveal("room", "t-0")
    shown = {d["label"]: d["votes"] for d in desk.public_state()["distribution"]}
    assert shown["vh_remove"] == 1 and sum(shown.values()) == 1


def test_the_desk_refuses_what_the_rules_refuse(lead: Workspace) -> None:
    desk = desk_for(lead)
    token, _ = desk.join("a", body(code=desk.code, name="Ana"))
    cases = [
        (body(case_id="t-1", label="vh_remove"), RoomVoteProblem.NOT_CURRENT),
        (body(case_id="t-0", label="nope"), RoomVoteProblem.UNKNOWN_LABEL),
        (body(case_id="t-0", label="vh_remove", citations=["ZZ"]), RoomVoteProblem.UNKNOWN_SECTION),
    ]
    for sent, problem in cases:
        with pytest.raises(RoomVoteError) as caught:
            desk.vote(token, sent)
        assert caught.value.problem is problem
    with pytest.raises(RoomVoteError) as caught:
        desk.vote(None, body(case_id="t-0", label="vh_remove"))
    assert caught.value.status == 401
    with pytest.raises(RoomVoteError) as caught:
        desk.vote("forged", body(case_id="t-0", label="vh_remove"))
    assert caught.value.status == 403
    with pytest.raises(RoomVoteError) as caught:
        desk.join("a", body(code=desk.code, name="Zed"))
    assert caught.value.problem is RoomVoteProblem.UNKNOWN_PARTICIPANT and "Ana, Bo" in str(
        caught.value
    )
    with pytest.raises(Refused) as refused:
        desk.set_current("t-9")
    assert refused.value.reason == RefusalReason.NOT_IN_SESSION
    assert lead.database_for_tests().execute("SELECT COUNT(*) FROM verdicts").fetchone() == (0,)
    desk.close()
    with pytest.raises(RoomVoteError) as caught:
        desk.admit("a")
    assert caught.value.status == 503


def test_the_current_case_starts_at_the_first_unrevealed_one(lead: Workspace) -> None:
    session = lead.calibration.create("s", cases=["t-0", "t-1"], participants=["Ana"])
    lead.calibration.reveal("s", "t-0")
    desk = RoomVotes(lead.calibration, lead.guidelines, lead.queue, session.id)
    assert desk.current_case == "t-1"


def test_only_live_sessions_get_a_page(lead: Workspace) -> None:
    session = lead.calibration.create("a", cases=["t-0"], participants=["Ana"], mode="async")
    with pytest.raises(Refused, match="live sessions"):
        RoomVotes(lead.calibration, lead.guidelines, lead.queue, session.id)


def test_join_attempts_are_limited_per_address_and_in_total(lead: Workspace) -> None:
    clock = Clock()
    limits = Limits(join_rate=1, join_burst=2, join_rate_total=1, join_burst_total=3)
    desk = desk_for(lead, clock=clock, limits=limits)
    wrong = body(code="ZZZZZZ", name="Ana")
    problems = []
    for address in ("a", "a", "a", "b", "c"):
        try:
            desk.join(address, wrong)
        except RoomVoteError as error:
            problems.append(error.problem)
    assert problems == [RoomVoteProblem.WRONG_CODE] * 2 + [RoomVoteProblem.RATE_LIMITED] + [
        RoomVoteProblem.WRONG_CODE,
        RoomVoteProblem.RATE_LIMITED,  # the total bucket: 3 attempts, whatever the address
    ]
    assert re.fullmatch(r"[A-Z2-9]{6}", desk.code)
