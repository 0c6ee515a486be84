"""Personal data in a message: identifiers, how many people, special categories, and recipients."""

from __future__ import annotations

from missend.detectors.personal_data.detector import PersonalData, PersonalDataSettings
from missend.detectors.personal_data.scanner import Scanner, ScanResult, default_recognizers

__all__ = ["PersonalData", "PersonalDataSettings", "ScanResult", "Scanner", "default_recognizers"]
