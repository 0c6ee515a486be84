"""The organisation's policy: what is internal, detector settings, and finding → action.

Defaults work with no file. A file that is present but wrong stops start-up with a message that
names the key or line: for a safety tool, silently falling back to defaults is failing open.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from missend.verdict import Action

BANDS = ("low", "medium", "high")

DEFAULT_ACTIONS: dict[str, dict[str, Action]] = {
    "default": {"low": Action.WARN, "medium": Action.WARN, "high": Action.HOLD},
    "exposed-recipients": {"low": Action.WARN, "medium": Action.FIX, "high": Action.FIX},
    "misdirected-recipient": {"low": Action.WARN, "medium": Action.WARN, "high": Action.HOLD},
    "personal-data": {"low": Action.ALLOW, "medium": Action.WARN, "high": Action.HOLD},
    "wrong-attachment": {"low": Action.WARN, "medium": Action.HOLD, "high": Action.HOLD},
    "uninspectable": {"low": Action.WARN, "medium": Action.WARN, "high": Action.WARN},
}


class PolicyError(ValueError):
    """The policy file is unusable; the message says where."""


@dataclass(frozen=True)
class Bands:
    """Severity at which a finding counts as low, medium or high; below `low` it is only noted."""

    low: float = 0.3
    medium: float = 0.55
    high: float = 0.8

    def band(self, severity: float) -> str | None:
        if severity >= self.high:
            return "high"
        if severity >= self.medium:
            return "medium"
        if severity >= self.low:
            return "low"
        return None


@dataclass(frozen=True)
class Policy:
    internal_domains: tuple[str, ...] = ()
    bands: Bands = field(default_factory=Bands)
    actions: Mapping[str, Mapping[str, Action]] = field(default_factory=lambda: DEFAULT_ACTIONS)
    detectors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    enabled: Mapping[str, bool] = field(default_factory=dict)

    def action_for(self, detector: str, severity: float) -> Action:
        band = self.bands.band(severity)
        if band is None:
            return Action.ALLOW
        table = (
            self.actions.get(detector) or self.actions.get("default") or DEFAULT_ACTIONS["default"]
        )
        return table.get(band, Action.WARN)

    @classmethod
    def load(cls, path: str | Path | None, known_detectors: list[str] | None = None) -> Policy:
        if path is None:
            return cls()
        try:
            data = tomllib.loads(Path(path).read_text("utf-8"))
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read the policy file ({exc.strerror})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{path}: {exc}") from exc
        try:
            return cls.from_dict(data, known_detectors)
        except (PolicyError, ValueError, TypeError) as exc:
            raise PolicyError(f"{path}: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], known_detectors: list[str] | None = None) -> Policy:
        allowed = {"internal_domains", "bands", "actions", "detectors"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise PolicyError(f"unknown key(s) {', '.join(unknown)}; expected {sorted(allowed)}")
        domains = data.get("internal_domains", [])
        if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
            raise PolicyError("internal_domains must be a list of domain names")
        bands_data = data.get("bands", {})
        if not isinstance(bands_data, dict) or set(bands_data) - set(BANDS):
            raise PolicyError(f"bands takes only {', '.join(BANDS)}")
        for key, value in bands_data.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
                raise PolicyError(f"bands.{key} must be a number from 0 to 1, got {value!r}")
        bands = Bands(**{k: float(v) for k, v in bands_data.items()})
        if not bands.low <= bands.medium <= bands.high:
            raise PolicyError("bands must satisfy low <= medium <= high")
        actions = {k: dict(v) for k, v in DEFAULT_ACTIONS.items()}
        for detector, table in (data.get("actions") or {}).items():
            where = f"actions.{detector}"
            if (
                known_detectors is not None
                and detector not in known_detectors
                and detector != "default"
            ):
                raise PolicyError(
                    f"{where}: no detector of that name (known: {', '.join(known_detectors)})"
                )
            if not isinstance(table, dict):
                raise PolicyError(f"{where} must be a table of band = action")
            merged = dict(actions.get(detector, actions["default"]))
            for band, value in table.items():
                if band not in BANDS:
                    raise PolicyError(f"{where}.{band}: bands are {', '.join(BANDS)}")
                try:
                    merged[band] = Action(value)
                except ValueError:
                    choices = ", ".join(a.value for a in Action)
                    raise PolicyError(
                        f"{where}.{band}: {value!r} is not one of {choices}"
                    ) from None
            actions[detector] = merged
        settings: dict[str, dict[str, Any]] = {}
        enabled: dict[str, bool] = {}
        for detector, table in (data.get("detectors") or {}).items():
            where = f"detectors.{detector}"
            if known_detectors is not None and detector not in known_detectors:
                raise PolicyError(
                    f"{where}: no detector of that name (known: {', '.join(known_detectors)})"
                )
            if not isinstance(table, dict):
                raise PolicyError(f"{where} must be a table")
            values = dict(table)
            flag = values.pop("enabled", True)
            if not isinstance(flag, bool):
                raise PolicyError(f"{where}.enabled must be true or false")
            enabled[detector] = flag
            settings[detector] = values
        return cls(tuple(domains), bands, actions, settings, enabled)
