"""The vote page server over real HTTP and WebSocket on 127.0.0.1: every endpoint, every bad
input (each answered with its status, nothing written, the app still answering)."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import VoteLimits
from qa_desktop.core.workspace import Workspace
from qa_desktop.ui.vote_page.server import VotePageError, VotePageServer

from .factory import make_workspace
from .vote_clients import Client, Listener, in_thread

PEOPLE = ["Ana", "Bo", "Cy"]


class FakeClock:
    """Time that moves only when the test says (rate limits without timing)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lead(tmp_path: Path) -> Iterator[Workspace]:
    ws = make_workspace(tmp_path, "Lead", key=False)
    yield ws
    ws.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(qtbot: QtBot, lead: Workspace, clock: FakeClock) -> Iterator[VotePageServer]:
    session = lead.calibration.create("room", cases=["t-0", "t-1", "t-2"], participants=PEOPLE)
    page = VotePageServer(lead, session.id, "127.0.0.1", 0, clock=clock)
    page.start()
    yield page
    page.stop()


def counts(ws: Workspace) -> tuple[int, ...]:
    db = ws.database_for_tests()
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("verdicts", "calibration_events", "calibration_participants")
    )


def joined(qtbot: QtBot, server: VotePageServer, name: str, source: str = "127.0.0.1") -> Client:
    client = Client(server, source)
    answer = in_thread(qtbot, lambda: client.join(name))
    assert answer.status == 200, answer.body
    return client


# -- the page ---------------------------------------------------------------------------------


def test_the_page_and_its_files_with_a_strict_policy(qtbot: QtBot, server: VotePageServer) -> None:
    client = Client(server)
    page = in_thread(qtbot, lambda: client.request("GET", "/"))
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.body.decode()
    # no inline script or handler: every <script> has a src, no on...= attribute, no style=
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/page.js" defer>']
    assert not re.search(r"\son\w+\s*=", html) and "style=" not in html
    script = in_thread(qtbot, lambda: client.request("GET", "/page.js"))
    assert script.status == 200 and script.headers["content-type"].startswith("text/javascript")
    assert b"innerHTML" not in script.body and b"eval(" not in script.body
    assert b"textContent" in script.body
    css = in_thread(qtbot, lambda: client.request("GET", "/page.css"))
    assert css.status == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "path", ["/static/", "/static/page.html", "/../server.py", "/api", "/api/", "/page.js/x", "/x"]
)
def test_no_other_path_and_no_listing(qtbot: QtBot, server: VotePageServer, path: str) -> None:
    answer = in_thread(qtbot, lambda: Client(server).request("GET", path))
    assert answer.status == 404
    assert b"page.html" not in answer.body and b"vote_page" not in answer.body


def test_each_endpoint_answers_its_method_only(qtbot: QtBot, server: VotePageServer) -> None:
    client = Client(server)
    assert in_thread(qtbot, lambda: client.request("POST", "/", b"{}")).status == 405
    assert in_thread(qtbot, lambda: client.request("GET", "/api/vote")).status == 405
    assert in_thread(qtbot, lambda: client.request("GET", "/api/join")).status == 405
    assert in_thread(qtbot, lambda: client.request("DELETE", "/api/state")).status == 405


def test_another_host_name_is_refused(qtbot: QtBot, server: VotePageServer) -> None:
    """DNS rebinding: a page of evil.example resolving to this address is not ours."""
    client = Client(server)
    answer = in_thread(
        qtbot, lambda: client.request("GET", "/api/state", headers={"Host": "evil.example"})
    )
    assert answer.status == 400 and answer.json()["error"] == "wrong-host"


# -- join -------------------------------------------------------------------------------------


def test_joining_with_the_code_and_a_name_gives_a_strict_cookie(
    qtbot: QtBot, server: VotePageServer, lead: Workspace
) -> None:
    before = counts(lead)
    client = Client(server)
    listing = in_thread(qtbot, lambda: client.request("POST", "/api/join", {"code": server.code}))
    assert listing.status == 200 and listing.json()["participants"] == PEOPLE
    assert "set-cookie" not in listing.headers
    # typed loosely: lower case, without the dash, spaces round it
    loose = " " + server.desk.code.lower() + " "
    answer = in_thread(qtbot, lambda: client.join("bo", code=loose))
    assert answer.status == 200 and answer.json()["name"] == "Bo"
    cookie = answer.headers["set-cookie"]
    assert re.fullmatch(r"qa_vote=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/", cookie)
    state = in_thread(qtbot, client.state)
    assert state.status == 200 and state.json()["you"] == "Bo"
    assert counts(lead) == before  # joining writes nothing


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"code": "AAAAAA", "name": "Ana"}, 403, "wrong-code"),
        ({"code": "", "name": "Ana"}, 403, "wrong-code"),
        (None, 422, "unknown-participant"),  # right code, a name not in the session
        ({"name": "Ana"}, 400, "malformed"),
        ({"code": 123456, "name": "Ana"}, 400, "malformed"),
        (b"[1, 2]", 400, "malformed"),
        (b"{code", 400, "malformed"),
        (b"\xff\xfe", 400, "malformed"),
        (b"x" * 5000, 413, None),
    ],
)
def test_bad_joins(
    qtbot: QtBot,
    server: VotePageServer,
    lead: Workspace,
    body: object,
    status: int,
    error: str | None,
) -> None:
    before = counts(lead)
    client = Client(server)
    sent = {"code": server.desk.code, "name": "Mallory"} if body is None else body
    answer = in_thread(qtbot, lambda: client.request("POST", "/api/join", sent))  # type: ignore[arg-type]
    assert answer.status == status, answer.body
    if error:
        assert answer.json()["error"] == error
    assert "set-cookie" not in answer.headers
    assert counts(lead) == before
    assert in_thread(qtbot, lambda: client.join("Ana")).status == 200  # still serving


def test_a_post_from_another_site_is_refused(qtbot: QtBot, server: VotePageServer) -> None:
    client = Client(server, extra_headers={"Origin": "http://evil.example"})
    answer = in_thread(qtbot, lambda: client.join("Ana"))
    assert answer.status == 403 and answer.json()["error"] == "wrong-origin"


# -- state and vote ---------------------------------------------------------------------------


def test_the_state_shows_labels_sections_and_counts_never_case_text(
    qtbot: QtBot, server: VotePageServer, lead: Workspace
) -> None:
    client = joined(qtbot, server, "Ana")
    answer = in_thread(qtbot, client.state)
    page = answer.json()
    assert page["case_id"] == "t-0" and page["position"] == 1 and page["cases"] == 3
    case = lead.queue.case("t-0")
    assert case is not None
    assert [lab["id"] for lab in page["labels"]] == [
        lab.id for lab in lead.guidelines.labels_for(case)
    ]
    sections = {s["id"]: s["title"] for s in page["sections"]}
    assert sections["VH-2.3"].startswith("Graphic injury: dismemberment")
    assert set(page) == {
        "session", "case_id", "position", "cases", "labels", "sections", "voted",
        "participants", "status", "distribution", "ruling", "you", "your_vote", "ws_port",
    }  # fmt: skip
    assert case.text and case.text not in answer.body.decode()
    assert b"media" not in answer.body and b"sha256" not in answer.body
    assert (page["voted"], page["participants"], page["status"]) == (0, 3, "open")


def test_a_vote_is_a_calibration_vote_and_changes_until_the_reveal(
    qtbot: QtBot, server: VotePageServer, lead: Workspace
) -> None:
    ana = joined(qtbot, server, "Ana", "127.0.0.2")
    bo = joined(qtbot, server, "Bo", "127.0.0.3")
    first = in_thread(qtbot, lambda: ana.vote("t-0", "vh_remove", ["VH-2.3"]))
    assert first.status == 200, first.body
    assert first.json()["your_vote"] == "vh_remove" and first.json()["voted"] == 1
    changed = in_thread(qtbot, lambda: ana.vote("t-0", "vh_age_restrict"))
    assert changed.status == 200 and changed.json()["voted"] == 1
    in_thread(qtbot, lambda: bo.vote("t-0", "no_violation"))
    state = lead.calibration.case_state("room", "t-0")
    assert state.status_text == "2 of 3 voted" and state.revealed is None
    assert in_thread(qtbot, bo.state).json()["your_vote"] == "no_violation"  # only their own
    revealed = lead.calibration.reveal("room", "t-0").revealed
    assert revealed is not None
    assert dict(revealed.distribution) == {
        "no_violation": 1, "vh_remove": 0, "vh_age_restrict": 1,
        **{k: 0 for k, _ in revealed.distribution if k not in
           ("no_violation", "vh_remove", "vh_age_restrict")},
    }  # fmt: skip
    page = in_thread(qtbot, ana.state).json()
    assert page["status"] == "revealed"
    assert {d["label"]: d["votes"] for d in page["distribution"]}["vh_age_restrict"] == 1
    db = lead.database_for_tests()
    rows = db.execute(
        "SELECT label, supersedes IS NOT NULL, role, session_id FROM verdicts"
        " WHERE case_id = 't-0' ORDER BY created_at, id"
    ).fetchall()
    session_id = lead.calibration.session("room").id
    assert rows == [
        ("vh_remove", 0, "participant", session_id),
        ("vh_age_restrict", 1, "participant", session_id),
        ("no_violation", 0, "participant", session_id),
    ]
    cited = db.execute(
        "SELECT citations FROM verdicts WHERE label = 'vh_remove' AND case_id = 't-0'"
    ).fetchone()[0]
    assert "VH-2.3" in cited


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"x" * 5000, 413, None),
        (b"{not json", 400, "malformed"),
        (b"[]", 400, "malformed"),
        (b'{"case_id": "t-0", "label": "vh_remove", "extra": 1}', 400, "malformed"),
        (b'{"case_id": "t-0", "label": 5}', 400, "malformed"),
        (b'{"case_id": "t-0", "label": "vh_remove", "citations": [1]}', 400, "malformed"),
        (b'{"case_id": "t-0", "label": "vh_remove", "citations": NaN}', 400, "malformed"),
        (b'{"case_id": "t-1", "label": "vh_remove"}', 409, "not-current"),
        (b'{"case_id": "t-9", "label": "vh_remove"}', 409, "not-current"),
        (b'{"case_id": "t-0", "label": "hs_remove_typo"}', 422, "unknown-label"),
        (b'{"case_id": "t-0", "label": "<script>alert(1)</script>"}', 422, "unknown-label"),
        (b'{"case_id": "t-0", "label": "vh_remove", "citations": ["XX-9"]}', 422,
         "unknown-section"),
    ],
)  # fmt: skip
def test_bad_votes_write_nothing(
    qtbot: QtBot,
    server: VotePageServer,
    lead: Workspace,
    body: bytes,
    status: int,
    error: str | None,
) -> None:
    client = joined(qtbot, server, "Ana")
    before = counts(lead)
    answer = in_thread(qtbot, lambda: client.request("POST", "/api/vote", body))
    assert answer.status == status, answer.body
    if error:
        assert answer.json()["error"] == error
        assert answer.headers["content-type"] == "application/json"
    assert counts(lead) == before
    assert in_thread(qtbot, lambda: client.vote("t-0", "vh_remove")).status == 200


def test_votes_close_at_the_reveal_and_the_ruling(
    qtbot: QtBot, server: VotePageServer, lead: Workspace
) -> None:
    client = joined(qtbot, server, "Ana")
    in_thread(qtbot, lambda: client.vote("t-0", "vh_remove", ["VH-2.3"]))
    lead.calibration.reveal("room", "t-0")
    before = counts(lead)
    late = in_thread(qtbot, lambda: client.vote("t-0", "no_violation"))
    assert late.status == 409 and late.json()["error"] == "closed"
    assert counts(lead) == before
    from qa_desktop.core.api import VerdictDraft

    from .recording import supporting_citation

    lead.calibration.rule(
        "room", "t-0", VerdictDraft("vh_remove", supporting_citation(lead, "t-0", "vh_remove"))
    )
    page = in_thread(qtbot, client.state).json()
    assert page["status"] == "ruled" and page["ruling"]["label"] == "vh_remove"


def test_the_page_follows_the_shared_screen(
    qtbot: QtBot, server: VotePageServer, lead: Workspace
) -> None:
    client = joined(qtbot, server, "Cy")
    server.set_current("t-1")
    assert in_thread(qtbot, client.state).json()["case_id"] == "t-1"
    old = in_thread(qtbot, lambda: client.vote("t-0", "vh_remove"))
    assert old.status == 409 and old.json()["error"] == "not-current"
    assert in_thread(qtbot, lambda: client.vote("t-1", "vh_remove")).status == 200
    assert lead.calibration.case_state("room", "t-1").voters == ("Cy",)
    assert lead.calibration.case_state("room", "t-0").voted == 0


def test_no_token_or_another_sessions_token_is_refused(
    qtbot: QtBot, server: VotePageServer, lead: Workspace, clock: FakeClock
) -> None:
    other_session = lead.calibration.create("other", cases=["t-0"], participants=["Ana"])
    other = VotePageServer(lead, other_session.id, "127.0.0.1", 0, clock=clock)
    other.start()
    try:
        thief = joined(qtbot, other, "Ana")
        before = counts(lead)
        stolen = Client(server, cookie=thief.cookie)
        answer = in_thread(qtbot, lambda: stolen.vote("t-0", "vh_remove"))
        assert answer.status == 403 and answer.json()["error"] == "wrong-session"
        assert in_thread(qtbot, stolen.state).status == 403
        nobody = Client(server)
        assert in_thread(qtbot, lambda: nobody.vote("t-0", "vh_remove")).status == 401
        assert in_thread(qtbot, nobody.state).status == 401
        forged = Client(server, cookie="qa_vote=" + "A" * 43)
        assert in_thread(qtbot, lambda: forged.vote("t-0", "vh_remove")).status == 403
        assert counts(lead) == before
    finally:
        other.stop()


def test_a_flood_from_one_address_is_answered_429_and_others_still_vote(
    qtbot: QtBot, server: VotePageServer, lead: Workspace, clock: FakeClock
) -> None:
    """1,000 requests within one (frozen) second from one address: the bucket's burst is
    answered, the rest get 429 with Retry-After; nothing is written; another address and,
    a second later, the same one are served."""
    flood = joined(qtbot, server, "Ana", "127.0.0.9")
    before = counts(lead)

    def hammer() -> list[int]:
        statuses = []
        for _ in range(1000):
            answer = flood.request("POST", "/api/vote", b'{"case_id": "t-0", "label": "x"}')
            statuses.append(answer.status)
            if answer.status == 429:
                assert int(answer.headers["retry-after"]) >= 1
        return statuses

    statuses = in_thread(qtbot, hammer, timeout_ms=120_000)
    assert statuses.count(429) >= 1000 - VoteLimits().request_burst
    assert set(statuses) == {422, 429}
    assert counts(lead) == before
    other = joined(qtbot, server, "Bo", "127.0.0.10")
    assert in_thread(qtbot, lambda: other.vote("t-0", "vh_remove")).status == 200
    clock.now += 1.0
    assert in_thread(qtbot, lambda: flood.vote("t-0", "vh_remove")).status == 200


def test_guessing_codes_is_rate_limited(
    qtbot: QtBot, server: VotePageServer, clock: FakeClock
) -> None:
    guesser = Client(server, "127.0.0.20")

    def guess() -> list[int]:
        return [
            guesser.request("POST", "/api/join", {"code": f"AAAA{i:02d}", "name": "Ana"}).status
            for i in range(20)
        ]

    statuses = in_thread(qtbot, guess)
    limits = VoteLimits()
    assert statuses[: limits.join_burst] == [403] * limits.join_burst
    assert set(statuses[limits.join_burst :]) == {429}
    # even the right code waits its turn: the limit is on attempts, not on failures
    assert in_thread(qtbot, lambda: guesser.join("Ana")).status == 429
    clock.now += 1 / limits.join_rate
    assert in_thread(qtbot, lambda: guesser.join("Ana")).status == 200


# -- the WebSocket ----------------------------------------------------------------------------


def test_the_socket_pushes_counts_then_the_reveal(
    qtbot: QtBot, server: VotePageServer, lead: Workspace
) -> None:
    ana = joined(qtbot, server, "Ana", "127.0.0.2")
    bo = joined(qtbot, server, "Bo", "127.0.0.3")
    listener = Listener(server, ana.cookie)
    qtbot.waitUntil(lambda: bool(listener.messages))
    assert listener.last()["voted"] == 0 and listener.last()["you"] == "Ana"
    in_thread(qtbot, lambda: bo.vote("t-0", "vh_remove"))
    qtbot.waitUntil(lambda: listener.last()["voted"] == 1)
    assert listener.last()["your_vote"] is None and listener.last()["distribution"] is None
    assert "vh_remove" not in repr({k: v for k, v in listener.last().items() if k != "labels"})
    lead.calibration.vote("room", "t-0", "Cy", "no_violation")  # typed on the grid
    qtbot.waitUntil(lambda: listener.last()["voted"] == 2)  # the poll sees it
    lead.calibration.reveal("room", "t-0")
    qtbot.waitUntil(lambda: listener.last()["status"] == "revealed")
    shown = {d["label"]: d["votes"] for d in listener.last()["distribution"]}
    assert shown["vh_remove"] == 1 and shown["no_violation"] == 1
    server.set_current("t-1")
    qtbot.waitUntil(lambda: listener.last()["case_id"] == "t-1")
    listener.socket.close()


@pytest.mark.parametrize("case", ["no cookie", "stolen cookie", "other origin"])
def test_the_socket_turns_strangers_away(qtbot: QtBot, server: VotePageServer, case: str) -> None:
    ana = joined(qtbot, server, "Ana")
    cookie = {"no cookie": "", "stolen cookie": "qa_vote=" + "B" * 43}.get(case, ana.cookie)
    origin = "http://evil.example" if case == "other origin" else None
    listener = Listener(server, cookie, origin)
    qtbot.waitUntil(lambda: bool(listener.closed))
    assert listener.messages == []


def test_stopping_closes_sockets_and_forgets_tokens(qtbot: QtBot, server: VotePageServer) -> None:
    ana = joined(qtbot, server, "Ana")
    listener = Listener(server, ana.cookie)
    qtbot.waitUntil(lambda: bool(listener.messages))
    port = server.port
    with qtbot.waitSignal(server.stopped):
        server.stop()
    qtbot.waitUntil(lambda: bool(listener.closed))
    assert not server.running and not server.desk.live

    def old_port() -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/")
            connection.getresponse()
        except OSError:
            return True
        finally:
            connection.close()
        return False

    assert server.port == 0
    assert in_thread(qtbot, old_port)


def test_a_port_in_use_is_a_clear_error(
    qtbot: QtBot, server: VotePageServer, lead: Workspace
) -> None:
    second = VotePageServer(lead, "room", "127.0.0.1", server.port)
    with pytest.raises(VotePageError, match=f"127.0.0.1:{server.port}"):
        second.start()
    with pytest.raises(VotePageError, match="not an IP address"):
        VotePageServer(lead, "room", "localhost-ish", 0).start()
