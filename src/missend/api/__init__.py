"""The HTTP API for mail clients and officers: check, decide, holds, incidents, tokens, audit."""
