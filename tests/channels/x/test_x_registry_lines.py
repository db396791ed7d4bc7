import importlib

import pytest

from caredesk.channels.base import ChannelAdapter

MODULES = {
    "x": "caredesk.channels.x.adapter",
    "mastodon": "caredesk.channels.mastodon.adapter",
    "meta": "caredesk.channels.meta.adapter",
    "email": "caredesk.channels.email.adapter",
}


@pytest.mark.parametrize(("kind", "module"), MODULES.items())
def test_each_plugin_module_exposes_an_adapter_of_its_kind(kind, module):
    adapter: ChannelAdapter = importlib.import_module(module).ADAPTER
    assert adapter.kind == kind
    for method in ("handshake", "verify", "parse", "fetch", "send"):
        assert callable(getattr(adapter, method))
