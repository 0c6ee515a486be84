"""Bounds on how much of a message is inspected, so no input can exhaust time or memory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_message_bytes: int = 60 * 1024 * 1024
    max_header_bytes: int = 2 * 1024 * 1024
    max_parts: int = 500
    max_attachment_bytes: int = 30 * 1024 * 1024
    max_text_chars: int = 2_000_000
    max_total_text_chars: int = 8_000_000
    max_archive_members: int = 200
    max_inflated_bytes: int = 100 * 1024 * 1024
    max_compression_ratio: float = 200.0
    attachment_seconds: float = 5.0
    max_pages: int = 500
    max_rows: int = 200_000
