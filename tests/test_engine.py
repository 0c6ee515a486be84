"""The engine: detectors from a registry, all findings collected, the worst action wins."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from missend.detectors.base import CheckContext, Detector, Finding
from missend.detectors.registry import Registry
from missend.engine import Engine
from missend.testing import message
from missend.verdict import Action


class Always(Detector):
    name = "always"

    def check(self, ctx: CheckContext) -> Sequence[Finding]:
        return [Finding(self.name, 0.6, "t", "e"), Finding(self.name, 0.9, "t2", "e2")]


class Broken(Detector):
    name = "broken"

    def check(self, ctx: CheckContext) -> Sequence[Finding]:
        raise RuntimeError("boom")


def registry(*classes: type[Detector]) -> Registry:
    r = Registry()
    for cls in classes:
        r.register(cls)
    return r


def test_the_engine_knows_detectors_only_through_the_registry() -> None:
    v = Engine(registry=registry(Always)).check(message("a@x.example", ["b@y.example"]))
    assert [d.finding.title for d in v.findings] == ["t2", "t"]
    assert v.action == Action.HOLD
    assert 0.9 < v.risk < 1.0


def test_a_failing_detector_becomes_a_finding_and_the_others_still_run() -> None:
    v = Engine(registry=registry(Broken, Always)).check(message("a@x.example", ["b@y.example"]))
    detectors = [d.finding.detector for d in v.findings]
    assert "uninspectable" in detectors
    assert "always" in detectors
    assert "boom" not in json.dumps(v.to_dict())


def test_verdict_json_has_stable_field_names() -> None:
    v = Engine().check(message("a@gov.example", [f"p{i}@gmail.com" for i in range(20)]))
    d = v.to_dict()
    assert set(d) == {"risk", "action", "sender", "message_id", "recipients", "findings", "fixes"}
    f = d["findings"][0]
    assert {"detector", "severity", "recipients", "parts", "explanation", "fix", "action"} <= set(f)
    json.dumps(d)


def test_registering_two_detectors_under_one_name_is_refused() -> None:
    class Other(Always):
        pass

    with pytest.raises(ValueError, match="always"):
        registry(Always).register(Other)


def test_clean_message_is_allowed() -> None:
    v = Engine().check(message("a@x.example", ["b@x.example"]))
    assert v.action == Action.ALLOW
    assert v.risk == 0.0
