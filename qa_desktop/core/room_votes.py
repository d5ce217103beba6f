"""Room votes: participants of a live calibration session vote from their own browsers.

The SME's app serves a small vote page for one live session (the server is Qt, in
``ui/vote_page``); everything it decides lives here, in plain Python:

- the **session code** a participant types to join, and the **token** (a cookie) a join
  hands out; a token belongs to this desk only, so a token of another session is refused;
- **rate limits** per address (token buckets, the clock injected);
- **parsing and checking** join and vote requests, each problem a :class:`RoomVoteError`
  with a stable code (:class:`~.vocab.RoomVoteProblem`) and the HTTP status to answer;
- **what the page may show** of the current case (:meth:`RoomVotes.public_state`): its id,
  the labels of the session's pack, section ids and titles to cite, and the vote state.
  Never media, never the case's text, never anyone's vote before the reveal (only counts).

A vote goes through :meth:`Calibration.vote <.calibration.Calibration.vote>`, so it is the
same event as a vote typed on the grid, hidden the same way until the reveal.

Guessing the code
-----------------
A code is :data:`CODE_LENGTH` = 6 characters from an alphabet of 32 (:data:`CODE_ALPHABET`:
digits and capitals without 0, 1, I and O), 32**6 = 1,073,741,824 codes. Every join attempt
spends a token of its address's bucket (:data:`JOIN_RATE` = 2 a second, bursts of
:data:`JOIN_BURST` = 10) and one of a bucket shared by all addresses (:data:`JOIN_RATE_TOTAL`
= 20 a second, bursts of :data:`JOIN_BURST_TOTAL` = 60). So however many addresses guess,
at most 20 codes a second are tried: trying every code takes 1,073,741,824 / 20 s = 621 days,
finding it half of that, 310 days, on average; one address alone needs 17 years. A session's
code is made when its page opens and dies with it (single session).
"""

from __future__ import annotations

import hmac
import json
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .calibration import Calibration, CaseState, Participant
from .errors import QADesktopError, Refused
from .guidelines import Guidelines
from .queue import Queue
from .verdicts import Citation
from .vocab import RefusalReason, RoomVoteProblem

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""32 symbols no one misreads on a projector: no 0/O, no 1/I."""
CODE_LENGTH = 6
"""32**6 = 1,073,741,824 codes (see the module's docstring for the guessing time)."""
JOIN_RATE = 2.0
"""Join attempts a second from one address (sustained)."""
JOIN_BURST = 10
JOIN_RATE_TOTAL = 20.0
"""Join attempts a second from all addresses together: the bound on guessing."""
JOIN_BURST_TOTAL = 60
"""A room of 60 may join in the same second."""
REQUEST_RATE = 20.0
"""Requests a second from one address, any endpoint (sustained)."""
REQUEST_BURST = 60
MAX_BODY_BYTES = 4096
"""Largest request body read; a vote is about 200 bytes."""
MAX_ID_CHARS = 200
MAX_CITATIONS = 20
MAX_NAME_CHARS = 200
MAX_TRACKED_ADDRESSES = 10_000
"""Buckets kept; the least recently used (full ones by then) are forgotten first."""
TOKEN_COOKIE = "qa_vote"

Clock = Callable[[], float]
"""Seconds, monotonic (``time.monotonic``; tests pass their own)."""

HTTP_STATUS: dict[RoomVoteProblem, int] = {
    RoomVoteProblem.MALFORMED: 400,
    RoomVoteProblem.NOT_JOINED: 401,
    RoomVoteProblem.WRONG_CODE: 403,
    RoomVoteProblem.WRONG_SESSION: 403,
    RoomVoteProblem.NOT_FOUND: 404,
    RoomVoteProblem.NOT_CURRENT: 409,
    RoomVoteProblem.CLOSED: 409,
    RoomVoteProblem.TOO_LARGE: 413,
    RoomVoteProblem.UNKNOWN_LABEL: 422,
    RoomVoteProblem.UNKNOWN_SECTION: 422,
    RoomVoteProblem.UNKNOWN_PARTICIPANT: 422,
    RoomVoteProblem.RATE_LIMITED: 429,
    RoomVoteProblem.NOT_LIVE: 503,
    RoomVoteProblem.WRONG_METHOD: 405,
    RoomVoteProblem.WRONG_ORIGIN: 403,
    RoomVoteProblem.WRONG_HOST: 400,
}
"""The HTTP status the page server answers for each problem."""


class RoomVoteError(QADesktopError):
    """A request the vote page refuses: a stable code, its HTTP status, a message for the
    participant (plain text; the page shows it with ``textContent``)."""

    def __init__(self, problem: RoomVoteProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.status = HTTP_STATUS[problem]
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The body the server answers with."""
        return {"error": self.problem.value, "message": self.message}


def _problem(problem: RoomVoteProblem, message: str) -> RoomVoteError:
    return RoomVoteError(problem, message)


# -- codes and tokens ---------------------------------------------------------------------


def new_session_code() -> str:
    """A fresh random session code (``secrets``), :data:`CODE_LENGTH` symbols."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def display_code(code: str) -> str:
    """The code as the presenter shows it: ``K7Q-M2X``."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_code(typed: str) -> str:
    """What a participant typed, as a code: capitals, no spaces or dashes."""
    return "".join(ch for ch in typed.upper() if ch not in " -\t")


def new_token() -> str:
    """A participant's token: 32 random bytes, URL-safe (256 bits)."""
    return secrets.token_urlsafe(32)


def token_from_cookie(header: str) -> str | None:
    """The vote token in a ``Cookie`` header, or None."""
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == TOKEN_COOKIE and value:
            return value
    return None


def token_cookie(token: str) -> str:
    """The ``Set-Cookie`` value that hands a participant their token (script can't read it,
    other sites can't send it)."""
    return f"{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"


# -- rate limits --------------------------------------------------------------------------


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; one request spends one."""

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self) -> bool:
        """Spend a token if there is one; False when the bucket is empty."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def retry_after(self) -> int:
        """Whole seconds until a token is back (at least 1)."""
        self._refill()
        return max(1, math.ceil((1.0 - self._tokens) / self.rate))

    @property
    def full(self) -> bool:
        """True when it has refilled completely (forgetting it changes nothing)."""
        self._refill()
        return self._tokens >= self.burst


class RateLimiter:
    """A token bucket per address; the least recently used are forgotten beyond
    ``max_addresses``."""

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Clock,
        max_addresses: int = MAX_TRACKED_ADDRESSES,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max = max_addresses
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, address: str) -> bool:
        """Spend one of ``address``'s tokens; False when it has none left."""
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = TokenBucket(self.rate, self.burst, self._clock)
            self._buckets[address] = bucket
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(address)
        return bucket.take()

    def retry_after(self, address: str) -> int:
        """Whole seconds until ``address`` may ask again."""
        bucket = self._buckets.get(address)
        return bucket.retry_after() if bucket else 1


@dataclass(frozen=True)
class Limits:
    """The page's rate limits (the defaults are the documented ones)."""

    request_rate: float = REQUEST_RATE
    request_burst: int = REQUEST_BURST
    join_rate: float = JOIN_RATE
    join_burst: int = JOIN_BURST
    join_rate_total: float = JOIN_RATE_TOTAL
    join_burst_total: int = JOIN_BURST_TOTAL


VoteLimits = Limits
"""The name :mod:`core.api` gives :class:`Limits`."""


# -- requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class JoinRequest:
    """``{"code": "K7Q-M2X", "name": "Ana"}``; no name asks for the participants' names."""

    code: str
    name: str


@dataclass(frozen=True)
class VoteRequest:
    """``{"case_id": "c-1", "label": "vh_remove", "citations": ["VH-2.3"]}``."""

    case_id: str
    label: str
    citations: tuple[str, ...] = ()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_object(body: bytes, allowed: dict[str, type], required: set[str]) -> dict[str, Any]:
    """A request body as a JSON object with only ``allowed`` keys of the given types."""
    if len(body) > MAX_BODY_BYTES:
        raise _problem(
            RoomVoteProblem.TOO_LARGE,
            f"the request has {len(body):,} bytes; at most {MAX_BODY_BYTES:,}",
        )
    try:
        text = body.decode("utf-8")
        data = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _problem(RoomVoteProblem.MALFORMED, f"the request is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise _problem(
            RoomVoteProblem.MALFORMED,
            f"the request must be a JSON object, not {type(data).__name__}",
        )
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise _problem(RoomVoteProblem.MALFORMED, f"unknown field(s): {', '.join(unknown)}")
    missing = sorted(required - set(data))
    if missing:
        raise _problem(RoomVoteProblem.MALFORMED, f"missing field(s): {', '.join(missing)}")
    for key, kind in allowed.items():
        if key in data and not isinstance(data[key], kind):
            raise _problem(
                RoomVoteProblem.MALFORMED,
                f"field {key} must be {'a string' if kind is str else 'a list'},"
                f" not {type(data[key]).__name__}",
            )
    return data


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value: str = data.get(key, "")
    value = value.strip()
    if len(value) > limit:
        raise _problem(
            RoomVoteProblem.MALFORMED, f"field {key} has {len(value)} characters; at most {limit}"
        )
    return value


def parse_join_request(body: bytes) -> JoinRequest:
    """A join request from a body; :class:`RoomVoteError` (``too-large``, ``malformed``)."""
    data = _json_object(body, {"code": str, "name": str}, {"code"})
    return JoinRequest(_text(data, "code", 32), _text(data, "name", MAX_NAME_CHARS))


def parse_vote_request(body: bytes) -> VoteRequest:
    """A vote request from a body; :class:`RoomVoteError` (``too-large``, ``malformed``)."""
    data = _json_object(
        body, {"case_id": str, "label": str, "citations": list}, {"case_id", "label"}
    )
    case_id = _text(data, "case_id", MAX_ID_CHARS)
    label = _text(data, "label", MAX_ID_CHARS)
    if not case_id or not label:
        raise _problem(RoomVoteProblem.MALFORMED, "a vote needs a case_id and a label")
    raw = data.get("citations", [])
    if len(raw) > MAX_CITATIONS:
        raise _problem(RoomVoteProblem.MALFORMED, f"{len(raw)} citations; at most {MAX_CITATIONS}")
    citations: list[str] = []
    for item in raw:
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_ID_CHARS:
            raise _problem(
                RoomVoteProblem.MALFORMED,
                "citations must be section ids (non-empty strings of at most"
                f" {MAX_ID_CHARS} characters)",
            )
        citations.append(item.strip())
    return VoteRequest(case_id, label, tuple(dict.fromkeys(citations)))


# -- the desk -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Choices:
    labels: tuple[tuple[str, str], ...]
    """(id, name) of every label of the session's pack, in the pack's order."""
    sections: dict[str, tuple[str, Citation]]
    """Section id -> (title, the citation a vote records)."""


@dataclass
class _Seat:
    participant: Participant
    votes: dict[str, str] = field(default_factory=dict)
    """case id -> the label this participant sent from the page (their own, for their page)."""


class RoomVotes:
    """One live session's vote page desk: code, tokens, limits, the current case, votes.

    Made when the page opens, dropped when it closes (codes and tokens live only here, in
    memory). ``set_current`` follows the case on the shared screen; only it takes votes.
    """

    def __init__(
        self,
        calibration: Calibration,
        guidelines: Guidelines,
        queue: Queue,
        session: str,
        *,
        clock: Clock = time.monotonic,
        limits: Limits | None = None,
        code: str | None = None,
    ) -> None:
        self._calibration = calibration
        self._guidelines = guidelines
        self._queue = queue
        self.session = calibration.session(session)
        if self.session.mode != "live":
            raise Refused(
                RefusalReason.WRONG_KIND,
                f"calibration session {self.session.name!r} is {self.session.mode}; the vote"
                " page serves live sessions",
            )
        self.code = code or new_session_code()
        self.live = True
        limits = limits or Limits()
        self._seats: dict[str, _Seat] = {}
        self._requests = RateLimiter(limits.request_rate, limits.request_burst, clock)
        self._joins = RateLimiter(limits.join_rate, limits.join_burst, clock)
        self._all_joins = TokenBucket(limits.join_rate_total, limits.join_burst_total, clock)
        self._current = self._first_open_case()
        self._choices: dict[str, _Choices] = {}

    # -- the session's side

    def _first_open_case(self) -> str:
        for state in self._calibration.states(self.session.id):
            if state.revealed is None:
                return state.case_id
        return self.session.case_ids[0]

    @property
    def current_case(self) -> str:
        """The case the page votes on (the one on the shared screen)."""
        return self._current

    def set_current(self, case_id: str) -> None:
        """Follow the shared screen to ``case_id`` (``not-in-session`` if it is not one)."""
        if case_id not in self.session.case_ids:
            raise Refused(
                RefusalReason.NOT_IN_SESSION,
                f"case {case_id!r} is not in calibration session {self.session.name!r}",
            )
        self._current = case_id

    def close(self) -> None:
        """The session's page closes: every request is refused from now on."""
        self.live = False
        self._seats.clear()

    def state(self) -> CaseState:
        """The current case's state (counts only before its reveal)."""
        return self._calibration.case_state(self.session.id, self._current)

    # -- requests

    def admit(self, address: str) -> None:
        """Spend a request token of ``address``; ``rate-limited`` (429) when it has none,
        ``not-live`` (503) once the page is closed."""
        if not self._requests.take(address):
            wait = self._requests.retry_after(address)
            raise _problem(
                RoomVoteProblem.RATE_LIMITED,
                f"too many requests from {address}; try again in {wait} s",
            )
        if not self.live:
            raise _problem(RoomVoteProblem.NOT_LIVE, "this session's vote page is closed")

    def retry_after(self, address: str) -> int:
        """Seconds ``address`` should wait after a ``rate-limited`` answer."""
        return self._requests.retry_after(address)

    def join(self, address: str, body: bytes) -> tuple[str | None, dict[str, Any]]:
        """Check a join request: with the right code and a participant's name, a new token
        and who joined; with the right code and no name, the participants' names to pick
        from. Errors: ``rate-limited``, ``too-large``, ``malformed``, ``wrong-code``,
        ``unknown-participant``."""
        request = parse_join_request(body)
        if not self._joins.take(address) or not self._all_joins.take():
            raise _problem(
                RoomVoteProblem.RATE_LIMITED, "too many attempts to join; wait a few seconds"
            )
        if not hmac.compare_digest(normalize_code(request.code).encode(), self.code.encode()):
            raise _problem(RoomVoteProblem.WRONG_CODE, "that is not this session's code")
        names = [p.name for p in self.session.participants]
        if not request.name:
            return None, {"session": self.session.name, "participants": names}
        for participant in self.session.participants:
            if request.name.casefold() in (participant.name.casefold(), participant.id):
                token = new_token()
                self._seats[token] = _Seat(participant)
                return token, {"session": self.session.name, "name": participant.name}
        raise _problem(
            RoomVoteProblem.UNKNOWN_PARTICIPANT,
            f"{request.name!r} is not a participant of this session (pick one of:"
            f" {', '.join(names)})",
        )

    def _seat(self, token: str | None) -> _Seat:
        if not token:
            raise _problem(RoomVoteProblem.NOT_JOINED, "join the session with its code first")
        seat = self._seats.get(token)
        if seat is None:
            raise _problem(
                RoomVoteProblem.WRONG_SESSION,
                "this browser's token is not one of this session's; join with the code shown",
            )
        return seat

    def check_token(self, token: str | None) -> str:
        """The participant's name for a token; ``not-joined`` / ``wrong-session`` otherwise."""
        return self._seat(token).participant.name

    def _case_choices(self, case_id: str) -> _Choices:
        """The labels of the session's pack and the active sections of the guideline in
        force for the case's market, cached per case."""
        if case_id not in self._choices:
            case = self._queue.case(case_id)
            if case is None:  # a session's cases are never deleted; be plain if one is
                raise _problem(RoomVoteProblem.NOT_FOUND, f"there is no case {case_id}")
            labels = tuple((lab.id, lab.name) for lab in self._guidelines.labels_for(case))
            guideline = self._guidelines.for_case(case)
            sections = {
                s.id: (s.title, Citation(s.pack_id, s.pack_version, s.id))
                for s in guideline.sections
                if s.status == "active"
            }
            self._choices[case_id] = _Choices(labels, sections)
        return self._choices[case_id]

    def page_state(self, token: str | None, *, state: CaseState | None = None) -> dict[str, Any]:
        """What the token holder's page may show of the current case, as JSON (see
        :meth:`public_state`), and their own vote on it. ``not-joined`` without a token,
        ``wrong-session`` for a token not of this session."""
        seat = self._seat(token)
        page = self.public_state(state)
        page["you"] = seat.participant.name
        page["your_vote"] = seat.votes.get(page["case_id"])
        return page

    def public_state(self, state: CaseState | None = None) -> dict[str, Any]:
        """What every page of the session may show of the current case, as JSON: case id
        and position, labels, sections (id, title), how many voted, the reveal's
        distribution and the ruling once there. Nothing else: no media, no case text, no
        one's vote before the reveal."""
        state = state or self.state()
        choices = self._case_choices(state.case_id)
        page: dict[str, Any] = {
            "session": self.session.name,
            "case_id": state.case_id,
            "position": state.position + 1,
            "cases": len(self.session.case_ids),
            "labels": [{"id": i, "name": n} for i, n in choices.labels],
            "sections": [{"id": i, "title": t} for i, (t, _) in choices.sections.items()],
            "voted": state.voted,
            "participants": state.participants,
            "status": "open",
            "distribution": None,
            "ruling": None,
        }
        if state.revealed is not None:
            page["status"] = "revealed"
            page["distribution"] = [
                {"label": lab, "votes": n} for lab, n in state.revealed.distribution
            ]
        if state.ruling is not None:
            page["status"] = "ruled"
            page["ruling"] = {
                "label": state.ruling.label,
                "citations": [c.section_id for c in state.ruling.citations],
            }
        return page

    def vote(self, token: str | None, body: bytes) -> dict[str, Any]:
        """Record the token holder's vote on the current case (a change replaces it until
        the reveal) through the calibration room; the page state after.

        Errors, nothing written: ``not-joined``, ``wrong-session``, ``too-large``,
        ``malformed``, ``not-current`` and ``closed`` (409: another case, or revealed or
        ruled), ``unknown-label`` / ``unknown-section`` (422).
        """
        seat = self._seat(token)
        request = parse_vote_request(body)
        if request.case_id != self._current:
            raise _problem(
                RoomVoteProblem.NOT_CURRENT,
                f"votes are open on case {self._current}, not {request.case_id}",
            )
        case_id = self._current
        choices = self._case_choices(case_id)
        if request.label not in {i for i, _ in choices.labels}:
            raise _problem(
                RoomVoteProblem.UNKNOWN_LABEL,
                f"{request.label!r} is not a label of this session's pack",
            )
        unknown = [c for c in request.citations if c not in choices.sections]
        if unknown:
            raise _problem(
                RoomVoteProblem.UNKNOWN_SECTION,
                f"no section {', '.join(map(repr, unknown))} in the guideline for this case",
            )
        try:  # the room refuses a vote after the reveal or the ruling
            state = self._calibration.vote(
                self.session.id,
                case_id,
                seat.participant.id,
                request.label,
                [choices.sections[c][1] for c in request.citations],
            )
        except Refused as refusal:
            problem = {
                RefusalReason.ALREADY_REVEALED: RoomVoteProblem.CLOSED,
                RefusalReason.ALREADY_RULED: RoomVoteProblem.CLOSED,
                RefusalReason.UNKNOWN_LABEL: RoomVoteProblem.UNKNOWN_LABEL,
            }.get(RefusalReason(str(refusal.reason)), RoomVoteProblem.MALFORMED)
            raise _problem(problem, refusal.message) from None
        seat.votes[case_id] = request.label
        return self.page_state(token, state=state)
