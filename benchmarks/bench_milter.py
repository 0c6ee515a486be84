"""Postfix with the missend milter against the same Postfix without it, under bounded load on loopback.

    python benchmarks/bench_milter.py [--messages 2000] [--clients 8] [--rate 50] [--rounds 5]

One real Postfix (a private instance, see tests/milter/postfix.py) with one smtpd listener per path,
differing only in `smtpd_milters`:
- plain: no milter;
- milter: `missend serve milter` on a unix socket (the recommended set-up);
- milter-nolearn: the same, with learning from traffic turned off, to show what learning costs;
- milter-Np: the same as milter, run as N processes sharing the socket (`--processes`);
- milter-tcp: the same milter process configuration on inet:127.0.0.1, to show what TCP costs;
- milter-null, milter-null-bare (only with `--paths`): benchmarks/null_milter.py, missend's protocol
  layer answering every message at once, with the verdict header and without: the floor any check
  adds to.
Every listener relays to the same sink (a separate process that accepts everything). The milter has
the default policy, a SQLite store with 2,000 messages of sender history, and learns from every
message it lets through. Each client keeps one SMTP connection open (`--new-connections`: one per
message, as a mail client submits). Latency is the client's whole transaction, MAIL to the reply to
DATA; "added" is a path's percentile minus plain's at the same load. Flat out measures throughput;
paced (`--rate` messages/s, latency counted from when each message was due) measures the latency a
sender sees on a server that keeps up. The messages are split into rounds and the paths take turns
round by round, so a busy spell on the machine falls on all of them; Postfix's queue is drained
before each round, so one round's deliveries do not slow the next. Figures pool all rounds.
`--pin` puts Postfix, the clients and the sink on core 0 and the milters on core 1, as a milter
on a host of its own would run; without it every process shares every core.

CPU is counted three ways per message: the milter process (with its workers); the whole machine
(/proc/stat, everything busy while a path ran, divided by its messages); and by program, from
every process alive at both ends of a round (Postfix's daemons by name, the load generator as
"clients", the sink, the milter). The machine figure says what a path costs in all; the difference
from plain, against the milter's own share, is what the milter costs Postfix.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from missend.history.store import Store
from missend.message import parse_message
from missend.testing import raw_message

REPO = Path(__file__).resolve().parents[1]
WORDS = """application appointment benefit case claim council decision document evidence form
housing interview letter meeting office payment reference request review schedule support team
update visit week month report account address contact details information service""".split()
WEBMAIL = ["gmail.com", "hotmail.com", "yahoo.co.uk", "outlook.com"]
Mail = tuple[str, list[str], bytes]
DEFAULT_PATHS = ("plain", "milter", "milter-nolearn", "milter-Np", "milter-tcp")


def lab_module() -> ModuleType:
    """tests/milter/postfix.py: the same private Postfix the tests run."""
    spec = importlib.util.spec_from_file_location("milter_lab", REPO / "tests/milter/postfix.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["milter_lab"] = module
    spec.loader.exec_module(module)
    return module


# --- the sink, in its own process --------------------------------------------------------------


class CountingSink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        return "250 OK"


def serve_sink() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(CountingSink(), hostname="sink.test", loop=loop), "127.0.0.1", 0
        )
        print(f"listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()

    asyncio.run(main())


def start_sink() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, __file__, "sink"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        raise RuntimeError("the sink did not start")
    return proc, int(line.rsplit(":", 1)[1])


# --- the mail ----------------------------------------------------------------------------------


def text(rng: random.Random, words: int) -> str:
    lines = [
        " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "."
        for _ in range(max(1, words // 12))
    ]
    return "Dear colleague,\n\n" + "\n".join(lines) + "\n\nKind regards\nCasework Team\n"


def senders(n: int) -> list[tuple[str, list[str]]]:
    """Senders and their usual contacts: colleagues, partner firms, some private addresses."""
    rng = random.Random(7)
    out = []
    for s in range(n):
        contacts = [f"officer{i}@agency.example.gov.uk" for i in range(s * 5, s * 5 + 15)]
        contacts += [f"contact{i}@partner{i % 12}.example.com" for i in range(s * 5, s * 5 + 15)]
        contacts += [f"person{s}.{i}@{rng.choice(WEBMAIL)}" for i in range(10)]
        out.append((f"caseworker{s}@agency.example.gov.uk", contacts))
    return out


def typical(rng: random.Random, people: list[tuple[str, list[str]]], i: int) -> Mail:
    """A typical message: one sender, 1-4 usual recipients, 100-400 words, sometimes a CSV."""
    sender, contacts = rng.choice(people)
    to = rng.sample(contacts, rng.randint(1, 4))
    attachments = []
    if rng.random() < 0.1:
        rows = b"".join(b"%d,%d\n" % (w, rng.randint(1, 90)) for w in range(30))
        attachments = [("figures.csv", "text/csv", b"week,cases\n" + rows)]
    raw = raw_message(
        sender,
        to,
        subject=f"Case {rng.randint(1000, 9999)} {rng.choice(WORDS)}",
        body=text(rng, rng.randint(100, 400)),
        message_id=f"<bench{i}.{rng.randint(0, 10**9)}@agency.example.gov.uk>",
        attachments=attachments,
    )
    return sender, to, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def prelearn(url: str, people: list[tuple[str, list[str]]], n: int) -> None:
    rng = random.Random(3)
    with Store.open(url) as store:
        store.learn(parse_message(typical(rng, people, -i)[2]) for i in range(1, n + 1))


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Result:
    path: str
    messages: int
    seconds: float
    latencies: list[float]
    errors: int
    milter_cpu: float | None
    machine_cpu: float
    programs: dict[str, float]

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def row(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "messages": self.messages,
            "errors": self.errors,
            "msg_per_s": round(self.messages / self.seconds, 1),
            "p50_ms": round(self.pct(50), 2),
            "p99_ms": round(self.pct(99), 2),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2),
            "milter_cpu_ms_per_msg": (
                round(self.milter_cpu / self.messages * 1000, 2)
                if self.milter_cpu is not None
                else None
            ),
            "machine_cpu_ms_per_msg": round(self.machine_cpu / self.messages * 1000, 2),
            "cpu_ms_per_msg_by_program": {
                name: round(seconds / self.messages * 1000, 3)
                for name, seconds in sorted(self.programs.items(), key=lambda kv: -kv[1])
                if seconds > 0
            },
        }


def load(
    port: int, messages: list[Mail], clients: int, rate: float | None, new_connections: bool
) -> tuple[float, list[float], int]:
    """Send every message once; (seconds, latencies, errors). Paced when `rate` is given."""
    lock = threading.Lock()
    todo = iter(enumerate(messages))
    latencies: list[float] = []
    errors = [0]
    begin = time.perf_counter() + 0.2

    def connect() -> smtplib.SMTP:
        conn = smtplib.SMTP("127.0.0.1", port, timeout=60)
        conn.ehlo("bench.test")
        return conn

    def client() -> None:
        conn = None if new_connections else connect()
        while True:
            with lock:
                item = next(todo, None)
            if item is None:
                break
            k, (sender, to, raw) = item
            start = time.perf_counter()
            if rate is not None:
                due = begin + k / rate
                if due > start:
                    time.sleep(due - start)
                start = due
            try:
                if new_connections:
                    with connect() as one:
                        ok = not one.sendmail(sender, to, raw)
                else:
                    assert conn is not None
                    ok = not conn.sendmail(sender, to, raw)
            except (smtplib.SMTPException, OSError):
                ok = False
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)
                errors[0] += not ok
        if conn is not None:
            conn.quit()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, errors[0]


def cpu_seconds(pid: int) -> float:
    """CPU time of the process and its live children (the workers of `--processes`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(cpu_seconds(int(child)) for child in children)


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine: Postfix, the clients, the sink, the milter, the rest."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cpu_by_program(names: dict[int, str]) -> dict[str, float]:
    """CPU seconds of every live process, summed by program: Postfix's daemons by name, and the
    benchmark's own processes by the role `names` gives their pids (milter workers by parent)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        pid, ppid = int(entry.name), int(fields[1])
        name = names.get(pid) or names.get(ppid) or head.split("(", 1)[1]
        if name.startswith("kworker/"):  # named after their current work item, which changes
            name = "kernel workers"
        found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    lab = lab_module()
    people = senders(args.senders)
    rng = random.Random(args.seed)
    counter = iter(range(10**9))

    def batch(n: int) -> list[Mail]:
        return [typical(rng, people, next(counter)) for _ in range(n)]

    phases = [("flat out", args.messages, None), (f"{args.rate:g}/s", args.paced, args.rate)]
    postfix = lab.Postfix(Path(args.postfix_dir))
    many = f"milter-{args.processes}p"
    names = chosen(args.paths, many)
    ports = {name: lab.free_port() for name in names}
    listen = milter_sockets(names, many, postfix.sockets, lab.free_port())
    processes = {many: args.processes}
    with tempfile.TemporaryDirectory() as tmp:
        urls = {name: f"sqlite:///{Path(tmp) / name}.db" for name in listen if "null" not in name}
        for url in urls.values():
            prelearn(url, people, 2000)
        pin(args.pin, "mta")
        sink, sink_port = start_sink()
        postfix.configure(sink_port, {ports[n]: listen.get(n) for n in ports})
        if args.pin:  # on one core delivery lags arrival, and smtpd would pause 1 s a message
            postfix._run(lab.POSTCONF, "-c", str(postfix.config), "-e", "in_flow_delay = 0")
        milters = start_milters(lab, listen, urls, processes, Path(tmp), postfix.env, args.pin)
        results: dict[tuple[str, str], list[Result]] = {}
        try:
            postfix.launch()
            for milter in milters.values():
                milter.wait_ready(60)
            roles = {os.getpid(): "clients", sink.pid: "sink"}
            for milter in milters.values():
                assert milter.process is not None
                roles[milter.process.pid] = "milter"
            warm = batch(args.warmup)
            for port in ports.values():
                load(port, warm, args.clients, None, args.new_connections)
            for phase, count, rate in phases:
                for _ in range(args.rounds):
                    messages = batch(max(1, count // args.rounds))
                    for name, port in ports.items():
                        drain(postfix, lab)
                        settle([m.process.pid for m in milters.values() if m.process])
                        milter = milters.get(name)
                        pid = milter.process.pid if milter else None
                        before = cpu_seconds(pid) if pid else 0.0
                        machine = machine_cpu_seconds()
                        programs = cpu_by_program(roles)
                        seconds, latencies, errors = load(
                            port, messages, args.clients, rate, args.new_connections
                        )
                        cpu = cpu_seconds(pid) - before if pid else None
                        machine = machine_cpu_seconds() - machine
                        after = cpu_by_program(roles)
                        spent = {k: v - programs.get(k, 0.0) for k, v in after.items()}
                        results.setdefault((phase, name), []).append(
                            Result(
                                name, len(messages), seconds, latencies, errors, cpu, machine, spent
                            )
                        )
        finally:
            for milter in milters.values():
                milter.stop()
            postfix.stop()
            sink.send_signal(signal.SIGTERM)
            sink.wait(30)
    return summarise(results)


def start_milters(
    lab: ModuleType,
    listen: dict[str, str],
    urls: dict[str, str],
    processes: dict[str, int],
    tmp: Path,
    env: dict[str, str],
    pinned: bool,
) -> dict[str, Any]:
    """Every path's milter, started; the nolearn path with learning from traffic turned off."""
    no_learning = tmp / "nolearn.toml"
    no_learning.write_text("[learn]\nfrom_traffic = false\n")
    pin(pinned, "milter")
    milters = {
        name: null_milter(lab, spec, name, tmp, env)
        if "null" in name
        else lab.MilterProcess(
            spec,
            urls[name],
            extra=["--log-level", "WARNING", "--processes", str(processes.get(name, 1))],
            config=no_learning if name == "milter-nolearn" else None,
            log=tmp / f"{name}.log",
            env=env,
        ).start()
        for name, spec in listen.items()
    }
    pin(pinned, "mta")
    return milters


def pin(on: bool, role: str) -> None:
    """With `--pin`, what this process starts next runs on core 0 (MTA side) or core 1 (milter).

    Postfix, the clients and the sink then share one core and the milters have the other, as a
    milter on its own host would: what Postfix pays for the protocol stays on Postfix's core,
    what the check costs does not.
    """
    if on:
        os.sched_setaffinity(0, {0} if role == "mta" else {1})


def chosen(paths: str | None, many: str) -> list[str]:
    """The paths to run, plain always among them (every ratio is against it)."""
    names = [
        name.replace("milter-Np", many) for name in (paths.split(",") if paths else DEFAULT_PATHS)
    ]
    return names if "plain" in names else ["plain", *names]


def milter_sockets(names: list[str], many: str, where: Path, tcp_port: int) -> dict[str, str]:
    """Where each path's milter listens, in Postfix's notation."""
    sockets = {
        "milter": f"unix:{where / 'bench.sock'}",
        "milter-nolearn": f"unix:{where / 'bench-nolearn.sock'}",
        many: f"unix:{where / 'bench-many.sock'}",
        "milter-tcp": f"inet:127.0.0.1:{tcp_port}",
        "milter-null": f"unix:{where / 'bench-null.sock'}",
        "milter-null-bare": f"unix:{where / 'bench-null-bare.sock'}",
    }
    unknown = set(names) - set(sockets) - {"plain"}
    if unknown:
        raise SystemExit(f"unknown paths: {', '.join(sorted(unknown))}")
    return {name: sockets[name] for name in names if name != "plain"}


def null_milter(lab: ModuleType, spec: str, name: str, tmp: Path, env: dict[str, str]) -> Any:
    """benchmarks/null_milter.py in place of `missend serve milter`, started; stopped alike."""
    milter = lab.MilterProcess(spec, "", log=tmp / f"{name}.log", env=env)
    milter.args = ["--listen", spec] + (["--bare"] if name.endswith("bare") else [])

    def start() -> Any:
        with milter.log.open("ab") as log:
            milter.process = subprocess.Popen(
                [sys.executable, str(REPO / "benchmarks/null_milter.py"), *milter.args],
                stdout=log,
                stderr=log,
                env=milter.env,
            )
        return milter

    milter.start = start
    return start()


def settle(pids: list[int], timeout: float = 120.0) -> None:
    """Wait until every milter's learner has caught up, so no round pays for an earlier one's."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(0.5)
        if sum(cpu_seconds(pid) for pid in pids) - before < 0.02:
            return


def drain(postfix: Any, lab: ModuleType, timeout: float = 300.0) -> None:
    lab.wait_for(lambda: not postfix.queue(), timeout, "Postfix to deliver its queue", 0.2)


def pooled(runs: list[Result]) -> Result:
    """The rounds of one path as one run: every path met the same background, round by round."""
    cpu = [r.milter_cpu for r in runs]
    return Result(
        runs[0].path,
        sum(r.messages for r in runs),
        sum(r.seconds for r in runs),
        [t for r in runs for t in r.latencies],
        sum(r.errors for r in runs),
        None if None in cpu else sum(c for c in cpu if c is not None),
        sum(r.machine_cpu for r in runs),
        {k: sum(r.programs.get(k, 0.0) for r in runs) for r in runs for k in r.programs},
    )


def summarise(results: dict[tuple[str, str], list[Result]]) -> list[dict[str, Any]]:
    rows = [{"load": phase, **pooled(runs).row()} for (phase, _), runs in results.items()]
    for row in rows:
        plain = next(r for r in rows if r["path"] == "plain" and r["load"] == row["load"])
        row["added_p50_ms"] = round(row["p50_ms"] - plain["p50_ms"], 2)
        row["added_p99_ms"] = round(row["p99_ms"] - plain["p99_ms"], 2)
        row["throughput_vs_plain"] = f"{row['msg_per_s'] / plain['msg_per_s']:.0%}"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", choices=["sink"], help=argparse.SUPPRESS)
    parser.add_argument("--messages", type=int, default=2000, help="Messages per flat-out run.")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--new-connections", action="store_true", help="One connection a message.")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="Rounds the messages are split into, paths taking turns.",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--senders", type=int, default=100, help="Distinct senders in the mix.")
    parser.add_argument("--rate", type=float, default=50.0, help="Paced load, messages/s.")
    parser.add_argument("--paced", type=int, default=600, help="Messages in each paced run.")
    parser.add_argument(
        "--postfix-dir", default="/var/tmp/missend-bench-postfix", help="The private instance."
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="Processes of the milter-Np path (--processes)."
    )
    parser.add_argument(
        "--paths",
        help=f"Comma-separated paths to run (default {','.join(DEFAULT_PATHS)}; "
        "also milter-null, milter-null-bare).",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="Postfix, clients and sink on core 0, the milters on core 1 (a milter host of its own).",
    )
    parser.add_argument("--json", type=Path, help="Also write the rows here.")
    args = parser.parse_args()
    if args.mode == "sink":
        serve_sink()
        return
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    rows = run(args)
    postfix_version = subprocess.run(
        ["/usr/sbin/postconf", "-d", "-h", "mail_version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(
        f"load average before the run: {load_before:.2f}; took {time.perf_counter() - started:.0f}s"
    )
    print(
        f"Postfix {postfix_version}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores; {args.messages} messages flat out, "
        f"{args.paced} paced, {args.senders} senders, {args.clients} clients "
        f"({'new connection per message' if args.new_connections else 'kept-open connections'}), "
        f"in {args.rounds} rounds, paths taking turns"
    )
    header = [
        "load",
        "path",
        "msg_per_s",
        "throughput_vs_plain",
        "p50_ms",
        "p99_ms",
        "added_p50_ms",
        "added_p99_ms",
        "milter_cpu_ms_per_msg",
        "machine_cpu_ms_per_msg",
        "errors",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in header) + " |")
    print("\nCPU ms per message by program (flat out; processes alive at both ends of a round):")
    for row in rows:
        if row["load"] == "flat out":
            top = list(row["cpu_ms_per_msg_by_program"].items())[:8]
            print(f"- {row['path']}: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
