"""Before/after learning throughput, interleaved: two source trees learn the same archive in turn.

This machine's speed moves by a fifth within an hour, so a change is judged only against the old
code run alongside it. Each run is a fresh process learning into a fresh SQLite file; its CPU
seconds (`time.process_time`) give messages per CPU-second.

    git worktree add /tmp/before HEAD~1
    python benchmarks/ab_learn.py --before /tmp/before/src --messages 1000000 --senders 5000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_learn import generate

AFTER = Path(__file__).resolve().parents[1] / "src"
_RUN = """
import json, sys, time
from missend.history.store import Store
from missend.learning.ingest import learn_archive
import missend
start = time.process_time()
with Store.open("sqlite:///" + sys.argv[2]) as store:
    seen = learn_archive(store, sys.argv[1], workers=0).seen
cpu = time.process_time() - start
print(json.dumps({"code": missend.__file__, "messages": seen, "cpu": cpu, "per_cpu_second": seen / cpu}))
"""


def run(tree: Path, archive: Path, db: Path) -> dict[str, object]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", _RUN, str(archive), str(db)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, object] = json.loads(out.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the old code's src folder")
    parser.add_argument("--after", type=Path, default=AFTER)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--senders", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="ab-learn-") as tmp:
        archive = Path(tmp) / "generated.mbox.gz"
        generate(archive, args.messages, args.senders)
        for round_ in range(1, args.rounds + 1):
            for label, tree in (("before", args.before), ("after", args.after)):
                result = {"round": round_, "label": label, **run(tree, archive, Path(tmp) / "h.db")}
                results.append(result)
                print(f"round {round_} {label:6} {result['per_cpu_second']:,.0f} msg/CPU-s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
