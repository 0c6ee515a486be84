"""What one feature adds to the misdirect model, over several training seeds, on one replay.

    python benchmarks/ablate_features.py ../shared/corpus/enron-sent --features org_together_log \
        [--seeds 0,1,2,3] [--seed 0] [--json out.json]

Training noise is about a point at 1% warned, the size of a feature's gain: one training run with
the feature and one without say nothing. The archives are replayed once (the organisation's
timeline included, as `missend evaluate` does) and the model is trained once per seed with the
features as computed and once with them held constant, which a tree booster cannot split on. The
test cases and the operating points are `missend evaluate`'s own.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from missend.evaluation.clean import archives_in
from missend.evaluation.misdirect import detector_scores, operating_points
from missend.learning.features import FEATURES
from missend.learning.replay import Replayed, replay_all, train


def _without(replayed: list[Replayed], columns: list[int]) -> list[Replayed]:
    out = []
    for r in replayed:
        xs = [_zeroed(x, columns) for x in r.train_x]
        out.append(Replayed(r.archive, xs, r.train_y, r.train_clean, r.train_scenario))
    return out


def _judge(
    replayed: list[Replayed], training: list[Replayed], seed: int, columns: list[int]
) -> dict[str, Any]:
    model = train(training, seed)
    cases = [c for r in replayed for c in r.cases]
    if columns:
        cases = [replace(c, features=_zeroed(c.features, columns)) for c in cases]
    return {k: vars(v) for k, v in operating_points(cases, detector_scores(model, cases)).items()}


def _zeroed(x: np.ndarray, columns: list[int]) -> np.ndarray:
    x = x.copy()
    x[:, columns] = 0.0
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archives", nargs="+", type=Path)
    ap.add_argument("--features", required=True, help="comma-separated names from FEATURES")
    ap.add_argument("--seeds", default="0,1,2,3", help="training seeds")
    ap.add_argument("--seed", type=int, default=0, help="seed of the simulated mis-sends")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    names = args.features.split(",")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise SystemExit(f"not features: {', '.join(unknown)}")
    columns = [FEATURES.index(n) for n in names]
    started = time.perf_counter()
    replayed = replay_all(archives_in(args.archives), 0.8, args.seed, args.workers)
    print(f"replayed in {time.perf_counter() - started:.0f} s", flush=True)
    held = _without(replayed, columns)
    runs: list[dict[str, Any]] = []
    for seed in (int(s) for s in args.seeds.split(",")):
        run = {
            "seed": seed,
            "with": _judge(replayed, replayed, seed, []),
            "without": _judge(replayed, held, seed, columns),
        }
        runs.append(run)
        print(
            f"training seed {seed}: "
            + "  ".join(
                f"{rate}: {run['with'][rate]['flagged']:.1%} with, "
                f"{run['without'][rate]['flagged']:.1%} without"
                for rate in run["with"]
            ),
            flush=True,
        )
    for rate in runs[0]["with"]:
        gains = [r["with"][rate]["flagged"] - r["without"][rate]["flagged"] for r in runs]
        print(
            f"flagged at {rate}: mean gain {np.mean(gains):+.2%} "
            f"(min {min(gains):+.2%}, max {max(gains):+.2%}) over {len(runs)} seeds"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"features": names, "seed": args.seed, "runs": runs}, indent=2)
        )


if __name__ == "__main__":
    main()
