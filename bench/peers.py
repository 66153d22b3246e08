"""Real protocol peers on loopback, for the delivery bench and the tests (tests/support/peers.py re-exports
them).

- SMTPPeer: an aiosmtpd SMTP server (optionally with AUTH) that keeps every accepted message; its DATA answers
  can be scripted ("451 …", "550 …").
- RobotPeer: an HTTP server that answers like DingTalk (/robot/send), WeCom (/cgi-bin/webhook/send), Feishu
  (/open-apis/bot/v2/hook/TOKEN) group robots and like an office gateway (/gateway/…). It checks DingTalk 加签
  signatures and keywords, enforces the robots' per-minute limits on its own clock, and its answers can be
  scripted per token: success, an error code, an HTTP status, or a sleep past the client's timeout. A mode per
  token (or "*" for all) answers every request alike until cleared: hang, fail, rate-limit, reject.
  Its log (`received`) is the ground truth of the fault campaign: each request is logged as it arrives, before
  any sleep, so a request whose sender died or timed out while the robot was answering is on record as taken.
- FakeClock: an aware clock that only moves when told to (its `sleep` advances it).
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# ------------------------------------------------------------------------------------------------- clock


class FakeClock:
    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2024, 3, 4, 1, 0, tzinfo=UTC)  # 09:00 Asia/Shanghai, a Monday
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0.0, **delta) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds, **delta)
            return self._now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------------------------- SMTP


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


class _SMTPHandler:
    def __init__(self, peer: SMTPPeer):
        self.peer = peer

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.peer.lock:
            scripted = self.peer.replies.popleft() if self.peer.replies else None
            if scripted is None or scripted.startswith("250"):
                login = session.auth_data if isinstance(session.auth_data, str) else None
                self.peer.messages.append(
                    ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content), login)
                )
        return scripted or "250 2.0.0 OK queued"


class SMTPPeer:
    def __init__(self, users: dict[str, str] | None = None):
        self.users = users
        self.messages: list[ReceivedMail] = []
        self.replies: deque[str] = deque()
        self.logins: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.host = "127.0.0.1"
        self.port = free_port()
        kwargs: dict = {}
        if users is not None:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False}
        self.controller = Controller(_SMTPHandler(self), hostname=self.host, port=self.port, **kwargs)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        with self.lock:
            self.logins.append((login, password))
        ok = self.users is not None and self.users.get(login) == password
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    def script(self, *replies: str) -> None:
        with self.lock:
            self.replies.extend(replies)

    def url(
        self,
        to: str,
        sender: str = "duban@gov.example.cn",
        user: str | None = None,
        password: str | None = None,
    ) -> str:
        auth = f"{user}:{password}@" if user else ""
        return f"mailto://{auth}{self.host}:{self.port}?to={to}&from={sender}"

    def __enter__(self) -> SMTPPeer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


# ------------------------------------------------------------------------------------------------- robots


@dataclass
class Reply:
    status: int = 200
    body: dict | str | None = None  # None: the kind's success answer
    delay: float = 0.0

    @classmethod
    def ok(cls) -> Reply:
        return cls()

    @classmethod
    def code(cls, code: int, message: str = "error", field_name: str = "errcode") -> Reply:
        if field_name == "code":
            return cls(body={"code": code, "msg": message, "data": {}})
        return cls(body={"errcode": code, "errmsg": message})

    @classmethod
    def http(cls, status: int, text: str = "server error") -> Reply:
        return cls(status=status, body=text)

    @classmethod
    def slow(cls, seconds: float) -> Reply:
        return cls(delay=seconds)


# The robot's standing moods in the fault campaign.
MODES = {
    "hang": Reply.slow(3.0),  # takes it, answers after the client gave up
    "fail": Reply.http(500),
    "rate_limit": Reply.code(130101, "send too fast, exceed 20 times per minute"),
    "reject": Reply.code(310000, "keywords not in content"),
}


@dataclass
class Received:
    kind: str  # dingtalk | wecom | feishu | gateway
    token: str
    path: str
    query: dict[str, str]
    body: dict | None
    raw: bytes
    headers: dict[str, str]
    at: datetime | None
    answer: dict | str | None = None
    status: int = 200


SUCCESS = {
    "dingtalk": {"errcode": 0, "errmsg": "ok"}, "wecom": {"errcode": 0, "errmsg": "ok"},
    "feishu": {"code": 0, "msg": "success", "data": {}}, "gateway": {"ok": True}}
OVER_LIMIT = {
    "dingtalk": {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
    "wecom": {"errcode": 45009, "errmsg": "api freq out of limit"},
    "feishu": {"code": 11232, "msg": "frequency limited", "data": {}},
}


def dingtalk_expected_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class RobotPeer:
    def __init__(self, clock: Callable[[], datetime] | None = None):
        self.clock = clock
        self.received: list[Received] = []
        self.scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self.modes: dict[str, Reply] = {}  # token (or "*") → how every request is answered, until removed
        self.dingtalk_secrets: dict[str, str] = {}
        self.dingtalk_keywords: dict[str, str] = {}
        self.limits: dict[str, int] = {"dingtalk": 20, "wecom": 20, "feishu": 100}
        self.over_limit_answers = 0
        self.fail_every: int | None = None  # answer HTTP 500 to every n-th request (a flaky server)
        self._requests = 0
        self._window: dict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *_args):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, answer, delay = peer._answer(self.path, raw, dict(self.headers))
                if delay:
                    time.sleep(delay)
                data = (
                    json.dumps(answer, ensure_ascii=False) if isinstance(answer, dict) else str(answer)
                ).encode()
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header(
                        "Content-Type",
                        "application/json; charset=utf-8" if isinstance(answer, dict) else "text/plain",
                    )
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def settings_overrides(self) -> dict:
        return {
            "dingtalk_endpoint": f"{self.url}/robot/send",
            "wecom_endpoint": f"{self.url}/cgi-bin/webhook/send",
            "feishu_endpoint": f"{self.url}/open-apis/bot/v2/hook",
        }

    def script(self, token: str, *replies: Reply) -> None:
        with self.lock:
            self.scripts[token].extend(replies)

    def of(self, kind: str, token: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.kind == kind and (token is None or r.token == token)]

    def _answer(self, path: str, raw: bytes, headers: dict) -> tuple[int, dict | str, float]:
        split = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        if split.path == "/robot/send":
            kind, token = "dingtalk", query.get("access_token", "")
        elif split.path == "/cgi-bin/webhook/send":
            kind, token = "wecom", query.get("key", "")
        elif split.path.startswith("/open-apis/bot/v2/hook/"):
            kind, token = "feishu", unquote(split.path.rsplit("/", 1)[1])
        else:
            kind, token = "gateway", split.path
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        now = self.clock() if self.clock else None
        record = Received(kind, token, split.path, query, body, raw, headers, now)
        with self.lock:
            self.received.append(record)
            self._requests += 1
            if self.fail_every and self._requests % self.fail_every == 0:
                record.answer, record.status = "flaky", 500
                return 500, "flaky", 0.0
            scripted = self.scripts[token].popleft() if self.scripts.get(token) else None
            scripted = scripted or self.modes.get(token) or self.modes.get("*")
            if scripted is not None:
                answer = scripted.body if scripted.body is not None else SUCCESS[kind]
                record.answer, record.status = answer, scripted.status
                return scripted.status, answer, scripted.delay
            answer = self._emulate(kind, token, query, body, now)
            record.answer = answer
            return 200, answer, 0.0

    def _emulate(self, kind: str, token: str, query: dict, body: dict | None, now: datetime | None) -> dict:
        if kind == "dingtalk":
            secret = self.dingtalk_secrets.get(token)
            if secret is not None:
                timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
                if not timestamp or sign != dingtalk_expected_sign(secret, timestamp):
                    return {
                        "errcode": 310000,
                        "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
                    }
                if now is not None and abs(int(timestamp) - now.timestamp() * 1000) > 3600_000:
                    return {"errcode": 310000, "errmsg": "invalid timestamp"}
            keyword = self.dingtalk_keywords.get(token)
            if keyword is not None and keyword not in json.dumps(body, ensure_ascii=False):
                return {"errcode": 310000, "errmsg": "keywords not in content"}
        limit = self.limits.get(kind)
        if limit and now is not None:
            window = self._window[(kind, token)]
            while window and window[0] <= now - timedelta(minutes=1):
                window.popleft()
            if len(window) >= limit:
                self.over_limit_answers += 1
                return OVER_LIMIT[kind]
            window.append(now)
        return SUCCESS[kind]

    def __enter__(self) -> RobotPeer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
