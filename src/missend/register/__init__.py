"""The breach register (GDPR Art. 33(5)): incidents, their 72-hour clock, reports and notices."""

from missend.register.model import (
    ActionKind,
    Incident,
    IncidentAction,
    Level,
    NewIncident,
    Source,
    Status,
)
from missend.register.repository import (
    IncidentNotFound,
    InvalidChange,
    Register,
    VersionConflict,
)

__all__ = [
    "ActionKind",
    "Incident",
    "IncidentAction",
    "IncidentNotFound",
    "InvalidChange",
    "Level",
    "NewIncident",
    "Register",
    "Source",
    "Status",
    "VersionConflict",
]
