"""Learning throughput: messages per second per core and peak memory of `missend learn`.

    python benchmarks/bench_learn.py [--enron ../shared/corpus/enron-sent] [--messages 1000000]
        [--senders 5000] [--phases split,parse,learn,reference,cli,spark] [--json out.json]

Each measurement runs in a fresh process, so its peak memory (ru_maxrss, worker processes
reported apart) is its own. CPU seconds come from getrusage (the process and its finished
children) and are what "per core" divides by: on a shared, loaded machine they move far less than
wall time does. Measured, on the Enron sent mail and on a generated gzip mbox of many senders:

- split: reading the archive into raw messages (`ingest.raw_messages`);
- parse: split plus `ingest.learning_message` for each;
- learn: the whole embedded path into a fresh SQLite store, in one process, uninstrumented
  (store = learn - parse: observing each message and writing the history). Timing observe inside
  it, as an earlier version did, read the CPU clock twice per message, which made the phase take
  13% more CPU (200,000 generated messages: 4,972 against 5,642 per CPU-second);
- cli: the whole `missend learn --no-train` command as shipped;
- reference: the pipeline before this benchmark (`iter_archive` + `parse_message` +
  `Store.learn`), for comparison;
- spark: `missend learn --engine spark --master local[2] --no-train` on the generated archive.

Training the misdirect model is not part of these figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from missend.history.archive import iter_archive
from missend.history.store import Store
from missend.learning.ingest import learn_archive, learning_message, raw_messages
from missend.message import parse_message

REPO = Path(__file__).resolve().parent.parent
FIRST = "ann ben cara dan eva finn gia hal ivy jon kai lea max nia oli pia rex sam tia uma".split()
LAST = "reed moss park lowe hart gray fox cole bell ames ward shaw knox hale dunn cobb".split()
TOPICS = [
    "gas pipeline capacity nomination schedule",
    "legal contract amendment signature counterparty",
    "budget forecast quarter spreadsheet variance",
    "hiring interview candidate offer onboarding",
    "trading desk position curve volatility",
    "regulatory filing commission tariff hearing",
]
START = datetime(2020, 1, 6, 8, 0, tzinfo=UTC)


def _person(rng: random.Random, org: str, tag: str) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first.title()} {last.title()}", f"{first}.{last}{tag}@{org}"


def generate(path: Path, messages: int, senders: int, seed: int = 0) -> int:
    """A gzip mbox of `messages` from `senders` people, written as it is made (bounded memory).

    Each sender has the shape of `missend.testing.synthetic_archive`: teams written to together,
    each about its topic, half of them at partner organisations, the occasional new contact;
    one message in five replies to the sender's previous one. Senders' mail is interleaved.
    """
    rng = random.Random(seed)
    people = []
    for s in range(senders):
        domain = f"org{s % 97}.example"
        name, address = _person(rng, domain, f"s{s}")
        teams = []
        for t in range(5):
            org = domain if t % 2 == 0 else f"partner{(s + t) % 211}.example"
            teams.append(([_person(rng, org, f"{s}x{t}{i}") for i in range(6)], TOPICS[t]))
        people.append((name, address, teams))
    last_id: dict[int, str] = {}
    with gzip.open(path, "wb", compresslevel=4) as out:
        for n in range(messages):
            s = rng.randrange(senders)
            name, address, teams = people[s]
            members, topic = teams[rng.randrange(len(teams))]
            to = rng.sample(members, rng.randint(1, 4))
            rcpt = [f"{nm} <{ad}>" for nm, ad in to]
            if rng.random() < 0.05:
                rcpt.append(f"new{n}@elsewhere{n % 7}.example")
            words = topic.split()
            body = " ".join(rng.choice(words) for _ in range(30))
            mid = f"<{n}.{s}@{address.partition('@')[2]}>"
            headers = [
                f"From: {name} <{address}>",
                f"To: {', '.join(rcpt)}",
                f"Subject: {words[0]} {n}",
                f"Date: {format_datetime(START + timedelta(minutes=n))}",
                f"Message-ID: {mid}",
            ]
            if s in last_id and rng.random() < 0.2:
                headers += [f"In-Reply-To: {last_id[s]}", f"References: {last_id[s]}"]
            last_id[s] = mid
            headers += ["MIME-Version: 1.0", 'Content-Type: text/plain; charset="utf-8"']
            text = "\n".join(headers) + f"\n\nHello,\n\n{body}.\n\nRegards,\n{name}\n"
            out.write(f"From {address} Mon Jan  6 08:00:00 2020\n{text}\n".encode())
    return messages


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _phase(name: str, archive: str, db: str) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    wall, cpu = time.perf_counter(), _cpu()
    count = 0
    if name == "split":
        count = sum(1 for _ in raw_messages(archive))
    elif name == "parse":
        count = sum(1 for raw in raw_messages(archive) if learning_message(raw) is not None)
    elif name == "learn":
        with Store.open(db) as store:
            count = learn_archive(store, archive, workers=0).seen
    elif name == "reference":
        with Store.open(db) as store:
            count = store.learn(parse_message(raw) for _, raw in iter_archive(archive)).seen
    else:
        raise SystemExit(f"unknown phase {name}")
    return {
        "messages": count,
        "wall": time.perf_counter() - wall,
        "cpu": _cpu() - cpu,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _tree(root: int) -> dict[int, tuple[float, float]]:
    """CPU seconds and resident MB of `root` and every process under it, from /proc."""
    parents: dict[int, int] = {}
    stats: dict[int, tuple[float, float]] = {}
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu = (int(fields[11]) + int(fields[12])) / tick
        stats[pid] = (cpu, int(fields[21]) * page / 2**20)
    mine: dict[int, tuple[float, float]] = {}
    for pid, stat in stats.items():
        at = pid
        while at > 1 and at != root:
            at = parents.get(at, 0)
        if at == root:
            mine[pid] = stat
    return mine


def _measure_child(args: list[str]) -> dict[str, Any]:
    """A command in a child process: wall time, CPU of it and everything it starts (sampled from
    /proc, so Spark's JVM and Python workers count), peak resident memory of that process tree."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cpu: dict[int, float] = {}
    peak = 0.0
    while child.poll() is None:
        tree = _tree(child.pid)
        for pid, (seconds, _) in tree.items():
            cpu[pid] = max(cpu.get(pid, 0.0), seconds)
        peak = max(peak, sum(rss for _, rss in tree.values()))
        time.sleep(0.25)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - start
    if child.returncode:
        raise SystemExit(f"{args} failed:\n{stdout}\n{stderr[-3000:]}")
    return {
        "wall": wall,
        "cpu": sum(cpu.values()),
        "peak_mb": peak,
        "output": stdout.strip().splitlines()[-3:],
    }


def run_phase(
    name: str, archive: Path, workdir: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    db = f"sqlite:///{workdir / f'{name}-{time.monotonic_ns()}.sqlite3'}"
    cmd = [sys.executable, __file__, "--phase", name, str(archive), db]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        raise SystemExit(f"phase {name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_cli(archive: Path, workdir: Path, extra: list[str]) -> dict[str, Any]:
    db = f"sqlite:///{workdir / f'cli-{time.monotonic_ns()}.sqlite3'}"
    missend = [sys.executable, "-c", "from missend.cli.app import main; main()"]
    return _measure_child([*missend, "learn", str(archive), "--db", db, "--no-train", *extra])


def rates(result: dict[str, Any], messages: int) -> dict[str, Any]:
    result = dict(result)
    result["per_cpu_second"] = messages / result["cpu"] if result["cpu"] else 0.0
    result["per_second"] = messages / result["wall"]
    result["per_core_wall"] = result["per_second"] / (os.cpu_count() or 1)
    return result


PHASES = ("split", "parse", "learn", "reference", "cli", "spark")


def suite(
    label: str,
    archive: Path,
    workdir: Path,
    phases: set[str],
    log: Callable[[str], None],
    messages: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {"archive": str(archive), "messages": messages}
    for name in ("split", "parse", "learn", "reference"):
        if name in phases:
            log(f"{label}: {name}")
            out[name] = rates(run_phase(name, archive, workdir), messages)
    if {"split", "parse", "learn"} <= phases:
        per_message = {
            "split": out["split"]["cpu"],
            "parse": out["parse"]["cpu"] - out["split"]["cpu"],
            "store": out["learn"]["cpu"] - out["parse"]["cpu"],
        }
        out["microseconds_per_message"] = {k: v / messages * 1e6 for k, v in per_message.items()}
    if "cli" in phases:
        log(f"{label}: missend learn")
        out["cli"] = rates(run_cli(archive, workdir, []), messages)
    if "spark" in phases:
        log(f"{label}: missend learn --engine spark --master local[2]")
        out["spark"] = rates(
            run_cli(archive, workdir, ["--engine", "spark", "--master", "local[2]"]), messages
        )
    return out


def _rows(results: dict[str, Any]) -> Iterator[str]:
    for label, data in results.items():
        if not isinstance(data, dict) or "messages" not in data:
            continue
        yield f"\n{label}: {data['messages']:,} messages"
        yield f"{'path':<28}{'wall s':>9}{'CPU s':>9}{'msg/CPU-s':>11}{'msg/s':>9}{'peak MB':>9}"
        for name in PHASES:
            if name in data:
                r = data[name]
                yield (
                    f"{name:<28}{r['wall']:>9.1f}{r['cpu']:>9.1f}{r['per_cpu_second']:>11,.0f}"
                    f"{r['per_second']:>9,.0f}{r['peak_mb']:>9.0f}"
                )
        if "microseconds_per_message" in data:
            parts = ", ".join(f"{k} {v:.0f}" for k, v in data["microseconds_per_message"].items())
            yield f"CPU microseconds per message: {parts}"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        print(json.dumps(_phase(sys.argv[2], sys.argv[3], sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enron", type=Path, default=REPO.parent / "shared/corpus/enron-sent")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--senders", type=int, default=5000)
    parser.add_argument("--phases", default=",".join(PHASES), help="of " + ",".join(PHASES))
    parser.add_argument("--enron-phases", default="split,parse,learn,reference,cli")
    parser.add_argument("--no-enron", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    def log(text: str) -> None:
        print(f"[{time.strftime('%X')}] {text}", file=sys.stderr, flush=True)

    results: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "load_before": os.getloadavg(),
        }
    }
    with tempfile.TemporaryDirectory(prefix="bench-learn-") as tmp:
        workdir = Path(tmp)
        if not args.no_enron and args.enron.exists():
            phases = set(args.enron_phases.split(","))
            count = sum(1 for _ in raw_messages(args.enron))
            results["enron"] = suite("enron", args.enron, workdir, phases, log, count)
        archive = workdir / "generated.mbox.gz"
        log(f"generating {args.messages:,} messages from {args.senders:,} senders")
        start = time.perf_counter()
        generate(archive, args.messages, args.senders)
        results["generation_seconds"] = time.perf_counter() - start
        results["generated_bytes"] = archive.stat().st_size
        phases = set(args.phases.split(","))
        results["generated"] = suite("generated", archive, workdir, phases, log, args.messages)
    results["machine"]["load_after"] = os.getloadavg()
    for line in _rows(results):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
