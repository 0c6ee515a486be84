"""The Thunderbird add-in's Node tests (`npm test` in addons/thunderbird), run from pytest so the
README's test command covers them. They start the real API with this interpreter's missend."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ADDON = Path(__file__).resolve().parents[2] / "addons" / "thunderbird"


def test_the_add_in_logic_passes_its_node_tests_against_the_real_api() -> None:
    npm = shutil.which("npm")
    assert npm, "npm (Node.js 20 or newer) is needed for the add-in's tests"
    env = {
        **os.environ,
        "MISSEND_PYTHON": sys.executable,
        "NO_UPDATE_NOTIFIER": "1",
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
    }
    done = subprocess.run(
        [npm, "test"],
        cwd=ADDON,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-6000:]
    passed = re.search(r"^# pass (\d+)$", report, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", report, re.MULTILINE)
    assert passed, report[-3000:]
    assert failed, report[-3000:]
    assert int(failed.group(1)) == 0
    assert int(passed.group(1)) >= 13
