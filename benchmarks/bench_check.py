"""Check latency and throughput, beside a bare stdlib parse of the same messages in the same run.

    python benchmarks/bench_check.py [--enron ../shared/corpus/enron-sent] [--messages 5000] [--cpu]

Measures, on one core:
- generated mail of a realistic mix (most small, some with 100+ recipients, some with
  attachments), checked against a sender history learned from 50,000 messages;
- typical messages alone (under 20 KB, under 10 recipients, no attachment) and 500-recipient ones;
- the real Enron sent mail (each sender's history learned from the first 80% of their mail,
  the rest checked in date order);
- the cost of learning per 1,000 messages (in memory, and into SQLite when the store is present).

With --cpu each message is timed in CPU time (time.process_time) rather than wall-clock, so
work by others on a shared machine does not count as missend's latency.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path

from missend import Engine, SenderHistory, parse_message
from missend.history.archive import iter_archive
from missend.history.store import Store
from missend.learning.replay import replay_all, train
from missend.testing import days_ago, raw_message

SENDER = "Casework Team <casework@agency.example.gov.uk>"
WEBMAIL = ["gmail.com", "hotmail.com", "yahoo.co.uk", "outlook.com", "btinternet.com"]
WORDS = """application appointment benefit case claim council decision document evidence form
housing interview letter meeting office payment reference request review schedule support team
update visit week month report account address contact details information service""".split()


def text(rng: random.Random, words: int) -> str:
    lines = []
    for _ in range(max(1, words // 12)):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + ".")
    return "Dear colleague,\n\n" + "\n".join(lines) + "\n\nKind regards\nCasework Team\n"


def contacts(rng: random.Random, n: int) -> list[str]:
    out = [f"officer{i}@agency.example.gov.uk" for i in range(n // 4)]
    out += [f"contact{i}@partner{i % 40}.example.com" for i in range(n // 4)]
    out += [f"person{i}.{rng.randint(1, 999)}@{rng.choice(WEBMAIL)}" for i in range(n - len(out))]
    return out


def generated(rng: random.Random, pool: list[str], count: int) -> list[bytes]:
    """The realistic mix: 85% small, 8% with attachments, 5% 10-99 recipients, 2% 100-600."""
    out = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.02:
            to = rng.sample(pool, rng.randint(100, 600))
        elif roll < 0.07:
            to = rng.sample(pool, rng.randint(10, 99))
        else:
            to = rng.sample(pool, rng.randint(1, 6))
        attachments = []
        if 0.07 <= roll < 0.15:
            rows = "\n".join(
                f"{rng.choice(WORDS)},{rng.randint(1, 10**6)}" for _ in range(rng.randint(10, 500))
            )
            attachments.append(("report.csv", "text/csv", f"item,value\n{rows}".encode()))
        out.append(
            raw_message(
                SENDER,
                to[: len(to) // 2 or 1],
                cc=to[len(to) // 2 or 1 :],
                subject=f"Case {i}",
                body=text(rng, rng.choice([40, 120, 400, 1200])),
                date=days_ago(1),
                attachments=attachments,
            )
        )
    return out


def history(rng: random.Random, pool: list[str], messages: int) -> SenderHistory:
    h = SenderHistory("casework@agency.example.gov.uk")
    for i in range(messages):
        to = rng.sample(pool, rng.choice([1, 1, 1, 2, 2, 3, 5]))
        h.observe(
            parse_message(
                raw_message(
                    SENDER,
                    to,
                    subject=f"Case {i}",
                    body=text(rng, 40),
                    date=days_ago(400 - i / 150),
                )
            )
        )
    return h


Clock = Callable[[], float]


def timed(
    items: Iterable[bytes], fn: Callable[[bytes], object], clock: Clock = time.perf_counter
) -> list[float]:
    out = []
    for raw in items:
        t = clock()
        fn(raw)
        out.append((clock() - t) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(label: str, ms: list[float], bare: list[float] | None = None) -> str:
    rate = len(ms) / (sum(ms) / 1000) if ms else 0.0
    ratio = f"{statistics.mean(ms) / statistics.mean(bare):5.2f}x" if bare else "     "
    return f"| {label:<44} | {len(ms):>6} | {pct(ms, 0.5):7.3f} | {pct(ms, 0.99):7.3f} | {rate:9.0f} | {ratio} |"


HEAD = "| what | messages | p50 ms | p99 ms | msg/s | vs bare parse (mean) |\n|---|---:|---:|---:|---:|---:|"


def enron(
    path: Path, engine: Engine, clock: Clock = time.perf_counter
) -> tuple[list[float], list[float], int]:
    check_ms: list[float] = []
    bare_ms: list[float] = []
    learned = 0
    parser = BytesParser(policy=email_policy.compat32)
    for archive in sorted(path.glob("*.mbox.gz")):
        raws = [raw for _, raw in iter_archive(archive)]
        msgs = [(raw, parse_message(raw)) for raw in raws]
        msgs = [(r, m) for r, m in msgs if m.sender and m.recipients]
        msgs.sort(key=lambda rm: rm[1].date.timestamp() if rm[1].date else 0.0)
        cut = int(len(msgs) * 0.8)
        hs: dict[str, SenderHistory] = {}
        for _, m in msgs[:cut]:
            assert m.sender
            hs.setdefault(m.sender.email, SenderHistory(m.sender.email)).observe(m)
        learned += cut
        for raw, m in msgs[cut:]:
            assert m.sender
            h = hs.setdefault(m.sender.email, SenderHistory(m.sender.email))
            t = clock()
            engine.check(parse_message(raw), h)
            check_ms.append((clock() - t) * 1000)
            t = clock()
            parser.parsebytes(raw)
            bare_ms.append((clock() - t) * 1000)
    return check_ms, bare_ms, learned


def learn_cost(raws: list[bytes]) -> str:
    t = time.perf_counter()
    h = SenderHistory("casework@agency.example.gov.uk")
    for raw in raws:
        h.observe(parse_message(raw))
    mem = (time.perf_counter() - t) / len(raws) * 1000 * 1000
    lines = [f"- learn in memory (parse + observe): {mem:.0f} ms per 1,000 messages"]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        t = time.perf_counter()
        store.learn(parse_message(raw) for raw in raws)
        db = (time.perf_counter() - t) / len(raws) * 1000 * 1000
    lines.append(f"- learn into SQLite (parse + observe + write): {db:.0f} ms per 1,000 messages")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--history", type=int, default=50_000)
    ap.add_argument(
        "--enron",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared/corpus/enron-sent",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--model", action="store_true", help="also time checks with a trained model")
    ap.add_argument("--cpu", action="store_true", help="time in CPU time, not wall-clock")
    args = ap.parse_args()
    clock: Clock = time.process_time if args.cpu else time.perf_counter
    rng = random.Random(args.seed)
    pool = contacts(rng, 4000)
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}, one core,"
        f" {'CPU time' if args.cpu else 'wall-clock'}"
    )
    t = time.perf_counter()
    h = history(rng, pool, args.history)
    print(
        f"history: {args.history} messages, {len(h.contacts)} contacts, built in {time.perf_counter() - t:.1f}s"
    )
    engine = Engine()
    mix = generated(rng, pool, args.messages)
    parser = BytesParser(policy=email_policy.compat32)

    def check(raw: bytes) -> object:
        return engine.check(parse_message(raw), h)

    for raw in mix[:50]:
        check(raw)
    mix_check = timed(mix, check, clock)
    mix_bare = timed(mix, parser.parsebytes, clock)
    typical = [
        i
        for i, raw in enumerate(mix)
        if len(raw) < 20_000
        and b"Content-Disposition" not in raw
        and raw.count(b"@", 0, raw.find(b"\n\n")) < 12
    ]
    big = [
        raw_message(SENDER, rng.sample(pool, 250), cc=rng.sample(pool, 250), body=text(rng, 100))
        for _ in range(100)
    ]
    big_check = timed(big, check, clock)
    big_bare = timed(big, parser.parsebytes, clock)
    print("\n" + HEAD)
    print(row("generated mix, check (parse + all detectors)", mix_check, mix_bare))
    print(row("generated mix, bare compat32 parse", mix_bare))
    print(
        row(
            "typical (<20 KB, <10 recipients, no attachment)",
            [mix_check[i] for i in typical],
            [mix_bare[i] for i in typical],
        )
    )
    print(row("typical, bare compat32 parse", [mix_bare[i] for i in typical]))
    print(row("500 recipients", big_check, big_bare))
    if args.enron.is_dir():
        e_check, e_bare, learned = enron(args.enron, engine, clock)
        if args.model:
            archives = sorted(args.enron.glob("*.mbox.gz"))
            t = time.perf_counter()
            model = train(replay_all(archives, 0.8, 0, 2), 0)
            print(f"(misdirect model trained on the first 80% in {time.perf_counter() - t:.0f}s)")
            with_model = Engine(models={"misdirect": model})
            m_check, m_bare, _ = enron(args.enron, with_model, clock)
            print(row("Enron sent mail, with the misdirect model", m_check, m_bare))
        print(row(f"Enron sent mail (history of first 80%: {learned})", e_check, e_bare))
        print(row("Enron sent mail, bare compat32 parse", e_bare))
    print()
    print(learn_cost(mix[:1000]))


if __name__ == "__main__":
    main()
