"""Detectors: small named classes with one `check`; the registry is how the engine finds them."""

from __future__ import annotations

from missend.detectors.base import CheckContext, Detector, Finding, Fix, FixKind, Settings
from missend.detectors.exposed import ExposedRecipients
from missend.detectors.misdirected import MisdirectedRecipient
from missend.detectors.personal_data import PersonalData
from missend.detectors.registry import Registry
from missend.detectors.uninspectable import Uninspectable
from missend.detectors.wrong_attachment import WrongAttachment

BUILTIN: tuple[type[Detector], ...] = (
    ExposedRecipients,
    MisdirectedRecipient,
    PersonalData,
    WrongAttachment,
    Uninspectable,
)


def default_registry() -> Registry:
    """The built-in detectors, in the order their findings are usually read."""
    registry = Registry()
    for cls in BUILTIN:
        registry.register(cls)
    return registry


__all__ = [
    "CheckContext",
    "Detector",
    "Finding",
    "Fix",
    "FixKind",
    "Registry",
    "Settings",
    "default_registry",
]
