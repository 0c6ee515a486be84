"""The milter as a running service: the libmilter listener, its workers, and their helpers.

This is pymilter's `runmilter` spelled out, for what it does not allow between opening the socket
and serving: making a unix socket connectable by the MTA's unprivileged user, turning off Nagle's
algorithm for the milter's replies on a TCP listener (accepted sockets inherit it on Linux), and
sharing the socket between worker processes. The milter asks for almost no macros (see
`missend.milter.filter`), which keeps Postfix's small writes over TCP from waiting for delayed
ACKs; a unix socket is still the default, being cheaper for both sides.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from pathlib import Path

import Milter  # type: ignore[import-untyped]

import milter  # type: ignore[import-not-found]
from missend.gateway import Gateway
from missend.milter import release as _releaser  # noqa: F401  (registers the milter's releaser)
from missend.milter.filter import MissendMilter, Service
from missend.milter.housekeeping import Housekeeping
from missend.milter.learn import Learner
from missend.milter.listen import Listen
from missend.milter.notice import Notices
from missend.milter.workers import SIGNALS, Supervisor

log = logging.getLogger(__name__)
NAME = "missend"
ACTIONS = milter.ADDHDRS | milter.CHGHDRS | milter.QUARANTINE | milter.SETSYMLIST
SOCKET_MODE = 0o666
EXCEPTION_POLICY = {"tempfail": milter.TEMPFAIL, "accept": milter.ACCEPT, "reject": milter.REJECT}
"""What libmilter answers if a callback raises outside the handled paths: the same as on_error."""


def listening_fd(listen: Listen) -> int | None:
    """The descriptor of this process's listening socket for `listen` (libmilter does not say)."""
    for name in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(name)))
        except (OSError, ValueError):
            continue
        with sock:
            try:
                if sock.type != socket.SOCK_STREAM or not sock.getsockopt(
                    socket.SOL_SOCKET, socket.SO_ACCEPTCONN
                ):
                    continue
                address = sock.getsockname()
            except OSError:
                continue
            if listen.family == "unix" and sock.family == socket.AF_UNIX:
                found = address == listen.path
            else:
                found = sock.family != socket.AF_UNIX and address[1] == listen.port
            if found:
                return int(name)
    return None


def open_listener(listen: Listen, timeout: float) -> int | None:
    """Register the callbacks and open the socket; the MTA can connect once `milter.main` runs.

    Returns the listening descriptor, when it can be found.
    """
    milter.set_flags(ACTIONS)
    milter.set_connect_callback(Milter.connect_callback)
    milter.set_helo_callback(lambda ctx, host: ctx.getpriv().hello(host))
    milter.set_envfrom_callback(lambda ctx, *b: ctx.getpriv().envfrom_bytes(*b))
    milter.set_envrcpt_callback(lambda ctx, *b: ctx.getpriv().envrcpt_bytes(*b))
    milter.set_header_callback(lambda ctx, f, v: ctx.getpriv().header_bytes(f, v))
    milter.set_eoh_callback(lambda ctx: ctx.getpriv().eoh())
    milter.set_body_callback(lambda ctx, chunk: ctx.getpriv().body(chunk))
    milter.set_eom_callback(lambda ctx: ctx.getpriv().eom())
    milter.set_abort_callback(lambda ctx: ctx.getpriv().abort())
    milter.set_close_callback(Milter.close_callback)
    milter.setconn(listen.connection)
    if timeout > 0:
        milter.settimeout(int(timeout))
    milter.register(
        NAME,
        data=lambda ctx: ctx.getpriv().data(),
        unknown=lambda ctx, cmd: ctx.getpriv().unknown(cmd),
        negotiate=Milter.negotiate_callback,
    )
    if listen.family == "unix":
        Path(listen.path).parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        old = os.umask(0o777 & ~SOCKET_MODE)
        try:
            milter.opensocket(True)
        finally:
            os.umask(old)
        os.chmod(listen.path, SOCKET_MODE)
    else:
        milter.opensocket(True)
    fd = listening_fd(listen)
    if listen.family != "unix":
        if fd is None:
            log.warning("could not set TCP_NODELAY on %s; prefer a unix socket", listen)
        else:
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return fd


def wake(listen: Listen) -> None:
    """Connect to our own socket: libmilter's listener polls for five seconds at a time, holding
    the lock a stop needs, so a connection is what lets the stop through at once."""
    with contextlib.suppress(OSError):
        if listen.family == "unix":
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(1)
                sock.connect(listen.path)
        else:
            socket.create_connection((listen.host, listen.port), timeout=1).close()


def stop_on_signals(listen: Listen) -> None:
    """End `milter.main` on SIGTERM, SIGINT or SIGHUP, whichever thread the signal lands in.

    libmilter waits for these in its own thread, but only threads that block them leave them to it:
    one started earlier (numpy's, at import) would take the default action and kill the process
    mid-message. Python's handler instead writes to a pipe that a thread here watches.
    """
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    for signum in SIGNALS:
        signal.signal(signum, lambda *_: None)

    def watch() -> None:
        received = os.read(read_end, 1)
        log.info("stopping on signal %d", received[0] if received else 0)
        stopping = threading.Thread(target=milter.stop, name="missend-stop", daemon=True)
        stopping.start()
        while stopping.is_alive():  # smfi_stop waits for the listener's lock, held while it polls
            wake(listen)
            stopping.join(0.05)

    threading.Thread(target=watch, name="missend-signals", daemon=True).start()


def serve(
    gateway: Gateway, listen: Listen, secret: bytes | None = None, processes: int = 1
) -> None:
    """Run until SIGTERM, SIGINT or SIGHUP; with `processes` > 1, that many share the socket."""
    config = gateway.config
    supervisor = Supervisor()
    if processes <= 1:
        stop_on_signals(listen)
    else:
        supervisor.install()
    milter.set_exception_policy(EXCEPTION_POLICY[config.milter.on_error])
    fd = open_listener(listen, config.milter.timeout)
    log.info(
        "missend milter listening on %s (on error: %s, %d process(es))",
        listen,
        config.milter.on_error,
        processes,
    )
    try:
        if processes <= 1:
            run_worker(gateway, listen, secret, releases=True, signals=False)
            return
        if fd is None:
            raise RuntimeError(f"cannot find the socket for {listen} to share it between processes")
        os.set_blocking(fd, False)  # processes that lose the race for a connection go back to wait
        gateway.store.engine.dispose()  # no pooled connection may cross a fork
        supervisor.run(
            processes, lambda index: run_worker(gateway, listen, secret, releases=index == 0)
        )
    finally:
        ignore_further_stops()


def ignore_further_stops() -> None:
    """Once the service has stopped, a repeated stop signal must not cut the exit short.

    Python gives its own handlers back to the default action while the interpreter shuts down,
    so a second SIGTERM from an impatient service manager would end the process by the signal
    (and say it failed) after everything was already flushed; an ignored signal stays ignored.
    """
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def run_worker(
    gateway: Gateway,
    listen: Listen,
    secret: bytes | None,
    *,
    releases: bool,
    signals: bool = True,
) -> None:
    """One process's share: libmilter's threads, the learner, notices, and (in one) housekeeping."""
    config = gateway.config
    if signals:
        stop_on_signals(listen)
    learner = Learner(gateway).start() if config.learn.from_traffic else None
    notices = None
    if config.hold.notify_sender and secret is None:
        log.warning("hold.secret_file is not set: senders get no notice about held messages")
    elif config.hold.notify_sender and secret is not None:
        notices = Notices(config.hold, secret).start()
    service = Service(gateway, config.milter.on_error, learner, notices)
    Milter.factory = lambda: MissendMilter(service)
    upkeep = Housekeeping(gateway, config).start() if releases else None
    try:
        milter.main()
    finally:
        if upkeep is not None:
            upkeep.stop()
        if learner is not None:
            learner.stop()
        if notices is not None:
            notices.stop()
