"""The human-readable report of a verdict, for a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from missend.verdict import Action, Verdict

_STYLE = {
    Action.ALLOW: "green",
    Action.WARN: "yellow",
    Action.FIX: "cyan",
    Action.HOLD: "magenta",
    Action.BLOCK: "bold red",
}

_HEADLINE = {
    Action.ALLOW: "OK to send",
    Action.WARN: "Check before sending",
    Action.FIX: "Fix before sending",
    Action.HOLD: "Hold for a second look",
    Action.BLOCK: "Do not send",
}


def render(console: Console, verdict: Verdict, label: str) -> None:
    style = _STYLE[verdict.action]
    head = Text()
    head.append(f"{label}: ", style="bold")
    head.append(
        f"{_HEADLINE[verdict.action]} ({verdict.action}, risk {verdict.risk:.2f})", style=style
    )
    console.print(head)
    notes = [d for d in verdict.findings if d.action == Action.ALLOW]
    for decided in verdict.findings:
        if decided.action == Action.ALLOW:
            continue
        f = decided.finding
        line = Text("  • ")
        line.append(
            f"[{f.detector} {f.severity:.2f} → {decided.action}] ", style=_STYLE[decided.action]
        )
        line.append(f.title, style="bold")
        console.print(line)
        console.print(Text(f"    {f.explanation}"))
        if f.fix:
            console.print(Text(f"    Fix: {f.fix.description}", style="cyan"))
    if notes:
        console.print(
            Text(f"  ({len(notes)} minor note(s) below the warning level; see --json)", style="dim")
        )
