"""`leasecore serve` in production mode refuses to start on a provider configuration it cannot serve: exit 1, one
line naming every problem and no secret, nothing listening, the database untouched."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.esign.esignbao import EsignSignature
from adapters.keys import generate_private_key, private_key_pem, public_key_pem
from adapters.providers import ProviderConfigurationError, configuration_problems
from api.bootstrap import Settings, build_service
from api.cli import main

LEASECORE = str(Path(sys.executable).parent / "leasecore")
SECRET = "Zx81-aliyun-access-key-secret"
PROVIDERS = {
    "payments": {
        "alipay": {"app_id": "2021004100000001", "alipay_public_key_path": "/etc/keys/x.pem"},
        "paypal": {"client_secret": SECRET},
    },
    "sms": {"access_key_id": "LTAI5t", "access_key_secret_path": "", "sign_name": "leasecore"},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def listening(port: int) -> bool:
    with socket.socket() as client:
        return client.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def providers(tmp_path: Path) -> dict[str, object]:
    """`PROVIDERS` with the SMS secret in a file holding only blanks."""
    blank = tmp_path / "aliyun.secret"
    blank.write_text("  \n")
    sms = {**PROVIDERS["sms"], "access_key_secret_path": str(blank)}
    return {**PROVIDERS, "sms": sms}


def expected(providers: dict[str, object]) -> str:
    """What is wrong with `providers`, in the order the check finds it."""
    blank = providers["sms"]["access_key_secret_path"]  # type: ignore[index]
    return (
        "payments.alipay.app_private_key_path: missing; "
        "payments.alipay.alipay_public_key_path: file not found (/etc/keys/x.pem); "
        "payments.paypal: unknown provider 'paypal' (known: alipay, sandbox, wechatpay); "
        "sms.template_code: missing; "
        f"sms.access_key_secret_path: empty ({blank})"
    )


def test_build_service_refuses_before_opening_the_database(tmp_path: Path, providers: dict[str, object]) -> None:
    database = tmp_path / "leasecore.db"
    settings = Settings(database_url=f"sqlite:///{database}", mode="production", providers=providers)
    with pytest.raises(ProviderConfigurationError) as refused:
        build_service(settings)
    assert str(refused.value) == f"production mode refuses the provider configuration: {expected(providers)}"
    assert not database.exists()


def test_production_says_at_start_what_still_runs_on_a_sandbox(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "app.pem").write_bytes(private_key_pem(generate_private_key()))
    (tmp_path / "alipay.pem").write_bytes(public_key_pem(generate_private_key().public_key()))
    alipay = {
        "app_id": "2021004100000001",
        "app_private_key_path": str(tmp_path / "app.pem"),
        "alipay_public_key_path": str(tmp_path / "alipay.pem"),
    }
    providers = {"payments": {"alipay": alipay, "cashier": {"kind": "sandbox"}}, "sms": {}}
    with caplog.at_level(logging.WARNING, logger="api.bootstrap"):
        service = build_service(Settings(database_url=sqlite_url, mode="production", providers=providers))
    try:
        methods = [(method.provider, method.name) for method in service.payment_methods]
        assert methods == [("alipay", "支付宝"), ("cashier", "沙箱支付")]
        assert list(service.app.gateways) == ["alipay", "cashier"]
    finally:
        service.close()
    assert [record.getMessage() for record in caplog.records] == [
        "production mode: payments.cashier, sms, bureau, identity, logistics, esign still on the local sandbox "
        "(no real provider configured)",
        "production mode: providers are told to notify http://127.0.0.1:8000/v1/payments/notify/{provider}; set "
        "LEASECORE_PUBLIC_URL to the https address they reach this service at",
    ]


def test_sandbox_mode_ignores_the_provider_configuration(sqlite_url: str, providers: dict[str, object]) -> None:
    service = build_service(Settings(database_url=sqlite_url, mode="sandbox", providers=providers))
    try:
        assert [method.provider for method in service.payment_methods] == ["sandbox"]
    finally:
        service.close()


def test_serve_exits_1_with_one_line_naming_every_problem(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    providers: dict[str, object],
) -> None:
    monkeypatch.setenv("LEASECORE_PROVIDERS", json.dumps(providers))
    port = free_port()
    code = main(["serve", "--port", str(port), "--database-url", sqlite_url])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == f"leasecore: production mode refuses the provider configuration: {expected(providers)}\n"
    assert SECRET not in err and not listening(port)


@pytest.mark.slow
def test_the_console_script_refuses_to_serve_and_listens_on_nothing(
    tmp_path: Path, sqlite_url: str, providers: dict[str, object]
) -> None:
    file = tmp_path / "providers.json"
    file.write_text(json.dumps(providers))
    port = free_port()
    environ = {"PATH": str(Path(sys.executable).parent), "LEASECORE_PROVIDERS": f"@{file}"}
    served = subprocess.run(
        [LEASECORE, "serve", "--port", str(port), "--database-url", sqlite_url],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )
    assert (served.returncode, served.stdout) == (1, "")
    assert served.stderr == f"leasecore: production mode refuses the provider configuration: {expected(providers)}\n"
    assert "Traceback" not in served.stderr and SECRET not in served.stderr
    assert not listening(port)


def test_a_configured_esign_signs_the_contracts_and_leaves_the_sandbox_warning(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "app.pem").write_bytes(private_key_pem(generate_private_key()))
    (tmp_path / "alipay.pem").write_bytes(public_key_pem(generate_private_key().public_key()))
    (tmp_path / "esign.secret").write_text("esign-app-secret\n")
    alipay = {
        "app_id": "2021004100000001",
        "app_private_key_path": str(tmp_path / "app.pem"),
        "alipay_public_key_path": str(tmp_path / "alipay.pem"),
    }
    esign = {"app_id": "7438000001", "app_secret_path": str(tmp_path / "esign.secret"), "timeout": "5"}
    settings = Settings(
        database_url=sqlite_url,
        mode="production",
        providers={"payments": {"alipay": alipay}, "esign": esign},
        public_url="https://lease.example.com",
    )
    with caplog.at_level(logging.WARNING, logger="api.bootstrap"):
        service = build_service(settings)
    try:
        port = service.app.esign
        assert isinstance(port, EsignSignature)
        assert (port.config.app_secret, port.config.timeout) == ("esign-app-secret", 5.0)
        assert service.app.ports.signing_notify_url(port.provider) == "https://lease.example.com/v1/esign/notify/esign"
    finally:
        service.close()
    assert [record.getMessage() for record in caplog.records] == [
        "production mode: sms, bureau, identity, logistics still on the local sandbox (no real provider configured)"
    ]


def test_an_esign_without_its_secret_is_refused_by_name() -> None:
    alipay = {"app_id": "2021004100000001", "app_private_key": "x", "alipay_public_key": "y"}
    problems = configuration_problems({"payments": {"alipay": alipay}, "esign": {"app_id": "7438000001"}})
    assert "esign.app_secret_path: missing" in problems
