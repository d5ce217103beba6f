"""The vote page server: Qt's ``QHttpServer`` for the page and its JSON endpoints, a
``QWebSocketServer`` (the next port) pushing the current case's state.

It listens only on the address the SME chose, only while it runs: :meth:`stop` (the
session's end, its window closing, the app quitting) closes both sockets and drops the
session's code and every token. All decisions are core's (:class:`RoomVotes`); this module
turns them into HTTP. Endpoints, and nothing else (no directory listing, no file paths)::

    GET  /             the page (static HTML)       GET /page.js, /page.css
    POST /api/join     {"code", "name"}  -> token cookie (HttpOnly, SameSite=Strict)
    GET  /api/state    the current case as the page may show it (needs the token)
    POST /api/vote     {"case_id", "label", "citations"} (needs the token)
    ws://host:port+1/  the same state, pushed on every change (needs the token)

Every answer carries a strict Content-Security-Policy (``default-src 'self'``; the page
runs no inline script and sets text only with ``textContent``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from importlib import resources
from typing import Any

from PySide6.QtCore import QByteArray, QCoreApplication, QObject, QTimer, Signal
from PySide6.QtHttpServer import (
    QHttpServer,
    QHttpServerConfiguration,
    QHttpServerRequest,
    QHttpServerResponder,
    QHttpServerResponse,
)
from PySide6.QtNetwork import QHostAddress, QTcpServer
from PySide6.QtWebSockets import QWebSocket, QWebSocketProtocol, QWebSocketServer

from ...core.api import (
    RoomVoteError,
    RoomVoteProblem,
    RoomVotes,
    VoteLimits,
    display_code,
    vote_token_cookie,
    vote_token_from_cookie,
)
from ...core.workspace import Workspace
from .addresses import url_host

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4096
"""Qt answers 413 itself above this (core checks again)."""
MAX_SOCKETS = 300
"""Open WebSocket connections at most (a room, each with a phone and a laptop)."""
POLL_MS = 500
"""How often the state is checked for votes typed on the grid, reveals and rulings."""

Status = QHttpServerResponder.StatusCode
Method = QHttpServerRequest.Method
STATIC = {
    "/": ("page.html", "text/html; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
}


class VotePageError(RuntimeError):
    """The page could not be served (the address or port is not available)."""


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


def _header(request: QHttpServerRequest, name: str) -> str:
    return bytes(request.value(QByteArray(name.encode())).data()).decode("latin-1")


class VotePageServer(QObject):
    """Serves one live calibration session's vote page on ``address``:``port`` (0: any
    free port) and ``port + 1`` for the WebSocket (any free one when ``port`` is 0)."""

    changed = Signal(dict)
    """The state the pages were last sent (the public part: no one's own vote)."""
    stopped = Signal()

    def __init__(
        self,
        ws: Workspace,
        session: str,
        address: str,
        port: int = 0,
        *,
        limits: VoteLimits | None = None,
        clock: Callable[[], float] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        extra: dict[str, Any] = {"limits": limits}
        if clock is not None:
            extra["clock"] = clock
        self.desk = RoomVotes(ws.calibration, ws.guidelines, ws.queue, session, **extra)
        self.address = address
        self._port = port
        self._http: QHttpServer | None = None
        self._tcp: QTcpServer | None = None
        self._ws: QWebSocketServer | None = None
        self._sockets: dict[QWebSocket, str] = {}
        self._sent: dict[QWebSocket, str] = {}
        self._callbacks: list[Callable[..., object]] = []
        self._last_public = ""
        self._static = {path: (_static(name), mime) for path, (name, mime) in STATIC.items()}
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.push)
        self._push_soon = QTimer(self)
        self._push_soon.setSingleShot(True)
        self._push_soon.setInterval(0)
        self._push_soon.timeout.connect(self.push)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    # -- life

    @property
    def running(self) -> bool:
        """True while the page is served."""
        return self._tcp is not None

    @property
    def port(self) -> int:
        """The page's port."""
        return self._tcp.serverPort() if self._tcp else 0

    @property
    def ws_port(self) -> int:
        """The WebSocket's port."""
        return self._ws.serverPort() if self._ws else 0

    @property
    def origin(self) -> str:
        """``http://host:port``, the page's origin."""
        return f"http://{url_host(self.address)}:{self.port}"

    @property
    def url(self) -> str:
        """The page's address, as the join card shows it."""
        return self.origin + "/"

    @property
    def code(self) -> str:
        """The session code as shown to the room (``K7Q-M2X``)."""
        return display_code(self.desk.code)

    def start(self) -> None:
        """Listen; :class:`VotePageError` when the address or port cannot be had."""
        if self.running:
            return
        host = QHostAddress(self.address)
        if host.isNull():
            raise VotePageError(f"{self.address!r} is not an IP address")
        tcp = QTcpServer(self)
        if not tcp.listen(host, self._port):
            raise VotePageError(
                f"cannot listen on {self.address}:{self._port}: {tcp.errorString()}"
            )
        wss = QWebSocketServer("qa-desktop-votes", QWebSocketServer.SslMode.NonSecureMode, self)
        wss.setMaxPendingConnections(64)
        ws_port = tcp.serverPort() + 1 if self._port else 0
        if not wss.listen(host, ws_port):
            tcp.close()
            raise VotePageError(
                f"cannot listen on {self.address}:{ws_port} (the page's WebSocket):"
                f" {wss.errorString()}"
            )
        wss.newConnection.connect(self._on_socket)
        http = QHttpServer(self)
        config = QHttpServerConfiguration()
        config.setMaximumBodySize(MAX_BODY_BYTES)
        config.setMaximumUrlSize(1024)
        config.setKeepAliveTimeout(15)
        http.setConfiguration(config)
        # PySide6's route() takes callbacks that return text (always 200, text/plain), so the
        # routes only claim their paths; the after-request handler, which sees every
        # answer (unknown paths too), swaps in the real one: status, type, headers.
        # PySide keeps no reference to these callables: self._callbacks does.
        self._callbacks = [lambda request: "", self._after]
        for path in self._routes():
            http.route(path, self._callbacks[0])
        http.addAfterRequestHandler(self, self._callbacks[1])
        if not http.bind(tcp):
            tcp.close()
            wss.close()
            raise VotePageError(f"cannot serve on {self.address}:{self._port}")
        self._http, self._tcp, self._ws = http, tcp, wss
        self._poll.start()
        log.info("vote page for %s at %s", self.desk.session.name, self.url)

    def stop(self) -> None:
        """Stop serving: close every socket, forget the code and every token."""
        if not self.running:
            return
        self._poll.stop()
        self._push_soon.stop()
        self.desk.close()
        for socket in list(self._sockets):
            socket.close(QWebSocketProtocol.CloseCode.CloseCodeGoingAway, "the session ended")
        self._sockets.clear()
        self._sent.clear()
        assert self._tcp is not None and self._ws is not None and self._http is not None
        self._ws.close()
        self._tcp.close()
        for obj in (self._ws, self._tcp, self._http):
            obj.deleteLater()
        self._http = self._tcp = self._ws = None
        log.info("vote page for %s stopped", self.desk.session.name)
        self.stopped.emit()

    # -- the shared screen's side

    def set_current(self, case_id: str) -> None:
        """Follow the shared screen to ``case_id``; pages move with it."""
        self.desk.set_current(case_id)
        self.push()

    def push(self) -> None:
        """Send each page the current state if it changed since it was last sent."""
        if not self.running:
            return
        state = self.desk.state()
        public = self.desk.public_state(state)
        text = json.dumps(public, sort_keys=True)
        if text != self._last_public:
            self._last_public = text
            self.changed.emit(public)
        for socket, token in list(self._sockets.items()):
            try:
                message = json.dumps(self.desk.page_state(token, state=state), sort_keys=True)
            except RoomVoteError:
                socket.close(QWebSocketProtocol.CloseCode.CloseCodePolicyViolated, "not joined")
                continue
            if self._sent.get(socket) != message:
                self._sent[socket] = message
                socket.sendTextMessage(message)

    # -- HTTP

    def _routes(self) -> dict[str, Callable[[QHttpServerRequest], QHttpServerResponse]]:
        return {
            "/": self._get_static,
            "/page.js": self._get_static,
            "/page.css": self._get_static,
            "/api/join": self._join,
            "/api/state": self._state,
            "/api/vote": self._vote,
        }

    def _after(self, *args: object) -> None:
        request = next((a for a in args if isinstance(a, QHttpServerRequest)), None)
        response = next((a for a in args if isinstance(a, QHttpServerResponse)), None)
        if request is None or response is None:
            return
        handler = self._routes().get(request.url().path(), _not_found)
        answer = self._handle(request, handler)
        self._secure(answer)
        response.swap(answer)

    def _secure(self, response: QHttpServerResponse) -> None:
        headers = response.headers()
        ws_origin = f"ws://{url_host(self.address)}:{self.ws_port}"
        for name, value in (
            (
                "Content-Security-Policy",
                f"default-src 'self'; connect-src 'self' {ws_origin}; img-src 'self';"
                " style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'none';"
                " frame-ancestors 'none'",
            ),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
            ("X-Frame-Options", "DENY"),
        ):
            headers.append(name, value)
        response.setHeaders(headers)

    def _handle(
        self,
        request: QHttpServerRequest,
        handler: Callable[[QHttpServerRequest], QHttpServerResponse],
    ) -> QHttpServerResponse:
        address = request.remoteAddress().toString()
        try:
            self.desk.admit(address)
            host = _header(request, "host")
            if host != f"{url_host(self.address)}:{self.port}":
                # another name for this address (DNS rebinding): not our page
                raise RoomVoteError(RoomVoteProblem.WRONG_HOST, f"this page is not {host!r}")
            return handler(request)
        except RoomVoteError as error:
            response = _json(error.to_json(), Status(error.status))
            if error.problem is RoomVoteProblem.RATE_LIMITED:
                headers = response.headers()
                headers.append("Retry-After", str(self.desk.retry_after(address)))
                response.setHeaders(headers)
            return response
        except Exception:  # a bug must not take the app down; the participant sees 500
            log.exception("vote page request %s failed", request.url().path())
            return _json(
                {"error": "internal", "message": "the app could not answer"},
                Status.InternalServerError,
            )

    def _token(self, request: QHttpServerRequest) -> str | None:
        return vote_token_from_cookie(_header(request, "cookie"))

    def _get_static(self, request: QHttpServerRequest) -> QHttpServerResponse:
        _method(request, Method.Get)
        body, mime = self._static[request.url().path()]
        return QHttpServerResponse(QByteArray(mime.encode()), QByteArray(body), Status.Ok)

    def _join(self, request: QHttpServerRequest) -> QHttpServerResponse:
        _method(request, Method.Post)
        _same_origin(request, self.origin)
        token, answer = self.desk.join(
            request.remoteAddress().toString(), bytes(request.body().data())
        )
        response = _json(answer, Status.Ok)
        if token is not None:
            headers = response.headers()
            headers.append("Set-Cookie", vote_token_cookie(token))
            response.setHeaders(headers)
        return response

    def _state(self, request: QHttpServerRequest) -> QHttpServerResponse:
        _method(request, Method.Get)
        page = self.desk.page_state(self._token(request))
        page["ws_port"] = self.ws_port
        return _json(page, Status.Ok)

    def _vote(self, request: QHttpServerRequest) -> QHttpServerResponse:
        _method(request, Method.Post)
        _same_origin(request, self.origin)
        page = self.desk.vote(self._token(request), bytes(request.body().data()))
        page["ws_port"] = self.ws_port
        if not self._push_soon.isActive():  # once for a burst of votes, after the answers
            self._push_soon.start()
        return _json(page, Status.Ok)

    # -- WebSocket

    def _on_socket(self) -> None:
        assert self._ws is not None
        while self._ws.hasPendingConnections():
            socket = self._ws.nextPendingConnection()
            socket.setParent(self)
            socket.disconnected.connect(lambda s=socket: self._forget(s))
            reason = self._refuse_socket(socket)
            if reason:
                socket.close(QWebSocketProtocol.CloseCode.CloseCodePolicyViolated, reason)
                continue
            token = vote_token_from_cookie(
                bytes(socket.request().rawHeader("Cookie").data()).decode("latin-1")
            )
            assert token is not None
            self._sockets[socket] = token
            self.push()
            state = self.desk.page_state(token)
            message = json.dumps(state, sort_keys=True)
            if self._sent.get(socket) != message:
                self._sent[socket] = message
                socket.sendTextMessage(message)

    def _refuse_socket(self, socket: QWebSocket) -> str:
        """Why a new socket is turned away ("" to keep it)."""
        try:
            self.desk.admit(socket.peerAddress().toString())
        except RoomVoteError as error:
            return error.problem.value
        if socket.origin() != self.origin:
            return "wrong-origin"
        if len(self._sockets) >= MAX_SOCKETS:
            return "too-many-connections"
        cookie = bytes(socket.request().rawHeader("Cookie").data()).decode("latin-1")
        try:
            self.desk.check_token(vote_token_from_cookie(cookie))
        except RoomVoteError as error:
            return error.problem.value
        return ""

    def _forget(self, socket: QWebSocket) -> None:
        self._sockets.pop(socket, None)
        self._sent.pop(socket, None)
        socket.deleteLater()


def _not_found(request: QHttpServerRequest) -> QHttpServerResponse:
    raise RoomVoteError(RoomVoteProblem.NOT_FOUND, "there is no such page")


def _json(data: dict[str, Any], status: Status) -> QHttpServerResponse:
    return QHttpServerResponse(
        QByteArray(b"application/json"), QByteArray(json.dumps(data).encode()), status
    )


def _method(request: QHttpServerRequest, method: QHttpServerRequest.Method) -> None:
    if request.method() != method:
        raise RoomVoteError(
            RoomVoteProblem.WRONG_METHOD,
            f"{request.url().path()} answers {'GET' if method == Method.Get else 'POST'} only",
        )


def _same_origin(request: QHttpServerRequest, origin: str) -> None:
    """A browser names the page that sent a POST; only our own page may."""
    sent = _header(request, "origin")
    if sent and sent != origin:
        raise RoomVoteError(RoomVoteProblem.WRONG_ORIGIN, "requests come from the vote page only")
