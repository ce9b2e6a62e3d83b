"""What every command shares: the consoles, markup-safe messages, one-line usage errors and the
mapping of errors and signals to exit codes."""

from __future__ import annotations

import functools
import os
import re
import sys
from enum import Enum
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from vocal_remover.errors import ConfigError, VocalRemoverError

DEBUG_ENV = "VOCAL_REMOVER_DEBUG"  # set to 1 to see tracebacks


class ProgressDisplay:
    """What the commands' progress renderers share: an optional rich bar (`progress`, None when none is
    shown) that draws only inside `with`, so that a failure before the work starts leaves no bar behind."""

    progress = None

    def __enter__(self):
        if self.progress is not None:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)


class ProgressMode(str, Enum):
    """--progress: auto (a bar on a terminal, else `plain` for training and nothing for the others), bar,
    plain (a status line every few seconds), json (lines on stderr), none."""

    auto = "auto"
    bar = "bar"
    plain = "plain"
    json = "json"
    none = "none"


# Stdout is for results (paths, JSON, tables); progress, logs and errors go to stderr.
console = Console(stderr=True, highlight=False)
stdout = Console(highlight=False)


# Messages carry user and package text (paths, `pip install 'vocal-remover[m4a]'`): never parse
# them as rich markup, which would eat anything in square brackets.
def say(message: str, style: str | None = None) -> None:
    """A line on stderr, printed literally."""
    console.print(Text(message, style=style or ""), soft_wrap=True)


def _labelled(label: str, style: str, message: str) -> None:
    console.print(Text.assemble((label, style), " ", message), soft_wrap=True)


def note(message: str) -> None:
    _labelled("Note:", "yellow", message)


def error(message: str) -> None:
    _labelled("Error:", "red", message)


def fail(message: str, code: int = 1) -> "typer.Exit":
    error(message)
    return typer.Exit(code)


def guarded(fn):
    """Run a command: user errors become one `Error: ...` line (exit 1, or 2 for bad options);
    Ctrl-C exits 130 and SIGTERM 143, both after the same cleanup (temporary files removed);
    set VOCAL_REMOVER_DEBUG=1 to get the traceback instead."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from vocal_remover.interrupts import Terminated, exit_status, sigterm_raises

        try:
            with sigterm_raises():
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
        except KeyboardInterrupt as exc:
            say("Terminated." if isinstance(exc, Terminated) else "Interrupted.")
            sys.exit(exit_status(exc))

    return wrapper


# ------------------------------------------------------------------------------ usage errors


def _given_value(args: list[str], opts: list[str]) -> str | None:
    """The value an option was given on the command line (`--overlap 1.5`, `--overlap=1.5`, `-w3`)."""
    for i, arg in enumerate(args):
        for opt in opts:
            if arg == opt and i + 1 < len(args):
                return args[i + 1]
            if opt.startswith("--") and arg.startswith(opt + "="):
                return arg[len(opt) + 1:]
            if not opt.startswith("--") and arg.startswith(opt) and len(arg) > len(opt):
                return arg[len(opt):]
    return None


def _why(text: str) -> str:
    """Click's sentence as the `why` of `Error: <what>: <why>`."""
    text = re.sub(r"^Value error, ", "", text.strip()).rstrip(".")
    return text[:1].lower() + text[1:]


def usage_error_line(exc: Any, args: list[str]) -> str:
    """`<what>: <why>` for a click usage error (bad or missing option, unknown option)."""
    from typer._click import exceptions as click_errors

    param = getattr(exc, "param", None)
    if isinstance(exc, click_errors.BadParameter) and not isinstance(exc, click_errors.MissingParameter) \
            and param is not None:
        opts = [o for o in (param.opts + param.secondary_opts) if o.startswith("-")]
        name = max(opts, key=len) if opts else (param.human_readable_name or param.name)
        value = _given_value(args, opts) if opts else None
        return f"{name} {value}: {_why(exc.message)}" if value is not None else f"{name}: {_why(exc.message)}"
    where = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "vocal-remover"
    return f"{where}: {_why(exc.format_message())} (see {where} --help)"


class OneLineErrors(TyperGroup):
    """The command group: usage errors (bad option values, unknown options, missing arguments) print
    one `Error: <what>: <why>` line and exit 2, like the errors the commands raise themselves,
    instead of click's usage box."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from typer._click import exceptions as click_errors

        args = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                              **extra)
        except click_errors.NoArgsIsHelpError as exc:  # `vocal-remover separate` alone: its help
            exc.show()
            code = exc.exit_code
        except click_errors.UsageError as exc:
            error(usage_error_line(exc, args))
            code = 2
        except click_errors.ClickException as exc:
            error(_why(exc.format_message()))
            code = exc.exit_code
        except typer.Abort:
            say("Aborted.")
            code = 1
        else:
            if not standalone_mode:
                return rv
            code = rv if isinstance(rv, int) else 0  # without standalone mode, typer returns Exit codes
        if not standalone_mode:
            return code
        sys.exit(code)


# ------------------------------------------------------------------------------ help


def _argument_name(param: Any) -> str:
    name = param.metavar or param.name.upper()
    return name if param.nargs == 1 or name.endswith("...") else f"{name}..."


class PlainCommand(TyperCommand):
    """A command whose usage line and help show arguments the classic way (`[OPTIONS] INPUT...`;
    typer writes `{inputs}...` and adds type labels such as `<list[Path]>`)."""

    def collect_usage_pieces(self, ctx):
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = _argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx, formatter) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append((_argument_name(param), record[1]))
            else:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
