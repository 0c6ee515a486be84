"""Holds the detector classes; the engine asks it for instances and knows none by name."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from missend.detectors.base import Detector


class Registry:
    def __init__(self) -> None:
        self._classes: dict[str, type[Detector]] = {}

    def register(self, cls: type[Detector]) -> type[Detector]:
        """Usable as a class decorator; a second class under the same name is a mistake."""
        if cls.name in self._classes and self._classes[cls.name] is not cls:
            raise ValueError(f"a detector named {cls.name!r} is already registered")
        self._classes[cls.name] = cls
        return cls

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def names(self) -> list[str]:
        return list(self._classes)

    def classes(self) -> list[type[Detector]]:
        return list(self._classes.values())

    def create(
        self,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        enabled: Mapping[str, bool] | None = None,
    ) -> list[Detector]:
        settings = settings or {}
        enabled = enabled or {}
        out: list[Detector] = []
        for name, cls in self._classes.items():
            if not enabled.get(name, True):
                continue
            values = settings.get(name, {})
            out.append(cls(cls.settings_class.from_mapping(values, f"detectors.{name}")))
        return out
