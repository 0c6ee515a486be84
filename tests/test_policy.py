"""Policy: defaults work with no file; a wrong file stops start-up and says where."""

from __future__ import annotations

from pathlib import Path

import pytest

from missend.detectors import default_registry
from missend.engine import Engine
from missend.policy import Policy, PolicyError
from missend.testing import message
from missend.verdict import Action

NAMES = default_registry().names()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def test_no_file_gives_the_defaults() -> None:
    assert Policy.load(None) == Policy()


def test_actions_per_detector_and_band(tmp_path: Path) -> None:
    p = Policy.load(
        write(tmp_path, '[actions.exposed-recipients]\nhigh = "block"\n[bands]\nhigh = 0.9\n'),
        NAMES,
    )
    assert p.action_for("exposed-recipients", 0.95) == Action.BLOCK
    assert p.action_for("exposed-recipients", 0.85) == Action.FIX
    assert p.action_for("exposed-recipients", 0.1) == Action.ALLOW


def test_policy_action_changes_the_verdict(tmp_path: Path) -> None:
    p = Policy.load(write(tmp_path, '[actions.exposed-recipients]\nhigh = "block"\n'), NAMES)
    to = [f"p{i}@gmail.com" for i in range(20)]
    assert Engine(p).check(message("a@gov.example", to)).action == Action.BLOCK


def test_detector_settings_reach_the_detector(tmp_path: Path) -> None:
    p = Policy.load(write(tmp_path, "[detectors.exposed-recipients]\nfree-parties = 50.0\n"), NAMES)
    to = [f"p{i}@gmail.com" for i in range(20)]
    assert Engine(p).check(message("a@gov.example", to)).action == Action.ALLOW


def test_a_detector_can_be_disabled(tmp_path: Path) -> None:
    p = Policy.load(write(tmp_path, "[detectors.exposed-recipients]\nenabled = false\n"), NAMES)
    assert "exposed-recipients" not in [d.name for d in Engine(p).detectors]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("internal_domains = 'x.example'", "internal_domains"),
        ("[actions.exposed-recipients]\nhigh = 'explode'", "actions.exposed-recipients.high"),
        ("[actions.no-such-detector]\nhigh = 'warn'", "actions.no-such-detector"),
        ("[detectors.exposed-recipients]\nscale = 'big'", "detectors.exposed-recipients.scale"),
        ("[detectors.exposed-recipients]\nnot_a_setting = 1", "not_a_setting"),
        ("[bands]\nlow = 2", "bands.low"),
        ("surprise = 1", "surprise"),
        ("[actions\nbroken", "line 1"),
    ],
)
def test_a_bad_file_is_refused_with_the_place_named(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(PolicyError, match=says.replace(".", r"\.")):
        Engine(Policy.load(write(tmp_path, text), NAMES))


def test_a_missing_file_is_an_error_not_the_defaults(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        Policy.load(tmp_path / "absent.toml")
