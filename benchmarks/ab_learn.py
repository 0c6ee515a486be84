"""Before/after learning throughput, interleaved: two source trees learn the same archive in turn.

This machine's speed moves by a fifth within an hour, so a change is judged only against the old
code run alongside it. Each run is `bench_learn.py`'s learn phase in a fresh process (importing
missend from the given tree) learning into a fresh SQLite file.

    git worktree add /tmp/before HEAD~1
    python benchmarks/ab_learn.py --before /tmp/before/src --messages 1000000 --senders 5000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_learn import generate, rates, run_phase

AFTER = Path(__file__).resolve().parents[1] / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the old code's src folder")
    parser.add_argument("--after", type=Path, default=AFTER)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--senders", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ab-learn-") as tmp:
        workdir = Path(tmp)
        archive = workdir / "generated.mbox.gz"
        generate(archive, args.messages, args.senders)
        for round_ in range(1, args.rounds + 1):
            for label, tree in (("before", args.before), ("after", args.after)):
                env = {**os.environ, "PYTHONPATH": str(tree)}
                measured = rates(run_phase("learn", archive, workdir, env), args.messages)
                results.append({"round": round_, "label": label, "tree": str(tree), **measured})
                print(
                    f"round {round_} {label:6} {measured['per_cpu_second']:,.0f} msg/CPU-s"
                    f" {measured['peak_mb']:,.0f} MB"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
