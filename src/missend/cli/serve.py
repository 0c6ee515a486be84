"""`missend serve ...`: the long-running delivery points. Each adds its command to this group."""

from __future__ import annotations

import typer

serve_app = typer.Typer(help="Run missend in the mail path or as a service.", no_args_is_help=True)
