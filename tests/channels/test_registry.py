import pytest

from caredesk.channels import registry
from caredesk.channels.base import WebhookRejected, WebhookRequest
from caredesk.kit.errors import NotFound

KINDS = {
    "x": "x",
    "mastodon": "mastodon",
    "meta": "meta",
    "facebook": "meta",
    "instagram": "meta",
    "email": "email",
    "generic": "generic",
    "sandbox": "sandbox",
    "webform": "webform",
}


@pytest.mark.parametrize(("kind", "adapter_kind"), KINDS.items())
def test_every_kind_resolves_to_an_adapter_with_the_uniform_interface(kind, adapter_kind):
    adapter = registry.get_adapter(kind)
    assert adapter.kind == adapter_kind
    for method in registry.INTERFACE:
        assert callable(getattr(adapter, method))


def test_known_kinds_lists_all_and_unknown_kind_is_a_clear_404():
    assert set(KINDS) <= set(registry.known_kinds())
    with pytest.raises(NotFound, match=r"unknown channel kind 'myspace'; known: .*webform"):
        registry.get_adapter("myspace")


def test_a_plugin_missing_a_method_is_refused():
    registry.register_plugin("broken", "tests.channels.broken_plugin")
    try:
        with pytest.raises(TypeError, match="lacks send"):
            registry.get_adapter("broken")
    finally:
        registry._PLUGINS.pop("broken", None)


def test_polling_kinds_are_the_ones_whose_fetch_reads_a_network():
    assert {"x", "mastodon", "email"} == registry.POLLING_KINDS


def test_webform_refuses_webhook_deliveries():
    request = WebhookRequest("POST", {}, {}, b"{}")
    with pytest.raises(WebhookRejected) as exc:
        registry.get_adapter("webform").verify(request, {})
    assert exc.value.status_code == 404
