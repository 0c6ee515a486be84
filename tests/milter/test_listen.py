"""Listen addresses in Postfix's notation, checked at start-up."""

from __future__ import annotations

import pytest

from missend.config import ConfigError
from missend.milter.listen import Listen, parse_listen


@pytest.mark.parametrize(
    ("value", "expected", "shown"),
    [
        (
            "unix:/run/missend/milter.sock",
            Listen("unix", path="/run/missend/milter.sock"),
            "unix:/run/missend/milter.sock",
        ),
        ("local:/tmp/m.sock", Listen("unix", path="/tmp/m.sock"), "unix:/tmp/m.sock"),
        ("/tmp/m.sock", Listen("unix", path="/tmp/m.sock"), "unix:/tmp/m.sock"),
        ("inet:127.0.0.1:8891", Listen("inet", host="127.0.0.1", port=8891), "inet:127.0.0.1:8891"),
        ("inet:8891@10.0.0.5", Listen("inet", host="10.0.0.5", port=8891), "inet:10.0.0.5:8891"),
        ("inet:[::1]:8891", Listen("inet6", host="::1", port=8891), "inet:[::1]:8891"),
        ("inet::8891", Listen("inet", host="127.0.0.1", port=8891), "inet:127.0.0.1:8891"),
    ],
)
def test_postfix_and_sendmail_notations_are_understood_and_shown_in_postfix_notation(
    value: str, expected: Listen, shown: str
) -> None:
    parsed = parse_listen(value)
    assert parsed == expected
    assert str(parsed) == shown


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("milter.sock", "expected unix:/path"),
        ("unix:relative.sock", "must be absolute"),
        ("tcp:127.0.0.1:25", "unknown kind"),
        ("inet:127.0.0.1", "expected inet:HOST:PORT"),
        ("inet:127.0.0.1:0", "port must be"),
        ("inet:127.0.0.1:smtp", "port must be"),
        ("inet:127.0.0.1:70000", "port must be"),
    ],
)
def test_a_wrong_address_stops_start_up_with_the_reason(value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_listen(value)
