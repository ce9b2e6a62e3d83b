"""What every command shares: the stderr console and the mapping of errors to exit codes."""

from __future__ import annotations

import functools
import os
import sys
from enum import Enum

import typer
from rich.console import Console

from vocal_remover.errors import ConfigError, VocalRemoverError

DEBUG_ENV = "VOCAL_REMOVER_DEBUG"  # set to 1 to see tracebacks

class ProgressMode(str, Enum):
    """--progress: auto (a bar on a terminal, else nothing), bar, json (lines on stderr), none."""

    auto = "auto"
    bar = "bar"
    json = "json"
    none = "none"


# Stdout is for results (paths, JSON); progress, logs and errors go to stderr.
console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> "typer.Exit":
    console.print(f"[red]Error:[/red] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def guarded(fn):
    """Run a command: user errors become one `Error: ...` line (exit 1, or 2 for bad options);
    Ctrl-C exits 130; set VOCAL_REMOVER_DEBUG=1 to get the traceback instead."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ConfigError as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            raise fail(str(exc), 2) from None
        except VocalRemoverError as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            raise fail(str(exc), 1) from None
        except KeyboardInterrupt:
            console.print("Interrupted.")
            sys.exit(130)

    return wrapper
