"""The SMTP relay under bounded load on loopback, beside a plain aiosmtpd relay in the same run.

    python benchmarks/bench_relay.py [--messages 2000] [--clients 8] [--seed 1]

Three paths to the same sink (a separate process that accepts everything):
- direct: the clients talk to the sink itself (the floor);
- plain: an aiosmtpd relay that forwards every message over the same kept-open aiosmtplib pool
  missend uses, without checking anything;
- missend: `missend serve smtp` with the default policy, a SQLite store holding 2,000 messages of
  sender history, learning from every message it relays.
Each client keeps one SMTP connection open and sends messages one after another, as an application
or a submission server would. Two loads: flat out (throughput), and paced at a fixed rate below
saturation, where latency counts from when each message was due (queueing included). Latency is
the client's whole transaction (MAIL to the reply to DATA); "added" is a path's percentile minus
the plain relay's. The relay's CPU time comes from /proc, so what a message costs is visible apart
from the machine's other work. Every run gets fresh messages, so missend learns each one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shlex
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
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from missend.config import UpstreamConfig
from missend.history.store import Store
from missend.message import parse_message
from missend.smtp.testing import crlf
from missend.smtp.upstream import Upstream, UpstreamError
from missend.testing import raw_message

CLI = [sys.executable, "-c", "from missend.cli.app import main; main()"]
WORDS = """application appointment benefit case claim council decision document evidence form
housing interview letter meeting office payment reference request review schedule support team
update visit week month report account address contact details information service""".split()
WEBMAIL = ["gmail.com", "hotmail.com", "yahoo.co.uk", "outlook.com"]


# --- the servers, each run in its own process -------------------------------------------------


class CountingSink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        return "250 OK"


class PlainRelay:
    """What a relay costs without missend: receive, forward over a kept-open pool, answer."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mail_from = "" if envelope.mail_from in (None, "<>") else str(envelope.mail_from)
        try:
            await self.upstream.send(
                mail_from, list(envelope.rcpt_tos), envelope.original_content or b""
            )
        except UpstreamError as exc:
            return exc.reply.line()
        return "250 OK"


def serve(handler: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="bench.test", loop=loop), "127.0.0.1", 0
        )
        host, port = server.sockets[0].getsockname()[:2]
        print(f"listening on {host}:{port}", flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()

    asyncio.run(main())


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Child:
    proc: subprocess.Popen[str]
    port: int

    @classmethod
    def start(cls, args: list[str], stream: str = "stdout") -> Child:
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL,
            stderr=subprocess.PIPE if stream == "stderr" else subprocess.DEVNULL,
            text=True,
        )
        pipe = proc.stdout if stream == "stdout" else proc.stderr
        assert pipe is not None
        for line in pipe:
            if "listening on" in line:
                threading.Thread(target=lambda: [None for _ in pipe], daemon=True).start()
                return cls(proc, int(line.rsplit(":", 1)[1]))
        raise RuntimeError(f"{args} did not start")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


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


def typical(
    rng: random.Random, people: list[tuple[str, list[str]]], i: int
) -> tuple[str, list[str], bytes]:
    """A typical message: one sender, 1-4 usual recipients, 100-400 words, sometimes a CSV."""
    sender, contacts = rng.choice(people)
    to = rng.sample(contacts, rng.randint(1, 4))
    attachments = []
    if rng.random() < 0.1:
        attachments = [
            (
                "figures.csv",
                "text/csv",
                b"week,cases\n" + b"".join(b"%d,%d\n" % (w, rng.randint(1, 90)) for w in range(30)),
            )
        ]
    raw = raw_message(
        sender,
        to,
        subject=f"Case {rng.randint(1000, 9999)} {rng.choice(WORDS)}",
        body=text(rng, rng.randint(100, 400)),
        message_id=f"<bench{i}.{rng.randint(0, 10**9)}@agency.example.gov.uk>",
        attachments=attachments,
    )
    return sender, to, crlf(raw)


def prelearn(url: str, people: list[tuple[str, list[str]]], n: int) -> None:
    rng = random.Random(3)
    with Store.open(url) as store:
        store.learn(parse_message(typical(rng, people, -i)[2]) for i in range(1, n + 1))


@dataclass
class Result:
    path: str
    messages: int
    seconds: float
    latencies: list[float]
    errors: int
    relay_cpu: float | None

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
            "relay_cpu_ms_per_msg": (
                round(self.relay_cpu / self.messages * 1000, 2)
                if self.relay_cpu is not None
                else None
            ),
        }


def load(
    port: int,
    messages: list[tuple[str, list[str], bytes]],
    clients: int,
    rate: float | None = None,
) -> tuple[float, list[float], int]:
    """Send every message once over `clients` kept-open connections; (seconds, latencies, errors).

    Flat out when `rate` is None. Paced otherwise: message k is due at k/rate seconds, and its
    latency runs from when it was due, so a relay that falls behind is charged for the queue.
    """
    lock = threading.Lock()
    todo = iter(enumerate(messages))
    latencies: list[float] = []
    errors = [0]
    begin = time.perf_counter() + 0.2

    def client() -> None:
        conn = smtplib.SMTP("127.0.0.1", port, timeout=60)
        conn.ehlo("bench.test")
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
                refused = conn.sendmail(sender, to, raw)
                ok = not refused
            except smtplib.SMTPException:
                ok = False
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)
                errors[0] += not ok
        conn.quit()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, errors[0]


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    people = senders(args.senders)
    rng = random.Random(args.seed)
    counter = iter(range(10**9))

    def batch(n: int) -> list[tuple[str, list[str], bytes]]:
        return [typical(rng, people, next(counter)) for _ in range(n)]

    phases = [("flat out", args.messages, None), (f"{args.rate:g}/s", args.paced, args.rate)]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        prelearn(url, people, 2000)
        sink = Child.start([sys.executable, __file__, "sink"])
        plain = Child.start([sys.executable, __file__, "plain", "--upstream", str(sink.port)])
        relay = Child.start(
            [*CLI, "serve", "smtp", "--listen", "127.0.0.1:0", "--upstream",
             f"127.0.0.1:{sink.port}", "--db", url, "--log-level", "WARNING",
             *shlex.split(args.relay_args)],
            stream="stderr",
        )  # fmt: skip
        paths = {"direct": (sink, None), "plain": (plain, plain), "missend": (relay, relay)}
        results: dict[tuple[str, str], list[Result]] = {}
        try:
            warm = batch(args.warmup)
            for target, _ in paths.values():
                load(target.port, warm, args.clients)
            for _ in range(args.rounds):
                for phase, count, rate in phases:
                    messages = batch(count)  # new Message-IDs: the relay learns each round anew
                    for name, (target, measured) in paths.items():
                        time.sleep(args.settle)  # the last run's learning is written by now
                        before = measured.cpu_seconds() if measured else 0.0
                        seconds, latencies, errors = load(target.port, messages, args.clients, rate)
                        cpu = measured.cpu_seconds() - before if measured else None
                        results.setdefault((phase, name), []).append(
                            Result(name, len(messages), seconds, latencies, errors, cpu)
                        )
        finally:
            for child in (relay, plain, sink):
                child.stop()
    rows = []
    for (phase, _), runs in results.items():
        if phase == "flat out":
            best = max(runs, key=lambda r: r.messages / r.seconds)
        else:
            best = min(runs, key=lambda r: r.pct(99))
        rows.append({"load": phase, **best.row()})
    for row in rows:
        plain_row = next(r for r in rows if r["path"] == "plain" and r["load"] == row["load"])
        row["added_p50_ms"] = round(row["p50_ms"] - plain_row["p50_ms"], 2)
        row["added_p99_ms"] = round(row["p99_ms"] - plain_row["p99_ms"], 2)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode")
    sub.add_parser("sink")
    plain = sub.add_parser("plain")
    plain.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="Rounds per path; the best is kept (throughput flat out, p99 when paced).",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--senders", type=int, default=100, help="Distinct senders in the mix.")
    parser.add_argument("--rate", type=float, default=100.0, help="Paced load, messages/s.")
    parser.add_argument("--paced", type=int, default=800, help="Messages in the paced run.")
    parser.add_argument(
        "--settle",
        type=float,
        default=7.0,
        help="Seconds of quiet before each run, so the relay has written the last run's learning.",
    )
    parser.add_argument("--json", type=Path, help="Also write the rows here.")
    parser.add_argument(
        "--relay-args",
        default="",
        help="More `missend serve smtp` options in one string, e.g. '--workers 2'.",
    )
    args = parser.parse_args()
    if args.mode == "sink":
        serve(CountingSink())
        return
    if args.mode == "plain":
        serve(PlainRelay(Upstream(UpstreamConfig(host="127.0.0.1", port=args.upstream))))
        return
    load_before = os.getloadavg()[0]
    rows = run(args)
    print(f"load average before the run: {load_before:.2f}")
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores; "
          f"{args.messages} messages from {args.senders} senders, {args.clients} clients, "
          f"best of {args.rounds} rounds")  # fmt: skip
    header = [
        "load",
        "path",
        "msg_per_s",
        "p50_ms",
        "p99_ms",
        "added_p50_ms",
        "added_p99_ms",
        "relay_cpu_ms_per_msg",
        "errors",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in header) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
