"""Keyed hashes of addresses against clear mode: same decisions? at what cost per check?

    python benchmarks/bench_privacy.py [--enron ../shared/corpus/enron-sent] [--senders 12]
        [--skip 0] [--seed 1] [--workers 2]

Takes `--senders` Enron archives (shuffled with `--seed`, after skipping `--skip`), trains the
misdirect model on them, and for each sender learns the first 80% of their mail twice, into a
clear store and a hashed one (SQLite files in a temporary folder). The remaining 20% are checked in
date order against both, with histories cached the way delivery points cache them (the hashed one
through `Store.reveal`). Reports the share of test messages whose non-allow findings (detector and
action) are the same, what differs, and the milliseconds per check of each mode.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from missend import Engine, SenderHistory
from missend.history.archive import iter_archive
from missend.history.store import Store
from missend.learning.store import train_from_archives
from missend.message import Message, parse_message
from missend.privacy.pseudonym import AddressKeys, write_key_file
from missend.verdict import Verdict


def acted(verdict: Verdict) -> frozenset[tuple[str, str]]:
    return frozenset(
        (d.finding.detector, str(d.action)) for d in verdict.findings if str(d.action) != "allow"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enron", type=Path, default=Path("../shared/corpus/enron-sent"))
    parser.add_argument("--senders", type=int, default=12)
    parser.add_argument("--skip", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    archives = sorted(args.enron.glob("*.mbox.gz"))
    random.Random(args.seed).shuffle(archives)
    archives = archives[args.skip : args.skip + args.senders]
    if not archives:
        sys.exit(f"no archives in {args.enron}")
    started = time.perf_counter()
    engine = Engine(models={"misdirect": train_from_archives(archives, args.workers)})
    print(f"trained on {len(archives)} archives in {time.perf_counter() - started:.0f} s")
    same = 0
    differences: Counter[tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]] = Counter()
    clear_s = hashed_s = 0.0
    with tempfile.TemporaryDirectory() as folder:
        key = Path(folder) / "address.key"
        write_key_file(key)
        keys = AddressKeys.from_file(key)
        for n, archive in enumerate(archives):
            mail: list[Message] = [parse_message(raw) for _, raw in iter_archive(archive)]
            mail = [m for m in mail if m.sender is not None]
            cut = int(len(mail) * 0.8)
            with (
                Store.open(f"sqlite:///{folder}/clear{n}.db") as clear,
                Store.open(f"sqlite:///{folder}/hashed{n}.db", keys=keys) as hashed,
            ):
                clear.learn(mail[:cut])
                hashed.learn(mail[:cut])
                cached: dict[str, tuple[SenderHistory, SenderHistory]] = {}
                for m in mail[cut:]:
                    sender = m.sender.email  # type: ignore[union-attr]
                    if sender not in cached:
                        cached[sender] = (clear.snapshot(sender), hashed.snapshot(sender))
                    in_clear, raw = cached[sender]
                    t = time.perf_counter()
                    a = acted(engine.check(m, in_clear))
                    clear_s += time.perf_counter() - t
                    t = time.perf_counter()
                    b = acted(engine.check(m, hashed.reveal(raw, m.recipients)))
                    hashed_s += time.perf_counter() - t
                    if a == b:
                        same += 1
                    else:
                        differences[(a, b)] += 1
    total = same + sum(differences.values())
    print(f"{total} test messages: {same} ({same / total:.2%}) decided the same in both modes")
    print(
        f"per check: clear {clear_s / total * 1000:.1f} ms, hashed {hashed_s / total * 1000:.1f} ms"
    )
    for (a, b), count in differences.most_common():
        print(f"  {count:4d}  clear {sorted(a)}  hashed {sorted(b)}")


if __name__ == "__main__":
    main()
