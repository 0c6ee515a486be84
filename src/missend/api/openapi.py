"""Write the API's OpenAPI document: `python -m missend.api.openapi docs/openapi.json`.

The checked-in copy is what client authors read; a test fails when it drifts from the app.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from missend.api.app import create_app
from missend.config import Config
from missend.history.store import Store


def spec() -> dict[str, Any]:
    """The document as the app generates it (over a throwaway store: nothing in it is data)."""
    with tempfile.TemporaryDirectory() as folder, Store(f"sqlite:///{folder}/spec.db") as store:
        return create_app(Config(), store).openapi()


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render(spec())
    if len(argv) > 1:
        Path(argv[1]).write_text(text, "utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
