"""The misdirect evaluation on small organisations: a few senders' mail instead of all of it.

    python benchmarks/evaluate_subsets.py ../shared/corpus/enron-sent [--every 9] \
        [--offsets 3,6,8] [--json out.json]

With all 90 Enron senders the model trains on about 35,000 messages; an organisation that
starts with ten people's archives gives it a tenth of that, and a setting that is harmless at
full size can cost many points there. Each subset takes every `every`-th archive in name order,
starting at one offset, and is evaluated on its own exactly as `missend evaluate` would (its own
training, its own thresholds).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from missend.evaluation.clean import archives_in
from missend.evaluation.misdirect import evaluate

_RATES = ("0.005", "0.01", "0.02")


def _row(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "learned_messages": report["learned_messages"],
        "test_messages": report["test_messages"],
        "flagged_at": report["flagged_at"],
        "top1_at": report["top1_at"],
        "clean_warned_at": {r: report["model"][r]["clean_warned"] for r in _RATES},
        "held_out_flagged_at": {r: report["held_out"][r]["flagged"] for r in _RATES},
        "rules_flagged_at": report["rules"]["flagged_at"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archives", nargs="+", type=Path)
    ap.add_argument("--every", type=int, default=9)
    ap.add_argument("--offsets", default="3,6,8")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    every = sorted(archives_in(args.archives))
    out: list[dict[str, Any]] = []
    for offset in (int(o) for o in args.offsets.split(",")):
        subset = every[offset :: args.every]
        report, _ = evaluate(subset, seed=args.seed, workers=args.workers)
        row = {"offset": offset, "archives": [p.name for p in subset], **_row(report)}
        out.append(row)
        flagged = " / ".join(f"{row['flagged_at'][r]:.1%}" for r in _RATES)
        print(
            f"offset {offset}: {len(subset)} archives, {row['learned_messages']} learned, "
            f"{row['test_messages']} tested; flagged at 0.5/1/2% warned {flagged}; "
            f"ranked first at 1% {row['top1_at']['0.01']:.1%}; "
            f"held-out recipes at 1% {row['held_out_flagged_at']['0.01']:.1%}; "
            f"clean warned at 1% {row['clean_warned_at']['0.01']:.2%}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
