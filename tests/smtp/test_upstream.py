"""Delivery to the next hop: kept-open connections, bounded, and an honest account of who got it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from missend.config import UpstreamConfig
from missend.smtp.auth import Authenticator, hash_password
from missend.smtp.testing import LoopThread, SinkHandler, SinkServer
from missend.smtp.upstream import Upstream, UpstreamError

MESSAGE = b"From: a@x.example\r\nTo: b@y.example\r\nSubject: hi\r\n\r\nHello\r\n"


def upstream(sink: SinkServer, **options: Any) -> Upstream:
    return Upstream(UpstreamConfig(host="127.0.0.1", port=sink.port, timeout=5, **options))


def test_sequential_messages_share_one_kept_open_connection(
    runner: LoopThread, sink: SinkServer
) -> None:
    pool = upstream(sink)

    async def run() -> None:
        for _ in range(10):
            await pool.send("a@x.example", ["b@y.example"], MESSAGE)
        await pool.close()

    runner.call(run())
    assert len(sink.messages) == 10
    assert sink.handler.connections == 1


def test_concurrent_messages_use_at_most_the_configured_connections(
    runner: LoopThread, sink: SinkServer
) -> None:
    pool = upstream(sink, connections=3)

    async def run() -> None:
        await asyncio.gather(
            *(pool.send("a@x.example", [f"r{i}@y.example"], MESSAGE) for i in range(30))
        )
        await pool.close()

    runner.call(run())
    assert len(sink.messages) == 30
    assert sink.handler.connections <= 3


def test_a_next_hop_that_restarted_gets_a_fresh_connection(
    runner: LoopThread, sink: SinkServer
) -> None:
    pool = upstream(sink)
    runner.call(pool.send("a@x.example", ["b@y.example"], MESSAGE))
    sink.stop()
    sink.start()
    runner.call(pool.send("a@x.example", ["b@y.example"], MESSAGE))
    assert len(sink.messages) == 2
    assert sink.handler.connections == 2
    runner.call(pool.close())


def test_an_unreachable_next_hop_is_a_temporary_failure(
    runner: LoopThread, sink: SinkServer
) -> None:
    sink.stop()
    with pytest.raises(UpstreamError) as failed:
        runner.call(upstream(sink).send("a@x.example", ["b@y.example"], MESSAGE))
    assert failed.value.temporary
    assert failed.value.reply.code == 451


def test_per_recipient_refusals_are_reported_beside_the_accepted_ones(
    runner: LoopThread, sink: SinkServer
) -> None:
    sink.handler.refuse = {
        "gone@y.example": "550 5.1.1 unknown",
        "busy@y.example": "452 4.2.2 full",
    }
    pool = upstream(sink)
    delivery = runner.call(
        pool.send("a@x.example", ["gone@y.example", "ok@y.example", "busy@y.example"], MESSAGE)
    )
    assert delivery.accepted == ("ok@y.example",)
    assert {r: (x.code, x.temporary) for r, x in delivery.refused.items()} == {
        "gone@y.example": (550, False),
        "busy@y.example": (452, True),
    }
    assert sink.messages[0].rcpt_tos == ("ok@y.example",)
    with pytest.raises(UpstreamError) as none:
        runner.call(pool.send("a@x.example", ["gone@y.example", "busy@y.example"], MESSAGE))
    assert none.value.temporary  # one recipient may still take it: the client should retry
    runner.call(pool.close())


def test_the_null_sender_and_8bit_content_are_sent_as_such(
    runner: LoopThread, sink: SinkServer
) -> None:
    data = "Subject: Grüße\r\n\r\nÄrger\r\n".encode()
    pool = upstream(sink)
    runner.call(pool.send("", ["b@y.example"], data))
    runner.call(pool.close())
    assert sink.messages[0].mail_from == ""
    assert sink.messages[0].data == data


def test_starttls_to_the_next_hop(runner: LoopThread, certificate: Any) -> None:
    handler = SinkHandler()
    secure = SinkServer(
        runner, handler, tls_context=certificate.server_context(), require_starttls=True
    )
    secure.start()
    pool = Upstream(
        UpstreamConfig(host="127.0.0.1", port=secure.port, starttls=True),
        tls_context=certificate.client_context(),
    )
    runner.call(pool.send("a@x.example", ["b@y.example"], MESSAGE))
    assert len(handler.messages) == 1
    plain = Upstream(UpstreamConfig(host="127.0.0.1", port=secure.port, starttls=False))
    with pytest.raises(UpstreamError):
        runner.call(plain.send("a@x.example", ["b@y.example"], MESSAGE))
    runner.call(pool.close())
    runner.call(plain.close())
    secure.stop()


def test_the_next_hop_gets_credentials_after_starttls(runner: LoopThread, certificate: Any) -> None:
    handler = SinkHandler()
    guarded = SinkServer(
        runner,
        handler,
        tls_context=certificate.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=Authenticator({"relay": hash_password("s3cret", n=2**10)}),
    )
    guarded.start()

    def pool(password: str) -> Upstream:
        config = UpstreamConfig(
            host="127.0.0.1",
            port=guarded.port,
            starttls=True,
            username="relay",
            password=password,
        )
        return Upstream(config, tls_context=certificate.client_context())

    right, wrong = pool("s3cret"), pool("guess")
    runner.call(right.send("a@x.example", ["b@y.example"], MESSAGE))
    assert len(handler.messages) == 1
    with pytest.raises(UpstreamError) as refused:
        runner.call(wrong.send("a@x.example", ["b@y.example"], MESSAGE))
    assert refused.value.temporary  # a wrong password is the operator's to fix; the mail waits
    runner.call(right.close())
    runner.call(wrong.close())
    guarded.stop()
