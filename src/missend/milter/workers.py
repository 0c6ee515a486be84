"""Several milter processes on one socket, so checks run on every core instead of under one GIL.

libmilter serves each MTA connection on a thread, but the checks are Python: in one process they
take turns, and a connection's callbacks wait behind another's check. The parent opens the socket
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


def _child(index: int, work: Callable[[int], None]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        work(index)
    except BaseException:
        log.exception("milter worker %d failed", index)
        code = 1
    finally:
        os._exit(code)


def supervise(processes: int, work: Callable[[int], None]) -> None:
    """Run `work(index)` in `processes` forked children until a stop signal; restart the dead."""
    children: dict[int, int] = {}
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    for index in range(processes):
        children[_child(index, work)] = index
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        index = children.pop(pid, -1)
        if stopping or index < 0:
            continue
        log.warning("milter worker %d ended (status %d); starting another", index, status)
        time.sleep(RESTART_PAUSE)
        if not stopping:
            children[_child(index, work)] = index
