"""CPU cost of learning from traffic as the relay and the milter do it: many senders per batch.

    python benchmarks/bench_learn_traffic.py [--senders 100] [--batch 200] [--batches 20]

`missend learn` reads one sender's archive at a time, so each store batch has one sender; the
mail path's learner batches whatever was delivered, a few messages from each of many senders, so
the per-sender work of a batch (its lookups of known contacts and threads) weighs more. A SQLite
store is seeded with 2,000 messages, then the batches are learned; CPU time per message.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time

from missend.history.store import Store
from missend.message import Message, parse_message
from missend.testing import raw_message


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--senders", type=int, default=100)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    senders = [f"s{i}@agency.example.gov.uk" for i in range(args.senders)]
    people = [f"p{i}@example.com" for i in range(2000)]

    def batch(n: int, tag: str) -> list[Message]:
        return [
            parse_message(
                raw_message(
                    rng.choice(senders),
                    rng.sample(people, 3),
                    subject=f"Case {tag} {i}",
                    body="Please find the update on your case below. " * 10,
                    message_id=f"<{tag}-{i}@bench.example>",
                )
            )
            for i in range(n)
        ]

    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/history.db")
        store.migrate()
        store.learn(batch(2000, "seed"))
        batches = [batch(args.batch, f"b{j}") for j in range(args.batches)]
        start = time.process_time()
        for one in batches:
            store.learn(one)
        spent = time.process_time() - start
    count = args.batch * args.batches
    print(
        f"{spent / count * 1000:.3f} ms CPU per message learned "
        f"({count} messages in batches of {args.batch} from {args.senders} senders)"
    )


if __name__ == "__main__":
    main()
