"""Secrets in notify URLs: `${VAR}` expanded at send time, and kept out of every log.

A unit's URL is stored exactly as written (`dingtalk://${MSA_DT_TOKEN}/${MSA_DT_SECRET}`). At send time each
`${VAR}` is looked up in the environment, else in the Prefect Secret block of that name (lower case, `_` →
`-`, as block names require: `MSA_DT_TOKEN` → `msa-dt-token`). Prefect is asked only when an API URL is
configured (`PREFECT_API_URL`, env or profile): Prefect's ephemeral mode would start a throw-away server (≈10
s) that holds no blocks anyway.

Every value that comes out of an expansion, and every secret part of a URL, is registered with the
process-wide `REDACTOR`, a logging filter installed on the loggers that can print a request line (httpx,
httpcore, urllib3, requests, apprise) and on duban's own. A record that contains a registered secret is
rewritten with the secret replaced by `****` before any handler sees it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MASK = "****"
# Values shorter than this are not registered for redaction: replacing "25" or "yes" in every log line would
# mangle logs without protecting anything that deserves the name secret.
MIN_SECRET_LENGTH = 6

# Loggers that can print a request line or a URL. Their child loggers are covered as they appear.
REDACTED_LOGGERS = (
    "httpx", "httpcore", "urllib3", "requests", "apprise", "smtplib", "prefect", "duban", "notifications")

log = logging.getLogger("duban.delivery.secrets")


class SecretUnavailable(Exception):
    """A `${VAR}` could be resolved neither from the environment nor from a Prefect Secret block.

    The message names the variable and the block, never a value."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"${{{name}}}: {reason}")
        self.name = name
        self.reason = reason


def block_name(var: str) -> str:
    """The Prefect block name for an environment-style variable: `MSA_DT_TOKEN` → `msa-dt-token`."""
    name = re.sub(r"[^a-z0-9-]+", "-", var.lower()).strip("-")
    return re.sub(r"-{2,}", "-", name)


def references(url: str) -> list[str]:
    """The variable names a URL refers to, in order."""
    return ENV_REF.findall(url)


def is_single_reference(url: str) -> bool:
    """True when the whole URL is one `${VAR}` (the variable holds the complete URL)."""
    return ENV_REF.fullmatch(url.strip()) is not None


def prefect_api_configured() -> bool:
    if os.environ.get("PREFECT_API_URL"):
        return True
    try:
        from prefect.settings import get_current_settings

        return bool(get_current_settings().api.url)
    except Exception:  # noqa: BLE001 - Prefect missing or mis-configured: no block lookup
        return False


def load_prefect_secret(name: str) -> str | None:
    """The value of the Prefect Secret block `name`, or None if there is no such block.

    Raises SecretUnavailable when no Prefect API is configured or reachable (never hangs on ephemeral
    mode)."""
    if not prefect_api_configured():
        raise SecretUnavailable(name, "no Prefect API configured (PREFECT_API_URL) to look up Secret blocks")
    try:
        from prefect.blocks.system import Secret
    except Exception as exc:  # noqa: BLE001
        raise SecretUnavailable(name, f"Prefect is not importable: {type(exc).__name__}") from None
    try:
        block = Secret.load(name, _sync=True)
    except ValueError as exc:
        if "Unable to find block document" in str(exc):
            return None
        raise SecretUnavailable(name, f"Prefect Secret block lookup failed: {type(exc).__name__}") from None
    except Exception as exc:  # noqa: BLE001 - connection refused, timeouts, auth: fail cleanly
        raise SecretUnavailable(name, f"Prefect API not reachable: {type(exc).__name__}") from None
    value = block.get()
    return value if isinstance(value, str) else str(value)


class SecretResolver:
    """Expands `${VAR}` from `environ` (default os.environ), else from a Prefect Secret block.

    Resolved block values are cached for the resolver's life (one notifier, one check); environment values are
    read fresh on every expansion. Every resolved value is registered with REDACTOR."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        block_loader: Callable[[str], str | None] | None = load_prefect_secret,
    ):
        self._environ = environ
        self._block_loader = block_loader
        self._cache: dict[str, str] = {}
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()

    def resolve(self, var: str) -> str:
        environ = os.environ if self._environ is None else self._environ
        value = environ.get(var)
        if value:
            REDACTOR.register(value)
            return value
        with self._lock:
            if var in self._cache:
                return self._cache[var]
            if var in self._failed:
                raise SecretUnavailable(var, self._failed[var])
        name = block_name(var)
        if self._block_loader is None:
            reason = "not set in the environment (Prefect Secret blocks not consulted)"
            with self._lock:
                self._failed[var] = reason
            raise SecretUnavailable(var, reason)
        try:
            value = self._block_loader(name)
        except SecretUnavailable as exc:
            reason = f"not set in the environment; Secret block '{name}': {exc.reason}"
            with self._lock:
                self._failed[var] = reason
            raise SecretUnavailable(var, reason) from None
        if not value:
            reason = f"not set in the environment, and no Prefect Secret block '{name}'"
            with self._lock:
                self._failed[var] = reason
            raise SecretUnavailable(var, reason)
        REDACTOR.register(value)
        with self._lock:
            self._cache[var] = value
        return value

    def expand(self, url: str) -> str:
        """The URL with every `${VAR}` replaced. A URL that is one `${VAR}` takes the value as is (the
        variable holds a whole URL); elsewhere values are percent-encoded, as a URL part must be (apprise and
        our parsers decode them again)."""
        stripped = url.strip()
        match = ENV_REF.fullmatch(stripped)
        if match:
            return self.resolve(match.group(1)).strip()
        return ENV_REF.sub(lambda m: quote(self.resolve(m.group(1)), safe=""), stripped)


class Redactor(logging.Filter):
    """A logging filter that replaces registered secrets in a record's message and traceback."""

    def __init__(self) -> None:
        super().__init__("duban-redactor")
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def register(self, *values: str | None) -> None:
        added = False
        for value in values:
            if not value or len(value) < MIN_SECRET_LENGTH:
                continue
            forms = {value, quote(value, safe=""), quote(value, safe="/:@")}
            with self._lock:
                for form in forms:
                    if form not in self._secrets:
                        self._secrets.add(form)
                        added = True
        if added:
            with self._lock:
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def register_all(self, values: Iterable[str | None]) -> None:
        self.register(*values)

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not ours to fix
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = ()
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            clean = self.redact(text)
            if clean != text:
                record.exc_text = clean
                record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR = Redactor()
_installed: set[str] = set()
_install_lock = threading.Lock()


def install_redaction() -> None:
    """Attach REDACTOR to every logger that may print a URL (idempotent; cheap enough to call per send).

    A filter on a logger sees only records logged on that very logger, so child loggers created since the last
    call (httpcore.http11, apprise plugins, …) are picked up here too."""
    names = [
        name for name in list(logging.Logger.manager.loggerDict) if name.split(".")[0] in REDACTED_LOGGERS
    ]
    names.extend(REDACTED_LOGGERS)
    with _install_lock:
        for name in names:
            if name in _installed:
                continue
            logger = logging.getLogger(name)
            if REDACTOR not in logger.filters:
                logger.addFilter(REDACTOR)
            _installed.add(name)


def redact(text: str | None) -> str | None:
    return None if text is None else REDACTOR.redact(text)
