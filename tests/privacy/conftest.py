"""Address keys for the privacy tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from missend.privacy.pseudonym import AddressKeys, write_key_file


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "address.key"
    write_key_file(path)
    return path


@pytest.fixture
def keys(key_file: Path) -> AddressKeys:
    return AddressKeys.from_file(key_file)
