"""The tamper-evident audit log: every verdict, decision, release and incident change, chained."""

from missend.audit.log import AuditError, AuditLog, Entry, Verification

__all__ = ["AuditError", "AuditLog", "Entry", "Verification"]
