"""CPU cost of the organisation directory's look-ups on the check path, for a large organisation.

    python benchmarks/bench_directory.py [--addresses 500000] [--pairs 500000] [--probes 200] [--hashed]

A directory of generated addresses (four fifths at one internal domain, the rest one each at
other domains) is looked up as a check does for a recipient nobody has written to: the count,
then the search for an address one keystroke away. The search generates the neighbours rather
than scanning the directory, so its cost should not grow with the organisation. With `--hashed`
the directory holds keyed hashes, as a store in hashed mode does, and each neighbour is hashed.
The pairs of addresses colleagues wrote to together are then looked up as a check of a message to
five recipients does (all ten pairs at once), with the memory they take and the time to build them.
"""

from __future__ import annotations

import argparse
import random
import string
import time
import tracemalloc

from missend.learning.directory import Directory, PairCounts
from missend.privacy.pseudonym import AddressKeys


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addresses", type=int, default=500_000)
    ap.add_argument("--pairs", type=int, default=500_000)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hashed", action="store_true", help="keyed hashes, as in hashed mode")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 10)))

    internal = args.addresses * 4 // 5
    counts = {f"{word()}.{word()}@bigorg.example": rng.randint(1, 30) for _ in range(internal)}
    while len(counts) < args.addresses:
        counts[f"{word()}@{word()}.example"] = rng.randint(1, 5)
    addresses = sorted(counts)
    keys = AddressKeys(bytes(range(32))) if args.hashed else None
    stored = {a: keys.address(a) for a in addresses} if keys else {a: a for a in addresses}
    written = [tuple(rng.sample(addresses, 2)) for _ in range(args.pairs)]
    rows = [(stored[a], stored[b], rng.randint(1, 5)) for a, b in written]
    tracemalloc.start()
    t = time.process_time()
    pairs = PairCounts.of(rows)
    pairs_built = time.process_time() - t
    pairs_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    directory = Directory({stored[a]: n for a, n in counts.items()}, keys, pairs)
    t = time.process_time()
    directory.nearest("first@bigorg.example")
    built = time.process_time() - t
    known = rng.sample(sorted(counts), args.probes // 2)
    typos = [a[:2] + a[3:] for a in known]
    unknown = [f"{word()}.{word()}@bigorg.example" for _ in range(args.probes // 2)]
    probes = typos + unknown
    t = time.process_time()
    found = sum(directory.nearest(p)[0] < 4 for p in probes)
    nearest = (time.process_time() - t) / len(probes) * 1000
    t = time.process_time()
    for p in probes:
        directory.senders(p, False)
    senders = (time.process_time() - t) / len(probes) * 1e6
    messages = [rng.sample(addresses, 5) for _ in range(args.probes)]
    for m in messages[::2]:
        m[:2] = rng.choice(written)
    t = time.process_time()
    linked = sum(any(directory.together(m, lambda *_: False).values()) for m in messages)
    together = (time.process_time() - t) / len(messages) * 1e6
    print(
        f"{len(pairs):,} pairs: built in {pairs_built:.1f} s CPU, {pairs_mb:.1f} MB; all ten pairs "
        f"of a five-recipient message {together:.0f} us CPU ({linked} of {len(messages)} with one)"
    )
    print(
        f"{len(counts):,} {'hashed ' if args.hashed else ''}addresses: first look-up (indexing domains) {built * 1000:.0f} ms; "
        f"one-keystroke search {nearest:.2f} ms CPU per recipient ({found} of {len(probes)} "
        f"probes near a known address, {len(typos)} of them typos); count {senders:.1f} us"
    )


if __name__ == "__main__":
    main()
