"""Command-line delivery point."""
