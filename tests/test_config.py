"""One configuration file for the engine and the services; a wrong value stops start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from missend.config import Config, ConfigError, listen_address, load
from missend.verdict import Action


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "missend.toml"
    path.write_text(text)
    return path


def test_a_policy_file_is_a_configuration_file(tmp_path: Path) -> None:
    config = load(
        write(
            tmp_path,
            'internal_domains = ["x.example"]\n[actions.exposed-recipients]\nhigh = "block"\n',
        )
    )
    assert config.policy.internal_domains == ("x.example",)
    assert config.policy.action_for("exposed-recipients", 0.9) == Action.BLOCK
    assert config.smtp == Config().smtp


def test_service_tables_are_read_and_typed(tmp_path: Path) -> None:
    config = load(
        write(
            tmp_path,
            '[smtp]\nlisten = "0.0.0.0:2525"\nmax-message-size = 1000\n'
            '[upstream]\nhost = "mx.example"\nport = 587\nstarttls = true\n'
            '[delay]\nseconds = 30\n[store]\nurl = "sqlite:///x.db"\n',
        )
    )
    assert config.smtp.listen == "0.0.0.0:2525"
    assert config.smtp.max_message_size == 1000
    assert (config.upstream.host, config.upstream.port, config.upstream.starttls) == (
        "mx.example",
        587,
        True,
    )
    assert config.delay.seconds == 30
    assert config.store.url == "sqlite:///x.db"


def test_flags_override_the_file_only_where_given(tmp_path: Path) -> None:
    config = load(write(tmp_path, '[upstream]\nhost = "mx.example"\nport = 587\n'))
    out = config.with_overrides(upstream={"host": None, "port": 2526})
    assert (out.upstream.host, out.upstream.port) == ("mx.example", 2526)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[smtp]\nlisten = 25", "smtp.listen"),
        ("[upstream]\nport = 'smtp'", "upstream.port"),
        ("[upstream]\nstarttls = 'yes'", "upstream.starttls"),
        ("[smtp]\nlisen = 'x'", "smtp.lisen"),
        ("[milter]\non_error = 'shrug'", "milter.on_error"),
        ("[smtp]\nrequire_tls = true", "require_tls"),
        ("[relay]\nhost = 'x'", "relay"),
        ("[actions.exposed-recipients]\nhigh = 'later'", "actions.exposed-recipients.high"),
        ("[delay]\nseconds = -1", "delay.seconds"),
        ("[store]\ntimeout = 0", "store.timeout"),
        ("[store]\ntimeout = 'soon'", "store.timeout"),
    ],
)
def test_bad_values_name_their_place(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace(".", r"\.")):
        load(write(tmp_path, text))


def test_listen_addresses() -> None:
    assert listen_address("127.0.0.1:2525", 25) == ("127.0.0.1", 2525)
    assert listen_address("[::1]:2525", 25) == ("::1", 2525)
    assert listen_address("localhost", 25) == ("localhost", 25)
    with pytest.raises(ConfigError):
        listen_address("host:99999", 25)
