"""Answers on a kept-alive connection leave at once in `--workers` mode too: the service's HTTP protocol turns
Nagle's algorithm off on a connection accepted from a socket bound as uvicorn's workers bind theirs (without the
TCP protocol number, so asyncio leaves Nagle on and each answer waited ~40 ms for the client's delayed ACK)."""

from __future__ import annotations

import asyncio
import socket
from unittest import mock

from uvicorn.config import Config
from uvicorn.server import ServerState

from api.http.app import NoDelayH11


def test_a_connection_accepted_from_a_workers_socket_has_nagle_off() -> None:
    listening = socket.socket(family=socket.AF_INET)  # as uvicorn.Config.bind_socket does
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    client = socket.create_connection(listening.getsockname())
    accepted, _ = listening.accept()
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        config = Config(app=mock.Mock())
        config.load()
        protocol = NoDelayH11(config=config, server_state=ServerState(), app_state={})
        transport = mock.Mock(spec=asyncio.Transport)
        transport.get_extra_info.side_effect = lambda name, default=None: {
            "socket": accepted,
            "peername": client.getsockname(),
            "sockname": listening.getsockname(),
        }.get(name, default)
        protocol.connection_made(transport)
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for sock in (accepted, client, listening):
            sock.close()
