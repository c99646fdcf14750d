"""The [web] and [privacy] sections: read, or one line naming the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, settings_from_mapping

BASE = Path("/srv/voix")


def test_web_and_privacy_are_read() -> None:
    settings = settings_from_mapping(
        {
            "web": {"public_url": "https://voix.example.org/", "listen": "127.0.0.1:8081"},
            "privacy": {"listen_details": True},
        },
        {},
        BASE,
    )
    assert settings.web is not None
    assert settings.web.public_url == "https://voix.example.org"
    assert (settings.web.listen_host, settings.web.listen_port) == ("127.0.0.1", 8081)
    assert settings.privacy.listen_details is True
    assert settings_from_mapping({}, {}, BASE).web is None
    assert settings_from_mapping({}, {}, BASE).privacy.listen_details is False


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"web": {"public_url": "voix.example.org"}}, "[web] public_url"),
        ({"web": {"public_url": "https://v.example.org", "listen": "8080"}}, "[web] listen"),
        ({"privacy": {"listen_details": "oui"}}, "[privacy] listen_details"),
    ],
)
def test_a_bad_value_names_its_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(raw, {}, BASE)
    assert caught.value.key == key
