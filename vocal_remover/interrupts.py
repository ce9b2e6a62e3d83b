"""SIGINT and SIGTERM as exceptions, so that both stop a command the same way.

Python turns Ctrl-C (SIGINT) into KeyboardInterrupt, which runs every `finally` and `except
BaseException` on the way out: temporary outputs are removed, locks released. SIGTERM (`kill`,
`timeout`, `docker stop`, systemd) would kill the process on the spot and leave temporary files
behind, so commands raise `Terminated`, a KeyboardInterrupt, for it instead. Exit status: 130 for
SIGINT, 143 for SIGTERM (128 + the signal number, as shells report them).

Training wants to finish the optimizer step it is in and save a checkpoint, so `deferred_stop`
records the first signal instead of raising it (a second one raises at once).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that the same cleanup runs."""


def exit_status(exc: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` (main thread only; the old handler comes back after;
    an ignored SIGTERM stays ignored)."""
    if not _main_thread() or signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class StopRequest:
    """Which signal asked a deferred block to stop (None while none has)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None

    def exception(self) -> KeyboardInterrupt:
        return Terminated() if self.signum == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def deferred_stop(notice: Callable[[int], None] | None = None) -> Iterator[StopRequest]:
    """Within the block the first SIGINT/SIGTERM only sets the returned request (the caller stops at
    a safe point) and calls `notice(signum)`, which should do little (it runs inside a signal handler);
    a second signal raises at once. Outside the main thread nothing is deferred."""
    request = StopRequest()
    if not _main_thread():
        yield request
        return

    def handler(signum, frame) -> None:
        if request:
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        request.signum = signum
        if notice is not None:
            notice(signum)

    # A signal the process was told to ignore (e.g. SIGINT of a background job) stays ignored.
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)
                if signal.getsignal(sig) is not signal.SIG_IGN}
    try:
        yield request
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def die_with_parent(parent: int) -> None:
    """Initializer of worker processes: a worker must not outlive the process that started it (after a
    `kill -9` of the parent, orphaned workers would go on writing into folders whose lock died with it).
    On Linux the kernel kills the worker when its parent dies (PR_SET_PDEATHSIG); elsewhere, and as a
    fallback, a thread checks every second that the parent is still there."""
    import os
    import sys

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()


def _watch_parent(parent: int) -> None:
    import os
    import time

    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)
