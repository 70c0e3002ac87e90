"""The service's configuration: sandbox unless providers are configured, and the sandbox clock kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.bootstrap import Settings, build_service
from api.clock import SandboxClock


def test_sandbox_is_the_default_and_providers_make_production(tmp_path: Path) -> None:
    assert Settings.from_env({}).sandbox
    assert Settings.from_env({}).database_url == "sqlite:///leasecore.db"
    providers = {"payments": {"alipay": {"app_id": "2021"}}}
    assert Settings.from_env({"LEASECORE_PROVIDERS": json.dumps(providers)}).mode == "production"
    file = tmp_path / "providers.json"
    file.write_text(json.dumps(providers))
    settings = Settings.from_env({"LEASECORE_PROVIDERS": f"@{file}", "LEASECORE_PUBLIC_URL": "https://api.example/"})
    assert (settings.mode, settings.public_url) == ("production", "https://api.example")
    assert Settings.from_env({"LEASECORE_PROVIDERS": json.dumps(providers), "LEASECORE_MODE": "sandbox"}).sandbox


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LEASECORE_MODE": "staging"}, "LEASECORE_MODE is 'sandbox' or 'production'"),
        ({"LEASECORE_MODE": "production"}, "production mode needs payment providers"),
        ({"LEASECORE_PROVIDERS": "{"}, "LEASECORE_PROVIDERS is not JSON"),
        ({"LEASECORE_PROVIDERS": '{"fax": {}}'}, "unknown capabilities: fax"),
        ({"LEASECORE_PROVIDERS": '{"payments": 1}'}, "LEASECORE_PROVIDERS is an object"),
    ],
)
def test_bad_configuration_is_refused_in_one_line(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(environ)


def test_the_sandbox_clock_moves_forward_only_and_is_kept_across_restarts(sqlite_url: str) -> None:
    later = datetime.now(UTC) + timedelta(days=400)
    service = build_service(Settings(database_url=sqlite_url))
    try:
        assert isinstance(service.clock, SandboxClock)
        assert service.set_clock(later) >= later
        with pytest.raises(ValueError, match="never goes back"):
            service.set_clock(later - timedelta(days=1))
    finally:
        service.close()
    again = build_service(Settings(database_url=sqlite_url))
    try:
        assert again.clock.now() >= later
        assert again.app.clock is again.clock
    finally:
        again.close()


def test_an_unknown_provider_kind_is_refused() -> None:
    settings = Settings(database_url="memory:", mode="production", providers={"payments": {"x": {"kind": "cash"}}})
    with pytest.raises(ValueError, match="unknown kind 'cash'"):
        build_service(settings)
