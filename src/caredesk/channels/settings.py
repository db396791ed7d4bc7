"""What each channel kind accepts as account settings and secrets, checked before saving.

Secrets (tokens, passwords) live in ``ChannelAccount.secrets``: written through
``set-secret``/the API, never shown again, never in ``config`` and never in code. Everything
else is ``config``. Validation names the key and what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from caredesk.kit.errors import ValidationFailed

# key -> type: "str", "url", "int", "bool", "list" (list or comma-separated string).
_EMAIL_OUT = {
    "from_address": "str",
    "from_name": "str",
    "message_id_domain": "str",
    "default_subject": "str",
    "smtp_host": "str",
    "smtp_port": "int",
    "smtp_ssl": "bool",
    "smtp_starttls": "bool",
    "smtp_username": "str",
    "tls_ca_file": "str",
    "timeout": "int",
}
_COMMON = {
    "delivery_adapter": "str",
    "sandbox_path": "str",
    "poll_interval_seconds": "int",
    # "listening": what this account hears (search, keyword streams) is kept only when a
    # listening rule matches; "account" (default): posts addressed to the brand, always kept.
    "source": "str",
    # false: webhook-only account (or one without network credentials): never polled.
    "polling": "bool",
}

CONFIG_KEYS: dict[str, dict[str, str]] = {
    "x": {
        "api_base_url": "url",
        "user_id": "str",
        "search_query": "str",
        "max_pages": "int",
        "initial_pages": "int",
        "timeout": "int",
        "max_webhook_bytes": "int",
        # Filtered stream (``caredesk channels stream``); backfill_minutes needs Pro/Enterprise.
        "stream": "bool",
        "stream_backfill_minutes": "int",
    },
    "mastodon": {
        "api_base_url": "url",
        "hashtags": "list",
        "search_queries": "list",
        "reply_visibility": "str",
        "max_pages": "int",
        "timeout": "int",
        # Streaming API (user mentions + hashtags); streaming_url if on another host.
        "stream": "bool",
        "streaming_url": "url",
    },
    "meta": {"api_base_url": "url", "timeout": "int", "max_webhook_bytes": "int"},
    "email": {
        **_EMAIL_OUT,
        "address": "str",
        "imap_host": "str",
        "imap_port": "int",
        "imap_ssl": "bool",
        "imap_starttls": "bool",
        "imap_username": "str",
        "imap_mailbox": "str",
        "max_messages_per_poll": "int",
        "max_message_bytes": "int",
    },
    "generic": {"reply_url": "url", "timeout_s": "int"},
    "sandbox": {},
    "webform": {
        **_EMAIL_OUT,
        "title": "str",
        "intro": "str",
        "max_per_ip_per_hour": "int",
        "max_per_email_per_hour": "int",
        "embed_origins": "list",
    },
}
CONFIG_KEYS["facebook"] = CONFIG_KEYS["meta"]
CONFIG_KEYS["instagram"] = CONFIG_KEYS["meta"]

SECRET_KEYS: dict[str, frozenset[str]] = {
    "x": frozenset({"bearer_token", "user_access_token", "consumer_secret"}),
    "mastodon": frozenset({"access_token"}),
    "meta": frozenset({"app_secret", "verify_token", "page_access_token"}),
    "email": frozenset({"imap_password", "smtp_password"}),
    "generic": frozenset({"webhook_secret"}),
    "sandbox": frozenset(),
    "webform": frozenset({"smtp_password"}),
}
SECRET_KEYS["facebook"] = SECRET_KEYS["meta"]
SECRET_KEYS["instagram"] = SECRET_KEYS["meta"]

# Settings that must be present (in config or secrets) before the account can work, unless
# replies go through the sandbox (then only the inbound side is required).
_REQUIRED_IN: dict[str, tuple[str, ...]] = {
    "x": ("bearer_token",),
    "mastodon": ("api_base_url", "access_token"),
    "meta": ("app_secret", "verify_token", "page_access_token"),
    "email": ("imap_host", "imap_username", "imap_password"),
    "generic": ("webhook_secret",),
}
_REQUIRED_OUT: dict[str, tuple[str, ...]] = {
    "email": ("smtp_host", "from_address"),
    "generic": ("reply_url",),
    "webform": ("smtp_host", "from_address"),
}
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?")
DEFAULT_POLL_SECONDS = {"x": 120, "mastodon": 60, "email": 60}
MIN_POLL_SECONDS = 15


def known_kind(kind: str) -> str:
    kind = kind.strip().lower()
    if kind not in CONFIG_KEYS:
        raise ValidationFailed(
            f"unknown channel kind {kind!r}; choose one of {', '.join(sorted(CONFIG_KEYS))}"
        )
    return kind


def _check_value(kind: str, key: str, kind_of: str, value: Any) -> str | None:
    if value is None:
        return None
    if kind_of in ("str", "url"):
        if not isinstance(value, str):
            return f"{kind} setting {key!r} must be text"
        if kind_of == "url":
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return f"{kind} setting {key!r} must be an http(s) URL, got {value[:80]!r}"
    elif kind_of == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            return f"{kind} setting {key!r} must be a whole number"
        try:
            number = int(value)
        except ValueError:
            return f"{kind} setting {key!r} must be a whole number, got {value!r}"
        if number < 0:
            return f"{kind} setting {key!r} must not be negative"
    elif kind_of == "bool":
        ok = isinstance(value, bool) or (
            isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}
        )
        if not ok:
            return f"{kind} setting {key!r} must be true or false"
    elif kind_of == "list" and (
        not isinstance(value, str | list)
        or (isinstance(value, list) and not all(isinstance(v, str) for v in value))
    ):
        return f"{kind} setting {key!r} must be a list of text or comma-separated text"
    return None


def validate_config(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Check non-secret settings; return them (with ``int``/``bool`` strings converted)."""
    kind = known_kind(kind)
    allowed = {**CONFIG_KEYS[kind], **_COMMON}
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for key, value in config.items():
        if key in SECRET_KEYS[kind]:
            problems.append(f"{key!r} is a secret: set it with set-secret, not in config")
            continue
        if key not in allowed:
            problems.append(f"unknown {kind} setting {key!r}; known: {', '.join(sorted(allowed))}")
            continue
        if allowed[key] == "str" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # ids typed on a command line read as numbers
        problem = _check_value(kind, key, allowed[key], value)
        if problem:
            problems.append(problem)
            continue
        if allowed[key] == "int" and value is not None:
            value = int(value)
        elif allowed[key] == "bool" and isinstance(value, str):
            value = value.lower() in {"true", "1", "yes"}
        clean[key] = value
    adapter = clean.get("delivery_adapter")
    if adapter not in (None, "sandbox", kind):
        problems.append("'delivery_adapter' may only be 'sandbox' (or the account's own kind)")
    if clean.get("source") not in (None, "account", "listening"):
        problems.append("'source' must be 'account' or 'listening'")
    interval = clean.get("poll_interval_seconds")
    if interval is not None and interval < MIN_POLL_SECONDS:
        problems.append(f"'poll_interval_seconds' must be at least {MIN_POLL_SECONDS}")
    for origin in _listed(clean.get("embed_origins") or []):
        # Strict: the value goes into a Content-Security-Policy header.
        if not _ORIGIN.fullmatch(origin):
            problems.append(
                "'embed_origins' entries must be origins like https://acme.example, "
                f"got {origin[:80]!r}"
            )
    if (clean.get("stream_backfill_minutes") or 0) > 5:
        problems.append("x setting 'stream_backfill_minutes' must be 0 to 5 (X's limit)")
    if kind == "x" and clean.get("user_id") and not str(clean["user_id"]).isdigit():
        problems.append("x setting 'user_id' must be the numeric account id")
    if problems:
        raise ValidationFailed("; ".join(problems))
    return clean


def _listed(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]


def validate_secret(kind: str, key: str, value: str) -> None:
    kind = known_kind(kind)
    if key not in SECRET_KEYS[kind]:
        known = ", ".join(sorted(SECRET_KEYS[kind])) or "none"
        raise ValidationFailed(f"{kind} accounts have no secret {key!r}; known: {known}")
    if not value or value != value.strip() or any(c in value for c in "\r\n\x00"):
        raise ValidationFailed(f"secret {key!r} is empty or has spaces or line breaks around it")


def missing_settings(kind: str, config: Mapping[str, Any], secrets: Mapping[str, Any]) -> list[str]:
    """Settings still needed before the account can receive and reply (shown, not enforced:
    an admin adds the account first and its secrets next)."""
    kind = known_kind(kind)
    kind = "meta" if kind in ("facebook", "instagram") else kind
    merged = {**config, **secrets}
    needed = list(_REQUIRED_IN.get(kind, ()))
    if config.get("delivery_adapter") != "sandbox":
        needed += _REQUIRED_OUT.get(kind, ())
    if kind == "x" and not (config.get("user_id") or config.get("search_query")):
        needed.append("user_id or search_query")
    return [key for key in needed if not merged.get(key)]


def adapter_config(
    config: Mapping[str, Any], secrets: Mapping[str, Any], handle: str, external_id: str | None
) -> dict[str, Any]:
    """What an adapter receives: settings, secrets and the account's identity, merged."""
    return {**config, **secrets, "handle": handle, "external_id": external_id}


def poll_interval(kind: str, config: Mapping[str, Any]) -> int:
    value = config.get("poll_interval_seconds")
    if isinstance(value, int) and value >= MIN_POLL_SECONDS:
        return value
    return DEFAULT_POLL_SECONDS.get(kind, 60)
