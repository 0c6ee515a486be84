"""`missend learn --engine spark`: the same learning, for archives beyond one machine.

The job has three stages.

1. **Read and parse.** The driver lists the archive's files (the archive must be on a file system
   every executor sees at the same path) and cuts them into splits: a plain mbox into byte ranges
   (a task reads the messages whose `From ` separator starts in its range, see
   `ingest.split_mbox`), a gzip mbox, which cannot be entered in the middle, into shares of its
   messages (each task decompresses the file and parses every n-th message), and a Maildir or
   .eml file as itself. Each task parses with `ingest.learning_message`, which equals
   `parse_message` in everything learning reads, and keys each message by its sender and its
   place in the archive (file, then offset or index).
2. **Learn.** Messages are shuffled by a stable hash of the sender and sorted, so each sender's
   mail reaches exactly one task, in archive order: the order the embedded `missend learn` observes
   it in. Each task opens its own `Store` and feeds that stream to `Store.learn`, which observes
   with `SenderHistory.observe` and merges batch by batch. So both engines run one learning logic
   over the same per-sender sequence, and write the same history.
3. **Train.** The parsed messages are sorted again, by sender and date, and each task replays its
   senders' mail in date order, as `replay.replay` does, emitting training examples (the sender's
   real recipients and one simulated slip). The driver samples at most `max_examples` of them,
   fits the model with `replay.train` and saves it with `learning.store.save`.

Why executors write, rather than the driver. For hundreds of millions of messages from 50,000
senders, the history is of the order of the archive: a thread row per message, a contact row per
correspondent. Collected to the driver it would not fit in its memory, and one writer would take
days. Written from the tasks that already hold each sender's mail, the writes run in parallel
(PostgreSQL takes one connection per task; no two tasks touch the same sender's rows), nothing
bigger than a report returns to the driver, and the store's own merge path is reused unchanged.
The store's record of learned message keys, claimed in the same transaction as each batch's
writes, makes this safe where Spark is unreliable: a retried or speculative task finds its
committed batches already claimed and adds nothing, and learning the same archive again, with
either engine, changes nothing. SQLite works in local mode (its writers take turns), PostgreSQL
is the store for a cluster.

Both replays see the organisation's directory as it stood at each message
(`learning.directory.Timeline`: who first wrote to each address, and to each pair of addresses at
once, and when). Spark builds it with two reductions over the parsed mail, keeps the addresses and
pairs most senders write to (as many as the store's directory holds, `DIRECTORY_LIMIT` and
`DIRECTORY_PAIR_LIMIT`), and broadcasts it to the replay tasks; on the same archive it equals the
embedded engine's. Its size is one (date, sender) entry per distinct sender and kept address or
pair: for 50,000 senders with a few hundred correspondents each, millions of entries in the
driver and in every executor. Keeping only each address's first few dozen senders (the features
read the count through a logarithm) would bound it; both engines would have to keep the same.

Where the engines differ: the model. The embedded engine seeds each archive file's replay with the
file's name; Spark replays per sender and seeds with the sender's address, so a sender whose mail
is spread over many files is replayed as one. Both train the same kind of model on the same kind
of examples; the two are not bit-for-bit equal.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pyspark import RDD, Broadcast, SparkContext, StorageLevel
from pyspark.sql import SparkSession

from missend.detectors.base import CheckContext
from missend.history.archive import _open, _sources
from missend.history.model import SenderHistory, pair_key
from missend.history.store import DIRECTORY_LIMIT, DIRECTORY_PAIR_LIMIT, Store, default_url
from missend.learning.directory import DIRECTORY_NAME, Timeline, grouped
from missend.learning.ingest import Packed, learning_message, pack, split_mbox, unpack
from missend.learning.model import MIN_MESSAGES, MisdirectModel
from missend.learning.replay import WARM_UP, Replayed, _train_examples, train
from missend.learning.store import save
from missend.message import Limits
from missend.orgs import Organisations

SPLIT_BYTES = 128 << 20
"""Plain mbox bytes per task."""
GZIP_SHARE_BYTES = 32 << 20
"""Compressed gzip bytes per task; each such task still decompresses the whole file."""
MAX_EXAMPLES = 2_000_000
"""Training examples (a message's recipients, clean or slipped) the driver keeps to fit on."""
TRAIN_RATE = 0.5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Split = tuple[int, str, str, int, int]
"""(file rank, path, kind, a, b): a byte range [a, b) of a plain mbox ("range"), share a of b of a
gzip mbox ("share"), or one message file ("file", a = 1 when gzip-compressed)."""
Order = tuple[int, int]
_K = TypeVar("_K", str, tuple[str, str])
Example = tuple[np.ndarray, np.ndarray, str]


@dataclass(frozen=True, slots=True)
class SparkReport:
    seen: int
    learned: int
    duplicates: int
    without_sender: int
    senders: int
    seconds: float
    splits: int
    model_version: int | None = None
    trained_on: int = 0
    thresholds: dict[str, float] | None = None
    not_trained: str = ""

    @property
    def skipped(self) -> int:
        return self.duplicates


def plan(
    paths: Iterable[str | Path],
    split_bytes: int = SPLIT_BYTES,
    gzip_share_bytes: int = GZIP_SHARE_BYTES,
    max_shares: int = 8,
) -> list[Split]:
    """Cut the archives into tasks, in archive order (the rank orders the files)."""
    splits: list[Split] = []
    rank = 0
    for path in paths:
        for source in _sources(Path(path), True, set()):
            size = source.path.stat().st_size
            name = str(source.path)
            if not source.mbox:
                splits.append((rank, name, "file", int(source.compressed), 1))
            elif source.compressed:
                shares = max(1, min(max_shares, -(-size // gzip_share_bytes)))
                splits.extend((rank, name, "share", k, shares) for k in range(shares))
            else:
                bounds = [*range(0, size, max(1, split_bytes)), size]
                splits.extend((rank, name, "range", a, b) for a, b in itertools.pairwise(bounds))
            rank += 1
    return splits


def _read(split: Split, max_bytes: int) -> Iterator[tuple[Order, bytes]]:
    rank, name, kind, a, b = split
    path = Path(name)
    if kind == "file":
        with _open(path, bool(a)) as stream:
            yield (rank, 0), stream.read(max_bytes + 1)
    elif kind == "range":
        with path.open("rb") as stream:
            for offset, raw in split_mbox(stream, max_bytes, a, b):
                yield (rank, offset), raw
    else:
        with _open(path, True) as stream:
            for index, (_, raw) in enumerate(split_mbox(stream, max_bytes)):
                if index % b == a:
                    yield (rank, index), raw


def _parse_splits(
    splits: Iterator[Split], max_bytes: int
) -> Iterator[tuple[tuple[str, Order], Packed]]:
    for split in splits:
        for order, raw in _read(split, max_bytes):
            message = learning_message(raw)
            author = message.sender
            yield (author.email if author and author.email else "", order), pack(message)


def parsed(sc: SparkContext, splits: list[Split]) -> RDD[tuple[tuple[str, Order], Packed]]:
    """Every message of the splits, parsed where it is read, keyed by sender and archive place."""
    return sc.parallelize(splits, max(1, len(splits))).mapPartitions(
        partial(_parse_splits, max_bytes=Limits().max_message_bytes)
    )


def sender_partition(partitions: int, key: tuple[Any, ...]) -> int:
    """Stable across processes (str hashes are salted per process)."""
    return zlib.crc32(str(key[0]).encode("utf-8", "surrogateescape")) % partitions


def _learn_partition(
    rows: Iterator[tuple[tuple[str, Order], Packed]], url: str, batch_size: int
) -> Iterator[tuple[int, int, int, int, int]]:
    store = Store(url, batch_size=batch_size)
    try:
        report = store.learn(unpack(packed) for _, packed in rows)
    finally:
        store.close()
    yield report.seen, report.learned, report.duplicates, report.without_sender, report.senders


def _date_key(packed: Packed) -> float:
    when = packed[7]
    if when is None:
        return _EPOCH.timestamp()
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _first_contacts(
    row: tuple[tuple[str, Order], Packed],
) -> Iterator[tuple[tuple[str, str], datetime]]:
    (sender, _), packed = row
    when = packed[7]
    if not sender or when is None:
        return
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    for email, _, _ in packed[2]:
        if email != sender:
            yield (email, sender), when


def _first_pairs(
    row: tuple[tuple[str, Order], Packed],
) -> Iterator[tuple[tuple[tuple[str, str], str], datetime]]:
    (sender, _), packed = row
    when = packed[7]
    if not sender or when is None:
        return
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    for a, b in itertools.combinations(grouped(sender, [email for email, _, _ in packed[2]]), 2):
        yield (pair_key(a, b), sender), when


def _by_address(row: tuple[tuple[_K, str], datetime]) -> tuple[_K, tuple[datetime, str]]:
    (address, sender), when = row
    return address, (when, sender)


def _senders_first(item: tuple[_K, list[tuple[datetime, str]]]) -> tuple[int, _K]:
    return len(item[1]), item[0]


def _firsts(
    found: RDD[tuple[tuple[_K, str], datetime]], limit: int
) -> dict[_K, list[tuple[datetime, str]]]:
    """For the `limit` keys most senders have, when each sender first had it, in date order."""
    return dict(
        found.reduceByKey(min)
        .map(_by_address)
        .groupByKey()
        .mapValues(sorted)
        .top(limit, key=_senders_first)
    )


def organisation(
    messages: RDD[tuple[tuple[str, Order], Packed]],
    limit: int = DIRECTORY_LIMIT,
    pair_limit: int = DIRECTORY_PAIR_LIMIT,
) -> Timeline:
    """When each sender first wrote to each address, and to each pair of addresses at once, for
    the `limit` addresses and `pair_limit` pairs most senders wrote to: `Timeline.of` over the
    same mail, computed where the mail is, so only the directory itself reaches the driver."""
    return Timeline(
        _firsts(messages.flatMap(_first_contacts), limit),
        _firsts(messages.flatMap(_first_pairs), pair_limit),
    )


def _replay_partition(
    rows: Iterator[tuple[tuple[str, float, Order], Packed]],
    seed: int,
    train_rate: float,
    timeline: Broadcast[Timeline] | None = None,
) -> Iterator[Example]:
    """Each sender's mail in date order, as `replay.replay` walks an archive (train part only)."""
    base = Organisations(())
    directory = timeline.value if timeline is not None else None
    current = ""
    history = SenderHistory("")
    rng = random.Random()
    for (sender, _, _), packed in rows:
        if sender != current:
            current, history = sender, SenderHistory(sender)
            rng = random.Random(f"{seed}:{sender}")
        message = unpack(packed)
        if not message.recipients:
            continue
        models = (
            {DIRECTORY_NAME: directory.at(message.date or _EPOCH, sender)} if directory else None
        )
        ctx = CheckContext(message, history, base, models)
        if history.message_count >= WARM_UP and ctx.recipients and rng.random() < train_rate:
            out = Replayed(sender)
            _train_examples(ctx, rng, out)
            yield from zip(out.train_x, out.train_y, out.train_scenario, strict=True)
        history.observe(message)


def _sample(examples: Iterable[Example], limit: int, seed: int) -> list[Example]:
    """A uniform sample of at most `limit` examples, in one pass with bounded memory."""
    rng = random.Random(seed)
    kept: list[Example] = []
    for seen, example in enumerate(examples, 1):
        if len(kept) < limit:
            kept.append(example)
        else:
            slot = rng.randrange(seen)
            if slot < limit:
                kept[slot] = example
    return kept


def session(master: str, app_name: str = "missend-learn") -> SparkSession:
    """A Spark session for `master`; executors run this interpreter when Spark runs locally."""
    builder = SparkSession.builder.master(master).appName(app_name)
    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.ui.enabled", "false").config(
            "spark.ui.showConsoleProgress", "false"
        )
    return builder.getOrCreate()


def learn(
    paths: Iterable[str | Path],
    url: str | None = None,
    *,
    spark: SparkSession | None = None,
    master: str = "local[*]",
    train: bool = True,
    seed: int = 0,
    partitions: int | None = None,
    batch_size: int = 10_000,
    split_bytes: int = SPLIT_BYTES,
    gzip_share_bytes: int = GZIP_SHARE_BYTES,
    max_examples: int = MAX_EXAMPLES,
    min_messages: int = MIN_MESSAGES,
    status: Callable[[str], None] | None = None,
) -> SparkReport:
    """Learn the archives into the store at `url` on Spark, then (with `train`) fit the model."""
    start = time.perf_counter()
    url = url or default_url()
    Store.open(url).close()
    say = status or (lambda _: None)
    owned = spark is None and SparkSession.getActiveSession() is None
    spark = spark or session(master)
    try:
        sc = spark.sparkContext
        splits = plan(paths, split_bytes, gzip_share_bytes, max(1, sc.defaultParallelism))
        n = partitions or max(2, 2 * sc.defaultParallelism)
        say(f"reading {len(splits)} split(s) into {n} partition(s)")
        messages = parsed(sc, splits)
        if train:
            messages = messages.persist(StorageLevel.MEMORY_AND_DISK)
        totals = (
            messages.repartitionAndSortWithinPartitions(n, partial(sender_partition, n))
            .mapPartitions(partial(_learn_partition, url=url, batch_size=batch_size))
            .collect()
        )
        seen, learned, duplicates, without_sender, senders = (
            sum(c) for c in zip(*totals, strict=True)
        )
        report = SparkReport(seen, learned, duplicates, without_sender, senders, 0.0, len(splits))
        if train:
            say("replaying each sender's mail for training")
            report = _train(messages, url, n, seed, max_examples, min_messages, report, say)
            messages.unpersist()
    finally:
        if owned:
            spark.stop()
    return replace(report, seconds=time.perf_counter() - start)


def _train(
    messages: RDD[tuple[tuple[str, Order], Packed]],
    url: str,
    partitions: int,
    seed: int,
    max_examples: int,
    min_messages: int,
    report: SparkReport,
    say: Callable[[str], None],
) -> SparkReport:
    dated = messages.filter(lambda row: bool(row[0][0])).map(
        lambda row: ((row[0][0], _date_key(row[1]), row[0][1]), row[1])
    )
    say("gathering the organisation's directory")
    timeline = messages.context.broadcast(organisation(messages))
    examples = dated.repartitionAndSortWithinPartitions(
        partitions, partial(sender_partition, partitions)
    ).mapPartitions(partial(_replay_partition, seed=seed, train_rate=TRAIN_RATE, timeline=timeline))
    kept = _sample(examples.toLocalIterator(prefetchPartitions=True), max_examples, seed)
    timeline.unpersist()
    say(f"fitting the model on {len(kept)} examples")
    if not kept:
        return replace(report, not_trained="no sender has enough sent mail to learn from")
    replayed = Replayed(
        "spark",
        train_x=[x for x, _, _ in kept],
        train_y=[y for _, y, _ in kept],
        train_scenario=[s for _, _, s in kept],
    )
    try:
        model: MisdirectModel = train([replayed], seed, min_messages)
    except ValueError as exc:
        return replace(report, not_trained=str(exc))
    with Store(url) as store:
        version = save(store, model)
    return replace(
        report,
        model_version=version,
        trained_on=model.trained_on,
        thresholds=dict(model.thresholds),
    )
