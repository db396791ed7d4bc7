import pytest

from caredesk.config import get_settings
from caredesk.kit import secretbox


@pytest.fixture
def keys(monkeypatch):
    def use(current: str, previous: str = "[]") -> None:
        monkeypatch.setenv("CAREDESK_SECRETS_KEY", current)
        monkeypatch.setenv("CAREDESK_PREVIOUS_SECRETS_KEYS", previous)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_sealed_value_round_trips_and_shows_no_plaintext(keys):
    keys("key-one-for-tests")
    stored = secretbox.seal({"bearer_token": "AAAA-secret-token"})
    assert list(stored) == ["sealed"]
    assert "AAAA-secret-token" not in stored["sealed"]
    assert secretbox.unseal(stored) == {"bearer_token": "AAAA-secret-token"}


def test_no_secrets_stay_an_empty_object():
    assert secretbox.seal({}) == {}
    assert secretbox.unseal({}) == {} and secretbox.unseal(None) == {}


def test_rows_from_before_sealing_are_read_as_they_are():
    legacy = {"smtp_password": "pw", "sealed": "not alone, so not a sealed value"}
    assert secretbox.unseal(legacy) == legacy
    assert not secretbox.is_sealed_with_current_key(legacy)


def test_wrong_key_is_a_clear_error_and_previous_keys_still_open(keys):
    keys("old-key-for-tests")
    stored = secretbox.seal({"app_secret": "s"})
    keys("new-key-for-tests")
    with pytest.raises(secretbox.SecretsUnreadable, match="CAREDESK_SECRETS_KEY"):
        secretbox.unseal(stored)
    keys("new-key-for-tests", '["old-key-for-tests"]')
    assert secretbox.unseal(stored) == {"app_secret": "s"}
    assert not secretbox.is_sealed_with_current_key(stored)
    assert secretbox.is_sealed_with_current_key(secretbox.seal({"app_secret": "s"}))
