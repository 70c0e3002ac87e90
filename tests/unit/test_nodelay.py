"""`--workers` mode's sockets: answers on a kept-alive connection leave at once (the service's HTTP protocol turns
Nagle's algorithm off on a connection accepted from a socket bound without the TCP protocol number, where asyncio
leaves Nagle on and each answer waited ~40 ms for the client's delayed ACK), and each worker listens on a socket of
its own, so that connections are spread across the workers."""

from __future__ import annotations

import asyncio
import pickle
import socket
import time
from unittest import mock

from uvicorn.config import Config
from uvicorn.server import ServerState

from api.http.app import NoDelayH11, OwnListeningSocket


def test_a_connection_accepted_from_a_workers_socket_has_nagle_off() -> None:
    listening = socket.socket(family=socket.AF_INET)  # as uvicorn.Config.bind_socket does
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    client = socket.create_connection(listening.getsockname())
    accepted, _ = listening.accept()
    loop = asyncio.new_event_loop()  # its own: what an earlier test left as the thread's loop may be closed or unset
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        config = Config(app=mock.Mock())
        config.load()
        protocol = NoDelayH11(config=config, server_state=ServerState(), app_state={}, _loop=loop)
        transport = mock.Mock(spec=asyncio.Transport)
        transport.get_extra_info.side_effect = lambda name, default=None: {
            "socket": accepted,
            "peername": client.getsockname(),
            "sockname": listening.getsockname(),
        }.get(name, default)
        protocol.connection_made(transport)
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        loop.close()
        for sock in (accepted, client, listening):
            sock.close()


def test_each_worker_listens_on_a_socket_of_its_own_and_the_kernel_spreads_connections_across_them() -> None:
    """What `serve_workers` hands uvicorn's supervisor unpickles, in each worker, as a listening socket of the
    worker's own on the shared address: new connections are spread across them, where on one shared socket the
    first worker awake accepted them all."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handed = OwnListeningSocket("127.0.0.1", port)
    workers = [pickle.loads(pickle.dumps(handed)) for _ in range(2)]
    clients: list[socket.socket] = []
    try:
        for worker in workers:
            assert isinstance(worker, socket.socket)
            assert worker.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            worker.listen()
            worker.setblocking(False)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
        accepted = [0, 0]
        deadline = time.monotonic() + 5
        while sum(accepted) < len(clients) and time.monotonic() < deadline:
            for n, worker in enumerate(workers):
                try:
                    worker.accept()[0].close()
                    accepted[n] += 1
                except BlockingIOError:
                    pass
        assert sum(accepted) == len(clients)
        assert min(accepted) > 0, accepted
    finally:
        for sock in (*clients, *workers):
            sock.close()
