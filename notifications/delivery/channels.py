"""Channels: a unit's apprise URL turned into something that sends one message and says what really happened.

Supported URLs (apprise's forms):

    mailto://[user[:password]@]host[:port][/to…][?to=…&from=…&name=…&cc=…&bcc=…&mode=ssl|starttls]
    mailtos://…                          (TLS: STARTTLS by default, mode=ssl for port 465)
    dingtalk://TOKEN[/SECRET][/MOBILE…][?keyword=督办]   (SECRET: the robot's 加签 signing secret, SEC…)
    dingtalk://SECRET@TOKEN[/MOBILE…]    (apprise's own form; MOBILE: members to @ by their mobile number)
    wecombot://KEY                       (the WeCom group robot; apprise's wecom:// is PushPlus, not WeCom)
    feishu://TOKEN[/SECRET]              (SECRET: the robot's signature-check secret, a duban extension)
    json://host[:port]/path, jsons://…   (an office's own gateway, sent through apprise)

The robots are posted to directly with httpx, to the endpoint in settings (DUBAN_DINGTALK_ENDPOINT, …; private
政务钉钉 deployments run their own), and their answer body is read: these robots answer HTTP 200 with a
non-zero errcode/code when they reject a message, which apprise would report as success. Email is parsed with
apprise's own mailto parser (so provider defaults such as smtp.qq.com apply) and sent with smtplib, so that
the message is multipart/alternative with attachments, and the SMTP answer is known.

Nothing here reads the wall clock: `deliver` is given `now`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qsl, quote, unquote

from notifications.delivery.secrets import ENV_REF, MASK, REDACTOR, is_single_reference, redact
from notifications.message import Message
from schedule import text

if TYPE_CHECKING:
    import httpx

Kind = Literal["email", "dingtalk", "wecombot", "feishu", "json"]

SCHEMES: dict[str, Kind] = {
    "mailto": "email", "mailtos": "email", "dingtalk": "dingtalk", "wecombot": "wecombot",
    "feishu": "feishu", "json": "json", "jsons": "json"}

# Byte limits of a message body, leaving room for the JSON envelope.
DINGTALK_MAX_BYTES = 20000
WECOM_MAX_BYTES = 4096  # "markdown内容，最长不超过4096个字节"
FEISHU_MAX_BYTES = 18000  # Feishu caps the whole request body at 20 KB
# Answer codes. Over-limit codes are transient and block the robot in the limiter for ten minutes.
DINGTALK_OVER_LIMIT = {130101, 90030, 410100}
DINGTALK_TRANSIENT = DINGTALK_OVER_LIMIT | {-1}  # -1: 系统繁忙
WECOM_OVER_LIMIT = {45009}
WECOM_TRANSIENT = WECOM_OVER_LIMIT | {-1}
FEISHU_OVER_LIMIT = {9499, 11232}
FEISHU_TRANSIENT = FEISHU_OVER_LIMIT

# A query parameter (or apprise `+header` / `-param` / `:payload` argument) whose name contains one of these
# holds a secret; its value is masked.
SECRET_NAME_PARTS = (
    "token", "key", "secret", "pass", "pwd", "sign", "auth", "credential", "ticket", "cookie")


MOBILE = re.compile(r"\+?\d{5,15}")  # a path segment of a dingtalk:// URL that names a member to @


class InvalidChannel(ValueError):
    """A notify URL duban cannot use. The message quotes the masked URL only."""


@dataclass(frozen=True)
class Outcome:
    """What one attempt on one channel came to.

    status: ok (the far end verifiably accepted it), transient (try again later: it provably did not get it or
    refused it for now), permanent (the channel is broken: bad token, keyword or signature mismatch,
    authentication refused), unknown (the request left but no answer came back: it may have been
    processed)."""

    status: Literal["ok", "transient", "permanent", "unknown"]
    code: str | None = None
    reason: str | None = None
    over_limit: bool = False


@dataclass
class SendContext:
    http: httpx.Client
    timeout: float
    dingtalk_endpoint: str
    wecom_endpoint: str
    feishu_endpoint: str


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


# ---------------------------------------------------------------------------------------------------- masking


def _mask_token(value: str) -> str:
    """`${VAR}` stays (a name is no secret); a literal shows its first and last character only."""
    if ENV_REF.fullmatch(value):
        return value
    if ENV_REF.search(value) or len(value) < 8:
        return MASK
    return f"{value[0]}...{value[-1]}"


def _looks_like_token(segment: str) -> bool:
    plain = unquote(segment)
    if ENV_REF.fullmatch(plain):
        return False
    return len(plain) >= 24 or (
        len(plain) >= 16 and bool(re.search(r"\d", plain)) and bool(re.search(r"[A-Za-z]", plain))
    )


def is_secret_name(name: str) -> bool:
    name = name.lstrip("+-:").lower()
    return any(part in name for part in SECRET_NAME_PARTS)


def _mask_query(query: str) -> str:
    """Mask the values of secret-looking parameters; keep the rest as written (no `+` → space decoding)."""
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        if eq and is_secret_name(unquote(name)) and not ENV_REF.fullmatch(unquote(value)):
            value = MASK
        pairs.append(f"{unquote(name)}{eq}{unquote(value)}" if eq else unquote(name))
    return "?" + "&".join(pairs)


def _split(url: str) -> tuple[str, str, str, str]:
    """scheme, netloc, path, query, without urllib's lower-casing of the host (tokens live there)."""
    scheme, _, rest = url.partition("://")
    rest, _, _fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    return scheme.lower(), netloc, slash + path, query


MASKED_MAX = 300  # the width of the channel columns


def mask_url(url: str) -> str:
    """The privacy form of a notify URL, safe to store, log and print (at most 300 characters).

    Works on the URL as written (`${VAR}` names are shown, they are not secrets) and on an expanded one
    (literal tokens show their first and last character, passwords and signing secrets never show)."""
    masked = _mask(url.strip())
    return masked if len(masked) <= MASKED_MAX else masked[: MASKED_MAX - 1] + "…"


def _mask(url: str) -> str:
    if is_single_reference(url):
        return url
    if "://" not in url:
        return MASK
    scheme, netloc, path, query = _split(url)
    kind = SCHEMES.get(scheme)
    if kind in ("dingtalk", "wecombot", "feishu"):
        secret_part, at, token = netloc.rpartition("@")
        masked = f"{scheme}://"
        if at:
            secret_part = unquote(secret_part)
            masked += (secret_part if ENV_REF.fullmatch(secret_part) else MASK) + "@"
        masked += _mask_token(unquote(token))
        for segment in (unquote(s) for s in path.split("/") if s):
            if MOBILE.fullmatch(segment):
                masked += f"/{segment[:3]}****{segment[-4:]}" if len(segment) >= 8 else "/****"
            else:
                masked += "/" + (segment if ENV_REF.fullmatch(segment) else MASK)
        keyword = dict(parse_qsl(query)).get("keyword")
        return masked + (f"?keyword={keyword}" if keyword else "")
    if kind in ("email", "json"):
        userinfo, at, hostport = netloc.rpartition("@")
        shown = hostport
        if at:
            user, colon, password = userinfo.partition(":")
            user = unquote(user)
            if colon:
                password = unquote(password)
                user += ":" + (password if ENV_REF.fullmatch(password) else MASK)
            shown = f"{user}@{hostport}"
        segments = path.split("/")
        if kind == "json":
            segments = [_mask_token(unquote(s)) if _looks_like_token(s) else s for s in segments]
        return f"{scheme}://{shown}{'/'.join(segments)}{_mask_query(query)}"
    try:
        import apprise

        plugin = apprise.Apprise.instantiate(url)
        if plugin is not None:
            return plugin.url(privacy=True)
    except Exception:  # noqa: BLE001
        pass
    return f"{scheme}://{MASK}"


def channel_kind(url: str) -> Kind | None:
    if "://" not in url:
        return None
    return SCHEMES.get(url.split("://", 1)[0].strip().lower())


# ---------------------------------------------------------------------------------------------------- texts


def fit_bytes(text: str, limit: int, pointer: str) -> str:
    """`text` cut to `limit` UTF-8 bytes at a line break where possible, ending with the pointer line."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    tail = "\n\n" + pointer
    budget = max(0, limit - len(tail.encode("utf-8")))
    cut = data[:budget].decode("utf-8", "ignore")
    line_end = cut.rfind("\n")
    if line_end > len(cut) // 2:
        cut = cut[:line_end]
    return cut.rstrip() + tail


def pointer_for(language: str, contact: str = "", link: str | None = None) -> str:
    """The line that ends a cut message: with the unit's portal link (which must survive the cut) it points
    there, else to the coordinator."""
    if link:
        return f"{text(language, 'delivery.pointer_linked')}\n{link}"
    return text(language, "delivery.pointer", contact=contact or text(language, "digest_text.contact"))


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")) (URL-encoded by the
    caller)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu signature check: base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=b""))."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


# ----------------------------------------------------------------------------------------------------
# channels


@dataclass(eq=False)
class Channel:
    """One expanded notify URL. `repr` shows the masked form only."""

    kind: Kind
    masked: str
    key: str  # identity for the ledger and channel health (hash; changes when token or signing secret change)
    limit_key: str  # identity for the rate limiter (hash of the robot / SMTP account)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.masked}>"

    def deliver(self, message: Message, now: datetime, ctx: SendContext) -> Outcome:  # pragma: no cover
        raise NotImplementedError


def _robot_outcome(
    response: httpx.Response, code_field: str, transient: set[int], over_limit: set[int]
) -> Outcome:
    status = response.status_code
    if status == 429:
        return Outcome("transient", "http_429", "HTTP 429 Too Many Requests", over_limit=True)
    if status >= 500:
        return Outcome("transient", f"http_{status}", f"HTTP {status}")
    if status >= 400:
        return Outcome("permanent", f"http_{status}", f"HTTP {status}")
    if status >= 300:
        return Outcome("permanent", f"http_{status}", f"HTTP {status} (redirect: check the endpoint)")
    try:
        body = response.json()
    except ValueError:
        return Outcome("transient", "bad_response", f"HTTP {status} without a JSON answer")
    if not isinstance(body, dict):
        return Outcome("transient", "bad_response", f"HTTP {status} with an unexpected JSON answer")
    raw = body.get(code_field, body.get("StatusCode"))
    message = body.get("errmsg") or body.get("msg") or body.get("StatusMessage") or ""
    try:
        code = int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return Outcome("transient", "bad_response", f"unreadable {code_field}: {str(raw)[:80]}")
    if code is None:
        return Outcome("transient", "bad_response", f"answer without {code_field}")
    if code == 0:
        return Outcome("ok", "0", str(message)[:200] or "ok")
    reason = redact(str(message)[:500])
    if code in transient:
        return Outcome("transient", str(code), reason, over_limit=code in over_limit)
    return Outcome("permanent", str(code), reason)


def _post(ctx: SendContext, url: str, params: dict[str, str], payload: dict) -> httpx.Response | Outcome:
    import httpx  # loaded by the robots' own sends: the outbox (mask_url) needs none of it

    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    try:
        return ctx.http.post(
            url, params=params, content=body, headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=ctx.timeout)
    except (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError) as exc:  # it never left
        return Outcome("transient", "connect", redact(f"{type(exc).__name__}: {exc}"[:300]))
    except httpx.TimeoutException as exc:  # it left: the robot may have taken it before the answer was late
        return Outcome("unknown", "timeout", f"no answer within {ctx.timeout:g} s ({type(exc).__name__})")
    except httpx.TransportError as exc:  # the connection broke after the request was written
        return Outcome("unknown", "connection_lost", redact(f"{type(exc).__name__}: {exc}"[:300]))


def _robot_post(ctx: SendContext, url: str, params: dict[str, str], payload: dict, code_field: str,
                transient: set[int], over_limit: set[int]) -> Outcome:
    """A robot's POST and what its answer means (its code in `code_field`)."""
    answer = _post(ctx, url, params, payload)
    if isinstance(answer, Outcome):
        return answer
    return _robot_outcome(answer, code_field, transient, over_limit)


@dataclass(eq=False)
class DingTalkChannel(Channel):
    token: str = field(default="", repr=False)
    secret: str | None = field(default=None, repr=False)
    keyword: str | None = None
    mobiles: tuple[str, ...] = ()  # members to @ (their mobile numbers), as apprise's dingtalk:// takes them

    def payload(self, message: Message) -> dict:
        title = message.subject
        body = message.markdown or message.text
        if self.keyword and self.keyword not in title + body:
            title = text(message.language, "delivery.keyword", keyword=self.keyword, text=title)
            body = text(message.language, "delivery.keyword", keyword=self.keyword, text=body)
        mentions = " ".join(f"@{m}" for m in self.mobiles)
        budget = DINGTALK_MAX_BYTES - (len(mentions.encode()) + 2 if mentions else 0)
        body = fit_bytes(body, budget, pointer_for(message.language, message.contact, message.link))
        payload: dict = {"msgtype": "markdown", "markdown": {"title": title, "text": body}}
        if self.mobiles:
            payload["markdown"]["text"] = f"{body}\n\n{mentions}"
            payload["at"] = {"atMobiles": list(self.mobiles), "isAtAll": False}
        return payload

    def deliver(self, message: Message, now: datetime, ctx: SendContext) -> Outcome:
        params = {"access_token": self.token}
        if self.secret:
            timestamp = int(now.timestamp() * 1000)
            params["timestamp"] = str(timestamp)
            params["sign"] = dingtalk_sign(self.secret, timestamp)
        return _robot_post(ctx, ctx.dingtalk_endpoint, params, self.payload(message),
                           "errcode", DINGTALK_TRANSIENT, DINGTALK_OVER_LIMIT)


@dataclass(eq=False)
class WeComChannel(Channel):
    token: str = field(default="", repr=False)

    def payload(self, message: Message) -> dict:
        content = message.markdown or message.text
        return {
            "msgtype": "markdown",
            "markdown": {"content": fit_bytes(content, WECOM_MAX_BYTES,
                                              pointer_for(message.language, message.contact, message.link))},
        }

    def deliver(self, message: Message, now: datetime, ctx: SendContext) -> Outcome:
        return _robot_post(ctx, ctx.wecom_endpoint, {"key": self.token}, self.payload(message),
                           "errcode", WECOM_TRANSIENT, WECOM_OVER_LIMIT)


@dataclass(eq=False)
class FeishuChannel(Channel):
    token: str = field(default="", repr=False)
    secret: str | None = field(default=None, repr=False)

    def payload(self, message: Message, now: datetime) -> dict:
        body = f"{message.subject}\n\n{message.text}" if message.subject else message.text
        payload: dict = {
            "msg_type": "text",
            "content": {"text": fit_bytes(body, FEISHU_MAX_BYTES,
                                          pointer_for(message.language, message.contact, message.link))},
        }
        if self.secret:
            timestamp = int(now.timestamp())
            payload = {"timestamp": str(timestamp), "sign": feishu_sign(self.secret, timestamp), **payload}
        return payload

    def deliver(self, message: Message, now: datetime, ctx: SendContext) -> Outcome:
        url = f"{ctx.feishu_endpoint.rstrip('/')}/{quote(self.token, safe='')}"
        return _robot_post(ctx, url, {}, self.payload(message, now),
                           "code", FEISHU_TRANSIENT, FEISHU_OVER_LIMIT)


@functools.cache
def _tls(verify: bool) -> ssl.SSLContext:
    """One TLS context per verification mode (building one reads the CA store: ~20 ms)."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(eq=False)
class EmailChannel(Channel):
    smtp_host: str = ""
    port: int = 25
    secure_mode: str = "insecure"  # insecure | starttls | ssl
    verify: bool = True
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    from_name: str | None = None
    from_addr: str = ""
    to: tuple[tuple[str | None, str], ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    connect_timeout: float | None = None

    def build(self, message: Message, now: datetime) -> EmailMessage:
        mail = EmailMessage(policy=SMTP_POLICY)
        mail["Subject"] = message.subject
        default_name = text(message.language, "delivery.mail_from")
        mail["From"] = formataddr((self.from_name or default_name, self.from_addr), charset="utf-8")
        mail["To"] = ", ".join(formataddr((name or "", addr), charset="utf-8") for name, addr in self.to)
        if self.cc:
            mail["Cc"] = ", ".join(self.cc)
        if self.reply_to:
            mail["Reply-To"] = ", ".join(self.reply_to)
        mail["Date"] = format_datetime(now)
        domain = self.from_addr.rpartition("@")[2] or "duban.invalid"
        mail["Message-ID"] = f"<{message.message_id}.{self.key[:8]}@{domain}>"
        mail["X-Duban-Message"] = message.message_id
        mail.set_content(message.text or message.subject, charset="utf-8")
        if message.html:
            mail.add_alternative(message.html, subtype="html", charset="utf-8")
        for attachment in message.attachments:
            maintype, _, subtype = attachment.mime.partition("/")
            mail.add_attachment(
                attachment.content, maintype=maintype or "application", subtype=subtype or "octet-stream",
                filename=attachment.filename)
        return mail

    def recipients(self) -> list[str]:
        return [addr for _name, addr in self.to] + list(self.cc) + list(self.bcc)

    def deliver(self, message: Message, now: datetime, ctx: SendContext) -> Outcome:
        mail = self.build(message, now)
        timeout = min(ctx.timeout, self.connect_timeout) if self.connect_timeout else ctx.timeout
        client: smtplib.SMTP | None = None
        try:
            if self.secure_mode == "ssl":
                client = smtplib.SMTP_SSL(
                    self.smtp_host, self.port, timeout=timeout, context=_tls(self.verify)
                )
            else:
                client = smtplib.SMTP(self.smtp_host, self.port, timeout=timeout)
                if self.secure_mode == "starttls":
                    client.starttls(context=_tls(self.verify))
            if self.user and self.password:
                client.login(self.user, self.password)
            refused = client.sendmail(self.from_addr, self.recipients(), mail.as_bytes())
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _msg in exc.recipients.values()})
            code = codes[-1] if codes else 550
            status = "transient" if all(400 <= c < 500 for c in codes) else "permanent"
            return Outcome(status, f"smtp_{code}", f"all {len(exc.recipients)} recipients refused")
        except smtplib.SMTPAuthenticationError as exc:
            return Outcome("permanent", f"smtp_{exc.smtp_code}", "SMTP authentication refused")
        except smtplib.SMTPResponseException as exc:
            answer = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            status = "transient" if 400 <= exc.smtp_code < 500 else "permanent"
            return Outcome(status, f"smtp_{exc.smtp_code}", redact(answer[:300]))
        except smtplib.SMTPNotSupportedError as exc:
            return Outcome("permanent", "smtp_unsupported", redact(str(exc)[:300]))
        except TimeoutError:
            return Outcome("transient", "timeout", f"no SMTP answer within {timeout:g} s")
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome("transient", "connect", redact(f"{type(exc).__name__}: {exc}"[:300]))
        finally:
            if client is not None:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        if refused:
            return Outcome(
                "ok", "250", f"accepted; refused for {len(refused)} of {len(self.recipients())} recipients"
            )
        return Outcome("ok", "250", "accepted by the SMTP server")


@dataclass(eq=False)
class JsonChannel(Channel):
    url: str = field(default="", repr=False)

    def deliver(self, message: Message, now: datetime, ctx: SendContext) -> Outcome:
        import apprise

        plugin = apprise.Apprise.instantiate(self.url)
        if plugin is None:
            return Outcome("permanent", "invalid_url", "apprise could not load the URL")
        plugin.socket_connect_timeout = ctx.timeout
        plugin.socket_read_timeout = ctx.timeout
        ok = plugin.notify(body=message.text or message.subject, title=message.subject)
        if ok:
            return Outcome("ok", "200", "accepted by the gateway (HTTP 2xx)")
        return Outcome("transient", "gateway", "the gateway did not answer HTTP 2xx (apprise)")


def _robot_parts(url: str) -> tuple[str, str | None, list[str], dict[str, str]]:
    """token, signing secret, mobiles to @, query. Both `dingtalk://TOKEN/SECRET` and apprise's
    `dingtalk://SECRET@TOKEN/MOBILE…` are read; a path segment of digits is a mobile number to @."""
    _scheme, netloc, path, query = _split(url)
    secret_part, at, token = netloc.rpartition("@")
    secret = unquote(secret_part) if at else None
    token = unquote(token)
    segments = [unquote(s) for s in path.split("/") if s]
    if not token and segments:  # dingtalk:///TOKEN
        token, segments = segments[0], segments[1:]
    mobiles = []
    for segment in segments:
        if MOBILE.fullmatch(segment):
            mobiles.append(segment)
        elif secret is None:
            secret = segment
    return token, secret or None, mobiles, dict(parse_qsl(query))


def parse_channel(
    expanded: str, *, written: str | None = None, masked: str | None = None, endpoints: dict | None = None
) -> Channel:
    """A Channel for an expanded URL. `written` is the URL as stored (for the masked form and the identity),
    `endpoints` maps kind → robot endpoint (part of the robot's identity). Registers every secret part with
    the log redactor. Raises InvalidChannel."""
    written = written or expanded
    shown = masked or (mask_url(expanded) if is_single_reference(written) else mask_url(written))
    try:
        return _parse(expanded, written, shown, endpoints or {})
    except InvalidChannel:
        raise
    except Exception as exc:  # noqa: BLE001 - a library's message may quote the URL: never pass it on
        raise InvalidChannel(f"{shown}: cannot be parsed ({type(exc).__name__})") from None


def _parse(expanded: str, written: str, shown: str, endpoints: dict) -> Channel:
    kind = channel_kind(expanded)
    if kind is None:
        raise InvalidChannel(
            f"{shown}: unsupported scheme (use mailto, mailtos, dingtalk, wecombot, feishu, json)"
        )
    if kind in ("dingtalk", "wecombot", "feishu"):
        return _robot_channel(kind, expanded, shown, endpoints.get(kind, ""))
    import apprise

    plugin = apprise.Apprise.instantiate(expanded)
    if plugin is None:
        raise InvalidChannel(f"{shown}: apprise cannot parse this URL")
    REDACTOR.register(getattr(plugin, "password", None))
    if kind == "json":
        return _json_channel(plugin, expanded, written, shown)
    return _email_channel(plugin, expanded, written, shown)


def _robot_channel(kind: str, expanded: str, shown: str, endpoint: str) -> Channel:
    token, secret, mobiles, params = _robot_parts(expanded)
    if not token:
        raise InvalidChannel(f"{shown}: no robot token")
    REDACTOR.register(token, secret)
    limit_key = _sha(kind, endpoint, token)
    key = _sha(kind, endpoint, token, secret or "")
    if kind == "dingtalk":
        return DingTalkChannel(
            kind, shown, key, limit_key, token=token, secret=secret, keyword=params.get("keyword"),
            mobiles=tuple(mobiles))
    if kind == "wecombot":
        return WeComChannel(kind, shown, key, limit_key, token=token)
    return FeishuChannel(kind, shown, key, limit_key, token=token, secret=secret)


def _json_channel(plugin, expanded: str, written: str, shown: str) -> Channel:
    for name, value in {**getattr(plugin, "params", {}), **getattr(plugin, "headers", {})}.items():
        if is_secret_name(str(name)):
            REDACTOR.register(str(value))
    bare = expanded
    password = getattr(plugin, "password", None)
    if password:
        bare = bare.replace(quote(password, safe=""), "").replace(password, "")
    return JsonChannel(
        "json", shown, _sha("json", written, bare),
        _sha("json", str(plugin.host), str(plugin.port), plugin.fullpath), url=expanded)


def _email_channel(plugin, expanded: str, written: str, shown: str) -> Channel:
    from_name, from_addr = plugin.from_addr
    to = tuple((name or None, addr) for name, addr in plugin.targets)
    if not to:
        raise InvalidChannel(f"{shown}: no recipient address")
    if isinstance(from_name, str) and from_name == getattr(plugin, "app_id", None):
        from_name = None
    cc = tuple(sorted(plugin.cc))
    bcc = tuple(sorted(plugin.bcc))
    connect_timeout = float(dict(parse_qsl(_split(expanded)[3])).get("cto") or 0) or None
    recipients = ",".join(addr for _n, addr in to) + "|" + ",".join(cc + bcc)
    return EmailChannel(
        "email",
        shown,
        _sha(
            "email", written, plugin.smtp_host, str(plugin.port), str(plugin.user or ""), from_addr,
            recipients),
        _sha("email", plugin.smtp_host, str(plugin.port), str(plugin.user or "")),
        smtp_host=plugin.smtp_host,
        port=int(plugin.port),
        secure_mode=str(plugin.secure_mode),
        verify=bool(plugin.verify_certificate),
        user=plugin.user or None,
        password=plugin.password or None,
        from_name=from_name or None,
        from_addr=from_addr,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=tuple(sorted(plugin.reply_to)),
        connect_timeout=connect_timeout,
    )
