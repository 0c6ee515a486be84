"""How often each detector warns on real, clean sent mail: the false-warning rate users would see.

Per archive (one person's sent mail) the messages are put in date order; the first part is learned,
and the rest is checked in order, each message learned after it is checked, as the relay does. No
message is checked against a history that contains it or anything later.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from missend.engine import Engine
from missend.history.archive import is_mbox
from missend.history.model import SenderHistory
from missend.learning.replay import load
from missend.message import Message
from missend.policy import Policy
from missend.verdict import Action


@dataclass
class CleanReport:
    """Counts over the checked (test) messages of one or more archives."""

    archives: int = 0
    learned: int = 0
    checked: int = 0
    all_internal: int = 0
    multi_recipient: int = 0
    warned: Counter[str] = field(default_factory=Counter)
    warned_all_internal: Counter[str] = field(default_factory=Counter)
    any_warning: int = 0
    count_rule: Counter[str] = field(default_factory=Counter)
    count_rule_all_internal: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)

    def add(self, other: CleanReport) -> None:
        for name, value in vars(other).items():
            mine = getattr(self, name)
            if isinstance(mine, Counter):
                mine.update(value)
            else:
                setattr(self, name, mine + value)

    def share(self, n: int) -> float:
        return n / self.checked if self.checked else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = {k: dict(v) if isinstance(v, Counter) else v for k, v in vars(self).items()}
        data["warned_share"] = {k: self.share(v) for k, v in self.warned.items()}
        data["any_warning_share"] = self.share(self.any_warning)
        data["count_rule_share"] = {k: self.share(v) for k, v in self.count_rule.items()}
        return data


def evaluate_archive(
    path: Path,
    train_fraction: float = 0.8,
    policy: Policy | None = None,
    models: Mapping[str, Any] | None = None,
) -> CleanReport:
    engine = Engine(policy, models=models)
    messages = load(path)
    cut = int(len(messages) * train_fraction)
    histories: dict[str, SenderHistory] = {}

    def history_of(m: Message) -> SenderHistory:
        sender = m.sender.email if m.sender else ""
        if sender not in histories:
            histories[sender] = SenderHistory(sender)
        return histories[sender]

    for m in messages[:cut]:
        history_of(m).observe(m)
    report = CleanReport(archives=1, learned=cut)
    for m in messages[cut:]:
        h = history_of(m)
        verdict = engine.check(m, h)
        h.observe(m)
        report.checked += 1
        report.actions[str(verdict.action)] += 1
        orgs = (
            engine.orgs.with_internal([h.sender.rpartition("@")[2]])
            if not engine.orgs.internal
            else engine.orgs
        )
        others = [r for r in m.recipients if r.email != h.sender]
        internal = bool(others) and all(orgs.is_internal(r.email) for r in others)
        report.all_internal += internal
        report.multi_recipient += len(others) > 1
        visible = len([r for r in others if r.visible])
        for name, threshold in (("15+ visible (Thunderbird)", 15), ("25+ visible (Exchange)", 25)):
            if visible >= threshold:
                report.count_rule[name] += 1
                report.count_rule_all_internal[name] += internal
        warned = {d.finding.detector for d in verdict.findings if d.action.rank >= Action.WARN.rank}
        report.any_warning += bool(warned)
        for name in warned:
            report.warned[name] += 1
            report.warned_all_internal[name] += internal
    return report


def archives_in(paths: Iterable[Path]) -> list[Path]:
    return list(_archives(paths))


def _archives(paths: Iterable[Path]) -> Iterator[Path]:
    """Each path is one person's mail, unless it is a folder of mboxes or folders (one per
    person); a folder of single messages (.eml, MH or Enron's numbered files) is one archive."""
    for path in paths:
        if path.is_dir() and not (path / "cur").is_dir():
            children = sorted(p for p in path.iterdir() if not p.name.startswith("."))
            if any(c.is_dir() or is_mbox(c) for c in children):
                yield from children
                continue
        yield path


def evaluate(
    paths: Iterable[Path],
    train_fraction: float = 0.8,
    policy: Policy | None = None,
    workers: int = 1,
    progress: Callable[[], None] | None = None,
    models: Mapping[str, Any] | None = None,
) -> CleanReport:
    """Evaluate each archive on its own (one person's mail each) and add the counts up."""
    archives = list(_archives(paths))
    total = CleanReport()
    n = len(archives)
    args = (archives, [train_fraction] * n, [policy] * n, [models] * n)
    if workers <= 1:
        results: Iterable[CleanReport] = map(evaluate_archive, *args)
        for r in results:
            total.add(r)
            if progress:
                progress()
        return total
    with ProcessPoolExecutor(workers) as pool:
        for r in pool.map(evaluate_archive, *args):
            total.add(r)
            if progress:
                progress()
    return total


def write_json(report: CleanReport, path: Path) -> None:
    path.write_text(json.dumps(report.to_dict(), indent=2, sort_keys=True))
