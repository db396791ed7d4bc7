"""Identifiers that leave the database: idempotency keys, public tokens, references."""

from __future__ import annotations

import hashlib
import secrets


def new_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def stable_key(*parts: object) -> str:
    """A deterministic key: the same inputs always give the same key (idempotency)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return digest[:40]


def conversation_reference(prefix: str, number: int) -> str:
    return f"{prefix.upper()}-{number:06d}"
