"""Several milter processes on one socket, so checks run on every core instead of under one GIL.

One process serves all its MTA connections on one event loop, and the checks are Python: in one
process they take turns, and a connection's message waits behind another's check. The parent opens the socket
and forks the workers, which accept from it in turn; it restarts a worker that dies and passes a
stop signal on to all of them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)
RESTART_PAUSE = 1.0
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _child(index: int, work: Callable[[int], None]) -> int:
    pid = os.fork()
    if pid:
        return pid
    for signum in SIGNALS:  # the worker sets its own; until then a signal just ends it
        signal.signal(signum, signal.SIG_DFL)
    code = 0
    try:
        work(index)
    except BaseException:
        log.exception("milter worker %d failed", index)
        code = 1
    finally:
        os._exit(code)


class Supervisor:
    """Forks the workers, restarts the dead, passes a stop signal on to all of them."""

    def __init__(self) -> None:
        self.children: dict[int, int] = {}
        self.stopping = False

    def install(self) -> None:
        """Take the stop signals now, before the socket opens, so none can kill the parent."""
        for signum in SIGNALS:
            signal.signal(signum, self._stop)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self, processes: int, work: Callable[[int], None]) -> None:
        """Run `work(index)` in `processes` children until a stop signal."""
        for index in range(processes):
            if not self.stopping:
                self.children[_child(index, work)] = index
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            index = self.children.pop(pid, -1)
            if self.stopping or index < 0:
                continue
            log.warning("milter worker %d ended (status %d); starting another", index, status)
            time.sleep(RESTART_PAUSE)
            if not self.stopping:
                self.children[_child(index, work)] = index
