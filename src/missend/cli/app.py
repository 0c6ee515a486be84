"""The `missend` command line.

Exit codes of `check` follow the worst verdict so scripts can gate on them: 0 allow, 1 warn,
2 fix/hold/block; 3 means something could not be checked at all (unreadable file, bad policy,
store down), which a script must never mistake for "allow".
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from missend.cli.report import render
from missend.cli.serve import serve_app
from missend.detectors import default_registry
from missend.detectors.base import FixKind
from missend.engine import Engine
from missend.history.model import SenderHistory
from missend.message import parse_message
from missend.policy import Policy, PolicyError
from missend.rewrite import RecipientChange, rewrite_recipients
from missend.verdict import Verdict

if TYPE_CHECKING:
    from missend.evaluation.clean import CleanReport
    from missend.history.store import Store

EXIT_ERROR = 3
app = typer.Typer(
    help="Stop outbound e-mail mis-sends before they become personal-data breaches.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)
app.add_typer(serve_app, name="serve")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of the history store (default: a SQLite file in your data folder).",
    ),
]
PolicyOption = Annotated[
    Path | None, typer.Option("--policy", help="Policy TOML file (default: built-in policy).")
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(EXIT_ERROR)


def _engine(policy_path: Path | None, store: Store | None = None) -> Engine:
    from missend.history.store import StoreError
    from missend.learning.store import models_for

    try:
        return Engine(
            Policy.load(policy_path, default_registry().names()), models=models_for(store)
        )
    except PolicyError as exc:
        raise _fail(str(exc)) from exc
    except StoreError as exc:
        raise _fail(str(exc)) from exc


def _store(db: str | None) -> Store:
    from missend.history.store import Store, StoreError, default_url

    try:
        return Store.open(db or default_url())
    except StoreError as exc:
        raise _fail(str(exc)) from exc


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
            )
        else:
            yield path


@app.command()
def check(
    paths: Annotated[list[Path], typer.Argument(help="Message files (.eml) or folders of them.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON verdict per line.")] = False,
    db: DbOption = None,
    policy: PolicyOption = None,
    envelope_from: Annotated[str | None, typer.Option(help="SMTP MAIL FROM, when known.")] = None,
    envelope_to: Annotated[
        list[str] | None,
        typer.Option(help="SMTP RCPT TO (repeat); recipients not in To/Cc are Bcc."),
    ] = None,
    no_history: Annotated[bool, typer.Option(help="Check without the sender's history.")] = False,
) -> None:
    """Check messages before they are sent and explain the risks found."""
    store = None if no_history else _store(db)
    engine = _engine(policy, store)
    histories: dict[str, SenderHistory] = {}
    worst = 0
    for path in _files(paths):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            err.print(f"[red]{path}: cannot read ({exc.strerror})[/]")
            worst = max(worst, EXIT_ERROR)
            continue
        message = parse_message(raw, envelope_from, envelope_to or ())
        sender = message.sender.email if message.sender else ""
        if sender not in histories:
            histories[sender] = store.snapshot(sender) if store else SenderHistory(sender)
        history = (
            store.reveal(histories[sender], message.recipients) if store else histories[sender]
        )
        verdict = engine.check(message, history)
        worst = max(worst, verdict.action.exit_code)
        if as_json:
            sys.stdout.write(json.dumps({"file": str(path), **verdict.to_dict()}) + "\n")
        else:
            render(out, verdict, str(path))
    raise typer.Exit(worst)


class LearnEngine(StrEnum):
    local = "local"
    spark = "spark"


@app.command()
def learn(
    path: Annotated[
        Path, typer.Argument(help="An mbox (.mbox, .mbox.gz), Maildir, .eml file or folder.")
    ],
    db: DbOption = None,
    train: Annotated[
        bool,
        typer.Option("--train/--no-train", help="Also train the misdirect model on this mail."),
    ] = True,
    workers: Annotated[int, typer.Option(help="Processes for training.")] = 2,
    engine: Annotated[
        LearnEngine,
        typer.Option(
            help="local: this machine; spark: Apache Spark (needs pyspark: the spark extra)."
        ),
    ] = LearnEngine.local,
    master: Annotated[
        str, typer.Option(help="Spark master URL for --engine spark, e.g. spark://host:7077.")
    ] = "local[*]",
) -> None:
    """Learn each sender's normal from their sent mail. Safe to run again on the same archive."""
    from missend.history.archive import count_messages
    from missend.learning.ingest import learn_archive

    if not path.exists():
        raise _fail(f"{path} does not exist")
    if engine is LearnEngine.spark:
        _learn_spark(path, db, train, master)
        return
    store = _store(db)
    total = count_messages(path)
    with Progress(
        TextColumn("[bold]learning[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task("learn", total=total)
        report = learn_archive(store, path, progress=lambda n: progress.advance(task, n))
    out.print(
        f"learned {report.learned} new messages from {report.senders} sender(s); "
        f"{report.skipped} already known"
    )
    if train:
        _train(store, path, workers)


def _learn_spark(path: Path, db: str | None, train: bool, master: str) -> None:
    from missend.history.store import StoreError, default_url

    try:
        from missend.learning.spark import learn as spark_learn
    except ImportError as exc:
        raise _fail(f"--engine spark needs pyspark, the spark extra ({exc})") from exc
    try:
        report = spark_learn(
            [path], db or default_url(), master=master, train=train, status=err.print
        )
    except StoreError as exc:
        raise _fail(str(exc)) from exc
    out.print(
        f"learned {report.learned} new messages from {report.senders} sender(s); "
        f"{report.skipped} already known"
    )
    if not train:
        return
    if report.model_version is None or report.thresholds is None:
        out.print(f"misdirect model not trained: {report.not_trained}; the rules decide alone")
        return
    out.print(
        f"trained misdirect model version {report.model_version} on {report.trained_on} examples; "
        f"warns above {report.thresholds['0.01']:.4f} (1% of ordinary mail)"
    )


def _train(store: Store, path: Path, workers: int) -> None:
    from missend.evaluation.clean import archives_in
    from missend.learning.store import save, train_from_archives

    archives = archives_in([path])
    with Progress(
        TextColumn("[bold]training[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        task = progress.add_task("train", total=len(archives))
        try:
            model = train_from_archives(archives, workers, progress=lambda: progress.advance(task))
        except ValueError as exc:
            out.print(f"misdirect model not trained: {exc}; the rules decide alone")
            return
    version = save(store, model)
    out.print(
        f"trained misdirect model version {version} on {model.trained_on} examples; "
        f"warns above {model.thresholds['0.01']:.4f} (1% of ordinary mail)"
    )


@app.command()
def fix(
    path: Annotated[Path, typer.Argument(help="The draft to correct.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write the corrected draft.")
    ],
    db: DbOption = None,
    policy: PolicyOption = None,
    all_fixes: Annotated[
        bool, typer.Option("--all", help="Also remove or replace misdirected recipients.")
    ] = False,
    no_history: Annotated[bool, typer.Option(help="Check without the sender's history.")] = False,
) -> None:
    """Write the draft with the recommended recipient fixes applied (exposed recipients → Bcc)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(f"{path}: cannot read ({exc.strerror})") from exc
    store = None if no_history else _store(db)
    engine = _engine(policy, store)
    message = parse_message(raw)
    sender = message.sender.email if message.sender else ""
    history = store.snapshot(sender, message.recipients) if store else SenderHistory(sender)
    verdict = engine.check(message, history)
    change = change_for(verdict, all_fixes)
    output.write_bytes(rewrite_recipients(raw, change))
    moved, removed = len(change.to_bcc), len(change.remove) + len(change.replace or {})
    out.print(f"wrote {output}: {moved} recipient(s) moved to Bcc, {removed} removed or replaced")


def change_for(verdict: Verdict, all_fixes: bool) -> RecipientChange:
    to_bcc: set[str] = set()
    remove: set[str] = set()
    replace: dict[str, str] = {}
    for fix_ in verdict.fixes:
        if fix_.kind == FixKind.MOVE_TO_BCC:
            to_bcc.update(fix_.recipients)
        elif all_fixes and fix_.kind == FixKind.REMOVE_RECIPIENTS:
            remove.update(fix_.recipients)
        elif all_fixes and fix_.kind == FixKind.REPLACE_RECIPIENT:
            replace.update(fix_.replacements)
    return RecipientChange(frozenset(to_bcc), frozenset(remove), replace or None)


@app.command()
def evaluate(
    archives: Annotated[list[Path], typer.Argument(help="Archives, one person's sent mail each.")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures here.")
    ] = None,
    train_fraction: Annotated[
        float, typer.Option(help="Share of each archive learned first.")
    ] = 0.8,
    workers: Annotated[int, typer.Option(help="Processes to use.")] = 2,
    misdirect: Annotated[
        bool,
        typer.Option(help="Also simulate mis-sends and train and judge the misdirect model."),
    ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the simulated mis-sends.")] = 0,
    policy: PolicyOption = None,
) -> None:
    """Measure missend on real sent mail: learn each archive's first part, check the rest in date
    order. Reports simulated mis-sends caught at 0.5/1/2% of clean mail warned (also for slips
    made by recipes the model never trains on), and how often each detector warns on the clean
    mail itself."""
    from missend.evaluation.clean import archives_in
    from missend.evaluation.clean import evaluate as run_clean
    from missend.evaluation.misdirect import evaluate as run_misdirect

    found = archives_in(archives)
    if not found:
        raise _fail("no archives found")
    engine_policy = _engine(policy).policy
    result: dict[str, Any] = {"archives": [str(p) for p in found], "seed": seed}
    models: dict[str, Any] = {}
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    if misdirect:
        with Progress(TextColumn("[bold]replaying and training[/]"), *columns, console=err) as bar:
            task = bar.add_task("replay", total=len(found))
            report, model = run_misdirect(
                found, train_fraction, seed, workers, lambda: bar.advance(task)
            )
        models["misdirect"] = model
        render_misdirect(report)
        result.update(flagged_at=report["flagged_at"], top1_at=report["top1_at"], misdirect=report)
    with Progress(TextColumn("[bold]checking clean mail[/]"), *columns, console=err) as bar:
        task = bar.add_task("clean", total=len(found))
        clean = run_clean(
            found, train_fraction, engine_policy, workers, lambda: bar.advance(task), models
        )
    render_clean(clean)
    result["clean"] = clean.to_dict()
    result["exposed_recipients_multi_recipient_share"] = (
        clean.warned["exposed-recipients"] / clean.multi_recipient if clean.multi_recipient else 0.0
    )
    if json_out:
        json_out.write_text(json.dumps(result, indent=2, sort_keys=True))


def render_misdirect(report: dict[str, Any]) -> None:
    from rich.table import Column, Table

    out.print(
        f"{report['archives']} archives: {report['test_messages']} test messages, "
        f"{report['simulated_missends']} simulated mis-sends"
    )
    table = Table(
        "clean mail warned",
        "model: flagged",
        "model: wrong one ranked first",
        "rules only: flagged",
        "rules only: ranked first",
    )
    for rate in ("0.005", "0.01", "0.02"):
        table.add_row(
            f"{float(rate):.1%}",
            f"{report['flagged_at'][rate]:.1%}",
            f"{report['top1_at'][rate]:.1%}",
            f"{report['rules']['flagged_at'][rate]:.1%}",
            f"{report['rules']['top1_at'][rate]:.1%}",
        )
    out.print(table)
    scenarios = Table(
        Column("at 1% clean warned", no_wrap=True, min_width=14),
        "cases",
        "model: flagged",
        "model: ranked first",
        "rules only: flagged",
        "model: flagged, reply quoting its author / not",
        "model: flagged, meant for a known / new address",
    )
    rules = report["rules"]["detail"]["0.01"]["by_scenario"]
    quoting = report["model"]["0.01"]["by_quoting"]
    intended = report["model"]["0.01"]["by_intended"]
    for name, row in report["model"]["0.01"]["by_scenario"].items():
        split = quoting.get(name, {})
        meant = intended.get(name, {})
        scenarios.add_row(
            name,
            str(row["cases"]),
            f"{row['flagged']:.1%}",
            f"{row['top1']:.1%}",
            f"{rules.get(name, {}).get('flagged', 0.0):.1%}",
            " / ".join(
                f"{split[kind]['flagged']:.0%}" if kind in split else "-"
                for kind in ("quoted", "unquoted")
            ),
            " / ".join(
                f"{meant[kind]['flagged']:.0%}" if kind in meant else "-"
                for kind in ("known", "new")
            ),
        )
    out.print(scenarios)
    held = report["held_out"]
    if held["0.01"]["by_scenario"]:
        unseen = Table(
            Column("recipes never trained on", no_wrap=True, min_width=14),
            "cases",
            "flagged at 0.5% / 1% / 2% clean warned",
            "ranked first at 1%",
        )
        for name, row in held["0.01"]["by_scenario"].items():
            unseen.add_row(
                name,
                str(row["cases"]),
                " / ".join(
                    f"{held[r]['by_scenario'][name]['flagged']:.1%}"
                    for r in ("0.005", "0.01", "0.02")
                ),
                f"{row['top1']:.1%}",
            )
        out.print(unseen)
    deployed = report["deployed_threshold"]
    out.print(
        f"with the model's own threshold (set on its training mail): {deployed['clean_warned']:.2%} "
        f"of clean test mail warned, {deployed['flagged']:.1%} of mis-sends flagged"
    )


def render_clean(report: CleanReport) -> None:
    from rich.table import Table

    out.print(
        f"{report.archives} archives: learned {report.learned} messages, checked {report.checked} "
        f"in date order ({report.all_internal} all-internal, {report.multi_recipient} with 2+ recipients)"
    )
    table = Table("warns on", "messages", "share of checked", "of them all-internal")
    for name, n in sorted(report.warned.items()):
        table.add_row(name, str(n), f"{report.share(n):.2%}", str(report.warned_all_internal[name]))
    table.add_row(
        "any detector", str(report.any_warning), f"{report.share(report.any_warning):.2%}", ""
    )
    for name, n in sorted(report.count_rule.items()):
        table.add_row(
            f"count rule: {name}",
            str(n),
            f"{report.share(n):.2%}",
            str(report.count_rule_all_internal[name]),
        )
    out.print(table)


@app.command()
def detectors() -> None:
    """List the detectors and what each looks for."""
    for cls in default_registry().classes():
        out.print(f"[bold]{cls.name}[/]: {cls.summary}")


def main() -> None:
    app()


# Delivery points add their commands to `serve_app` (or their own group) in their own modules;
# importing them here registers the commands. One import per module:

import missend.cli.serve_smtp  # noqa: E402
from missend.cli.hold import hold_app  # noqa: E402

app.add_typer(hold_app, name="hold")
from missend.cli.api_cmd import token_app  # noqa: E402
from missend.cli.register_cmd import audit_app, incident_app  # noqa: E402

app.add_typer(token_app, name="token")
app.add_typer(incident_app, name="incident")
app.add_typer(audit_app, name="audit")
import missend.cli.serve_milter  # noqa: E402, F401
from missend.cli.user_cmd import user_app  # noqa: E402

app.add_typer(user_app, name="user")
from missend.cli.privacy_cmd import forget, privacy_app, retention_app  # noqa: E402

app.command()(forget)
app.add_typer(retention_app, name="retention")
app.add_typer(privacy_app, name="privacy")
