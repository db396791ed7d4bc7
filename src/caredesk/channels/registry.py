"""Channel plug-ins register here; the rest of the desk looks them up by kind."""

from __future__ import annotations

import importlib

from caredesk.channels.base import ChannelAdapter
from caredesk.kit.errors import NotFound

# kind -> module that defines ``ADAPTER``. Adding a network = adding a line and a sub-package.
_PLUGINS: dict[str, str] = {
    "x": "caredesk.channels.x.adapter",
    "mastodon": "caredesk.channels.mastodon.adapter",
    "meta": "caredesk.channels.meta.adapter",
    # Demo data and older accounts name the Meta surface itself; same plug-in.
    "facebook": "caredesk.channels.meta.adapter",
    "instagram": "caredesk.channels.meta.adapter",
    "email": "caredesk.channels.email.adapter",
    "generic": "caredesk.channels.generic.adapter",
    "sandbox": "caredesk.channels.sandbox.adapter",
    "webform": "caredesk.channels.webform.adapter",
}
# Kinds whose posts arrive by polling (``fetch``); the others are pushed to us by webhooks.
POLLING_KINDS = frozenset({"x", "mastodon", "email"})
# Kinds whose message ids share one namespace. A web-form conversation is answered by email, so
# the customer's emailed answer names our Message-ID while arriving on the email account.
_SHARED_IDS: tuple[frozenset[str], ...] = (frozenset({"email", "webform"}),)
# Methods every plug-in must provide (the ChannelAdapter protocol), checked on load.
INTERFACE = ("handshake", "verify", "parse", "fetch", "send")
_loaded: dict[str, ChannelAdapter] = {}


def register_plugin(kind: str, module: str) -> None:
    _PLUGINS[kind] = module
    _loaded.pop(kind, None)


def threading_kinds(kind: str) -> tuple[str, ...]:
    """The kinds whose messages a post arriving on ``kind`` may reply to (itself first)."""
    shared = next((group for group in _SHARED_IDS if kind in group), frozenset())
    return (kind, *sorted(shared - {kind}))


def known_kinds() -> list[str]:
    return sorted(_PLUGINS)


def get_adapter(kind: str) -> ChannelAdapter:
    adapter = _loaded.get(kind)
    if adapter is not None:
        return adapter
    module_name = _PLUGINS.get(kind)
    if module_name is None:
        raise NotFound(f"unknown channel kind {kind!r}; known: {', '.join(known_kinds())}")
    loaded: ChannelAdapter = importlib.import_module(module_name).ADAPTER
    missing = [name for name in INTERFACE if not callable(getattr(loaded, name, None))]
    if missing:
        raise TypeError(f"channel plug-in {module_name} lacks {', '.join(missing)}")
    adapter = loaded
    _loaded[kind] = adapter
    return adapter
