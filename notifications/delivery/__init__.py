"""Delivery: the outbox and apprise notifiers, channels, rate limits, secrets and the delivery ledger."""

from notifications.delivery import crashpoints, inflight, ledger
from notifications.delivery.apprise_notifier import AppriseNotifier
from notifications.delivery.channels import (
    DingTalkChannel,
    EmailChannel,
    InvalidChannel,
    channel_kind,
    dingtalk_sign,
    feishu_sign,
    fit_bytes,
    mask_url,
    parse_channel,
    pointer_for,
)
from notifications.delivery.ledger import list_deliveries
from notifications.delivery.outbox import OutboxNotifier
from notifications.delivery.ratelimit import DEFAULT_LIMITS, Limit, RateLimiter
from notifications.delivery.secrets import (
    REDACTOR,
    SecretResolver,
    SecretUnavailable,
    block_name,
    load_prefect_secret,
)

__all__ = [
    "crashpoints", "inflight", "ledger",
    "AppriseNotifier", "block_name", "channel_kind", "DEFAULT_LIMITS", "dingtalk_sign", "DingTalkChannel",
    "EmailChannel", "feishu_sign", "fit_bytes", "InvalidChannel", "Limit", "list_deliveries",
    "load_prefect_secret", "mask_url", "OutboxNotifier", "parse_channel", "pointer_for", "RateLimiter",
    "REDACTOR", "SecretResolver", "SecretUnavailable"]
