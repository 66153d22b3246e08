"""Delivery: the outbox and apprise notifiers, channels, rate limits, secrets and the delivery ledger."""

from schedule import lazy_surface

# A name loads its module on first use (PEP 562, schedule.surface): a command pays only for what it uses.
_SURFACE = {
    "": ("crashpoints", "inflight", "ledger"),
    "ledger": ("list_deliveries",),
    "apprise_notifier": ("AppriseNotifier",),
    "channels": (
        "DingTalkChannel", "EmailChannel", "InvalidChannel", "channel_kind", "dingtalk_sign", "feishu_sign",
        "fit_bytes", "mask_url", "parse_channel", "pointer_for",
    ),
    "outbox": ("OutboxNotifier",),
    "ratelimit": ("DEFAULT_LIMITS", "Limit", "RateLimiter"),
    "secrets": ("REDACTOR", "SecretResolver", "SecretUnavailable", "block_name", "load_prefect_secret"),
}
__getattr__, __dir__ = lazy_surface(__name__, _SURFACE)

__all__ = [
    "crashpoints", "inflight", "ledger",
    "AppriseNotifier", "block_name", "channel_kind", "DEFAULT_LIMITS", "dingtalk_sign", "DingTalkChannel",
    "EmailChannel", "feishu_sign", "fit_bytes", "InvalidChannel", "Limit", "list_deliveries",
    "load_prefect_secret", "mask_url", "OutboxNotifier", "parse_channel", "pointer_for", "RateLimiter",
    "REDACTOR", "SecretResolver", "SecretUnavailable"]
