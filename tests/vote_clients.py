"""Real clients of the vote page for tests: HTTP from worker threads (the Qt loop keeps
running in the test's thread, serving them) and QWebSocket in the test's thread."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from PySide6.QtCore import QUrl
from PySide6.QtNetwork import QNetworkRequest
from PySide6.QtWebSockets import QWebSocket
from pytestqt.qtbot import QtBot

from qa_desktop.ui.vote_page.host import VotePageHost
from qa_desktop.ui.vote_page.server import VotePageServer

Served = VotePageServer | VotePageHost

T = TypeVar("T")
WAIT_MS = 20_000


@dataclass
class Answer:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def in_thread(qtbot: QtBot, work: Callable[[], T], timeout_ms: int = WAIT_MS) -> T:
    """Run blocking client work in a thread while the Qt loop runs here; its result."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = work()
        except BaseException as error:  # handed back to the test
            box["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=timeout_ms)
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


@dataclass
class Client:
    """A participant's browser without the browser: keeps its cookie, speaks HTTP."""

    server: Served
    source: str = "127.0.0.1"
    """The client's own address (any of 127/8 on Linux: separate rate-limit buckets)."""
    cookie: str = ""
    extra_headers: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Blocking: call from a thread (see :func:`in_thread`)."""
        connection = http.client.HTTPConnection(
            self.server.address, self.server.port, timeout=15, source_address=(self.source, 0)
        )
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        sent = {"Origin": self.server.origin, **self.extra_headers, **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        if data is not None:
            sent["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            answer = Answer(
                response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
            )
        finally:
            connection.close()
        cookie = answer.headers.get("set-cookie", "")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return answer

    def join(self, name: str, code: str | None = None) -> Answer:
        return self.request("POST", "/api/join", {"code": code or self.server.code, "name": name})

    def vote(self, case_id: str, label: str, citations: list[str] | None = None) -> Answer:
        return self.request(
            "POST",
            "/api/vote",
            {"case_id": case_id, "label": label, "citations": citations or []},
        )

    def state(self) -> Answer:
        return self.request("GET", "/api/state")


class Listener:
    """A QWebSocket on the page's push channel, collecting the states it is sent."""

    def __init__(self, server: Served, cookie: str, origin: str | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.closed: list[str] = []
        self.socket = QWebSocket()
        self.socket.textMessageReceived.connect(lambda m: self.messages.append(json.loads(m)))
        self.socket.disconnected.connect(
            lambda: self.closed.append(self.socket.closeReason() or "closed")
        )
        request = QNetworkRequest(QUrl(f"ws://{server.address}:{server.ws_port}/"))
        if cookie:
            request.setRawHeader(b"Cookie", cookie.encode())
        request.setRawHeader(b"Origin", (origin or server.origin).encode())
        self.socket.open(request)

    def last(self) -> dict[str, Any]:
        return self.messages[-1]
