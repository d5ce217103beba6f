"""The load test's room: 50 participants in a process of their own (so their threads do
not compete with the app's GUI thread for the GIL), each from its own loopback address.

``python -m tests.vote_load_client HOST PORT CODE N`` then, one command a line on stdin:
``join`` (everyone joins) or ``vote CASE ROUND`` (everyone votes at once; participant i
votes ``LABELS[(i + ROUND) % 3]``). Each command answers one line: the statuses, as JSON.
"""

from __future__ import annotations

import http.client
import json
import sys
from concurrent.futures import ThreadPoolExecutor

LABELS = ["vh_remove", "vh_age_restrict", "no_violation"]


def main() -> None:
    host, port, code, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    cookies = [""] * count
    origin = f"http://{host}:{port}"

    def post(i: int, path: str, body: dict[str, object]) -> int:
        connection = http.client.HTTPConnection(
            host, port, timeout=60, source_address=(f"127.0.0.{i + 2}", 0)
        )
        headers = {"Origin": origin, "Content-Type": "application/json"}
        if cookies[i]:
            headers["Cookie"] = cookies[i]
        try:
            connection.request("POST", path, json.dumps(body).encode(), headers)
            response = connection.getresponse()
            response.read()
            cookie = response.getheader("Set-Cookie")
            if cookie:
                cookies[i] = cookie.split(";", 1)[0]
            return response.status
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        for line in sys.stdin:
            words = line.split()
            if words[0] == "join":
                bodies = [{"code": code, "name": f"P{i:02d}"} for i in range(count)]
                path = "/api/join"
            else:
                case, n = words[1], int(words[2])
                bodies = [{"case_id": case, "label": LABELS[(i + n) % 3]} for i in range(count)]
                path = "/api/vote"
            statuses = list(pool.map(lambda i, p=path, b=bodies: post(i, p, b[i]), range(count)))
            print(json.dumps(statuses), flush=True)


if __name__ == "__main__":
    main()
