"""Channel credentials sealed at rest: a database dump or backup holds no usable token.

Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key
derived from ``CAREDESK_SECRETS_KEY`` (or, when that is unset, ``CAREDESK_SECRET_KEY``). The key is
process-wide deployment configuration, like the database URL: every process of one desk must be
given the same one. To rotate, set the new key and list the old ones in
``CAREDESK_PREVIOUS_SECRETS_KEYS``; ``caredesk channels reseal`` then re-seals every account.

A stored value is ``{"sealed": "<token>"}``. Rows written before sealing existed are plain JSON
objects and are read as they are (and sealed on their next write, or by ``reseal``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from caredesk.config import get_settings
from caredesk.kit.errors import Misconfigured

SEALED = "sealed"


class SecretsUnreadable(Misconfigured):
    """Sealed with a key this process does not have (HTTP 503: a webhook sender retries)."""


def _fernet_key(passphrase: str) -> bytes:
    # A fixed, purpose-bound derivation: the cookie-signing key and this one never coincide.
    digest = hashlib.sha256(b"caredesk-secrets-v1\x00" + passphrase.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=8)
def _box(current: str, previous: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in (current, *previous)])


def _configured() -> MultiFernet:
    settings = get_settings()
    current = settings.secrets_key or settings.secret_key
    return _box(current, tuple(settings.previous_secrets_keys))


def seal(values: dict[str, Any]) -> dict[str, str]:
    """Seal a mapping of secrets (an empty mapping stays empty, so "no secrets" is visible)."""
    if not values:
        return {}
    payload = json.dumps(values, separators=(",", ":"), sort_keys=True).encode()
    return {SEALED: _configured().encrypt(payload).decode("ascii")}


def unseal(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The secrets in a stored value; plain (legacy) objects are returned unchanged."""
    if not stored:
        return {}
    token = stored.get(SEALED)
    if not isinstance(token, str) or len(stored) != 1:
        return dict(stored)
    try:
        opened = json.loads(_configured().decrypt(token.encode("ascii")))
    except InvalidToken as exc:
        raise SecretsUnreadable(
            "channel secrets were sealed with another key: set CAREDESK_SECRETS_KEY (or list "
            "the old one in CAREDESK_PREVIOUS_SECRETS_KEYS) as when they were saved"
        ) from exc
    if not isinstance(opened, dict):
        raise SecretsUnreadable("sealed channel secrets are not an object")
    return opened


def is_sealed_with_current_key(stored: dict[str, Any] | None) -> bool:
    """True when ``stored`` needs no re-sealing (sealed, and under the current key)."""
    if not stored:
        return True
    token = stored.get(SEALED)
    if not isinstance(token, str) or len(stored) != 1:
        return False
    settings = get_settings()
    current = Fernet(_fernet_key(settings.secrets_key or settings.secret_key))
    try:
        current.decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True
