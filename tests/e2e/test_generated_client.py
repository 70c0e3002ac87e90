"""The served OpenAPI document is usable by an established generator: openapi-python-client builds a client from
`/openapi.json` without a warning, and that client logs a customer in against a running server."""

from __future__ import annotations

import importlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from types import ModuleType

import httpx
import pytest
import uvicorn

from api.bootstrap import Settings, build_service
from api.http.app import create_app
from tests.e2e.support import new_phone

PACKAGE = "leasecore_client"
STARTUP_SECONDS = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service as `leasecore serve` runs it, in sandbox mode on a fresh SQLite file, on a free loopback port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    database = tmp_path_factory.mktemp("server") / "leasecore.db"
    service = build_service(Settings(database_url=f"sqlite:///{database}", public_url=base))
    app = create_app(service, manage=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [listener]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not running.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert running.started, "the server did not start"
        yield base
    finally:
        running.should_exit = True
        thread.join(STARTUP_SECONDS)
        listener.close()
        if not running.started:
            service.close()
        assert not thread.is_alive(), "the server did not stop"


@pytest.fixture(scope="module")
def client_package(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client openapi-python-client generates from the served `/openapi.json`, imported."""
    work = tmp_path_factory.mktemp("generated")
    document = work / "openapi.json"
    document.write_text(json.dumps(httpx.get(f"{server}/openapi.json").raise_for_status().json()), encoding="utf-8")
    config = work / "config.json"
    config.write_text(json.dumps({"post_hooks": []}), encoding="utf-8")
    generated = subprocess.run(
        [
            *(sys.executable, "-m", "openapi_python_client", "generate"),
            *("--path", str(document), "--output-path", str(work / PACKAGE)),
            *("--meta", "none", "--config", str(config), "--fail-on-warning"),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert generated.returncode == 0, f"openapi-python-client failed or warned:\n{generated.stdout}{generated.stderr}"
    sys.path.insert(0, str(work))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def operation(package: ModuleType, tag: str, operation_id: str) -> ModuleType:
    """The generated module of one operation: `api.<tag>.<operationId>`."""
    return importlib.import_module(f"{package.__name__}.api.{tag}.{operation_id}")


def test_the_generated_client_logs_a_customer_in_and_reads_the_credit_line(
    server: str, client_package: ModuleType
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    health = operation(client_package, "service", "health")
    send_code, log_in = operation(client_package, "auth", "send_code"), operation(client_package, "auth", "log_in")
    sms, credit_line = operation(client_package, "sandbox", "sms"), operation(client_package, "me", "credit_line")
    timeout = httpx.Timeout(10.0)
    phone = new_phone()
    with client_package.Client(base_url=server, raise_on_unexpected_status=True, timeout=timeout) as anonymous:
        assert health.sync(client=anonymous).status == "ok"
        sent = send_code.sync_detailed(client=anonymous, body=models.OtpRequest(phone=phone))
        assert sent.status_code == 202 and sent.parsed.phone == phone, sent
        found = re.search(r"login code is (\d{6})", sms.sync(client=anonymous, phone=phone)[-1].text)
        assert found, "no login code in the sandbox SMS outbox"
        session = log_in.sync(client=anonymous, body=models.Login(phone=phone, code=found.group(1)))
        assert isinstance(session, models.CustomerToken), session
        refused = credit_line.sync(client=anonymous)
        assert isinstance(refused, models.Problem) and refused.status == 401, refused
    customer = client_package.AuthenticatedClient(
        base_url=server, token=session.token, raise_on_unexpected_status=True, timeout=timeout
    )
    with customer:
        line = credit_line.sync(client=customer)
    assert isinstance(line, models.CreditLineOut), line
    assert (line.quota, line.reserved, line.available) == ("0.00", "0.00", "0.00")
