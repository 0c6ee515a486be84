"""A milter that checks nothing: what Postfix pays for talking to any milter, the floor under ours.

    python benchmarks/null_milter.py --listen unix:/path/to.sock [--bare]

It runs missend's own protocol layer and event loop (the same negotiation, the same no-reply
steps and macro lists, the same one write at the end of the message) and answers every message
with the verdict header and accept (`--bare`: accept only). bench_milter.py's `milter-null` and
`milter-null-bare` paths run it, so the difference between them and plain is the milter
protocol's cost to Postfix and the machine, apart from anything missend's check does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from typing import Any, cast

from missend.milter import protocol as p
from missend.milter import server
from missend.milter.listen import parse_listen
from missend.milter.session import Service, Session

ANSWER = p.add_header("X-Missend-Verdict", "allow") + p.packet(p.ACCEPT)


class NullSession(Session):
    answer_bytes = ANSWER

    def end_of_message(self) -> bytes:
        self._reset()
        return self.answer_bytes


class BareSession(NullSession):
    answer_bytes = p.packet(p.ACCEPT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--bare", action="store_true", help="Accept without adding a header.")
    args = parser.parse_args()
    server.Session = BareSession if args.bare else NullSession  # type: ignore[misc]
    sock = server.open_socket(parse_listen(args.listen))
    service = Service(cast(Any, None))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await server.Listener(service, 60.0).run(sock, stop)

    try:
        asyncio.run(run())
    finally:
        sock.close()
        if args.listen.startswith("unix:"):
            with contextlib.suppress(OSError):
                os.unlink(args.listen.removeprefix("unix:"))


if __name__ == "__main__":
    main()
