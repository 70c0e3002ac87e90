"""The one place that wires: the application on a database, its read models and their runner; and the
HTTP service around them, with its providers chosen by configuration (the sandboxes by default).

Configuration comes from the environment:

| variable | meaning |
|---|---|
| `LEASECORE_DATABASE_URL` | `sqlite:///path` (default `./leasecore.db`), `postgresql+psycopg2://…` or `memory:` |
| `LEASECORE_PROVIDERS` | JSON or `@file.json`: `{"payments": {name: settings}, "sms": {...}, "esign": {...}, …}` |
| `LEASECORE_MODE` | `sandbox` (default when no provider is configured) or `production` |
| `LEASECORE_SECRET_KEY` | the token signing key (default: one made once and kept in the database) |
| `LEASECORE_PERSONAL_DATA_KEY` | 32 bytes (base64) wrapping the customers' personal data keys (docs/privacy.md) |
| `LEASECORE_PUBLIC_URL` | where providers reach this service (default `http://HOST:PORT`) |
| `LEASECORE_SANDBOX_KEY` | a PEM file keeping the sandbox payment provider's RSA key across restarts |
| `LEASECORE_PARCEL_QUERY_HOURS` | how long a parcel may be out before its carrier is asked about it (default 24) |
| `LEASECORE_READY_MAX_LAG` | events the read models may be behind while `/v1/ready` answers 200 (default 1000) |
| `LEASECORE_LOG_FORMAT` | `leasecore serve`'s logs: `json` (default in production mode) or `text` (sandbox) |
| `LEASECORE_BODY_TIMEOUT` | seconds a request's head or body may take, a body more per 16 KiB (default 10; then 408) |
| `LEASECORE_MAX_BODY_BYTES` | the largest JSON body (default 1 MiB; identity submissions 16 MiB; then 413) |
| `LEASECORE_TRUSTED_PROXIES` | addresses or networks (comma-separated) whose `X-Forwarded-For` names the client |
| `LEASECORE_CODES_PER_ADDRESS` | login codes one client address may have sent per hour (default 10) |
| `LEASECORE_LOGIN_FAILURES_PER_ADDRESS` | failed logins one client address may make per 15 minutes (default 20) |
| `LEASECORE_AGGREGATE_CACHE` | aggregates a process keeps in memory, the least recently used dropped (default 10000) |
| `LEASECORE_LEDGER_CACHE` | leases the read models' runner keeps folded for their ledgers, likewise (default 1000) |

Each provider's settings, and how to add a provider, are in docs/providers.md.
"""

from __future__ import annotations

import base64
import gc
import ipaddress
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from adapters.alipay_openapi import AlipayConfig
from adapters.credit_bureau.zhima import ZhimaBureau
from adapters.esign.esignbao import EsignConfig, EsignSignature
from adapters.identity.tencent import TencentIdentity, TencentIdentityConfig
from adapters.logistics.kdniao import KdniaoConfig, KdniaoLogistics
from adapters.payments import PaymentMethod, gateways_from_config, payment_methods
from adapters.payments.alipay import AlipayGateway
from adapters.payments.alipay_agreements import AlipayAgreements
from adapters.payments.bills import bill_sources
from adapters.payments.sandbox import SandboxPayments
from adapters.payments.sandbox_agreements import SandboxAgreements
from adapters.personal_data.keys import AesGcmPersonalData, MemoryKeys
from adapters.providers import CAPABILITIES, check_providers
from adapters.sandboxes import Sandboxes, build_sandboxes
from adapters.sms.aliyun import AliyunSms, AliyunSmsConfig
from api.clock import SandboxClock
from api.http.auth import AuthPolicy, OneTimeCodes, StaffPasswords, Tokens
from api.http.idempotency import IdempotencyKeys
from api.metrics import Metrics
from api.personal_keys import SqlKeys
from api.processes.auto_debit import AutoDebitCharger
from api.processes.freezes import FreezeDispatcher
from api.processes.janitor import PaymentJanitor
from api.processes.memory import MemoryTrimmer
from api.processes.outbox import MessageSender
from api.processes.parcels import QUERY_AFTER, ParcelWatcher
from api.processes.reconciliation import Reconciler
from api.processes.refunds import RefundDispatcher
from api.processes.scheduler import DailyScheduler
from api.sandbox_store import DatabaseSandboxStore
from api.store import ApiStore
from leasecore.application import LeaseApplication
from leasecore.clock import SystemClock
from leasecore.errors import LeaseError
from leasecore.ports import (
    Acknowledgement,
    AgreementGateway,
    Clock,
    CreditBureau,
    ESignature,
    IdentityVerifier,
    Logistics,
    PaymentGateway,
    Ports,
    SmsSender,
)
from projections import read_models
from projections.installments import ViewsDailyWork
from projections.ledgers import KEPT as LEDGER_CACHE
from projections.runner import ProjectionRunner
from projections.stock import ViewsStockIndex
from projections.store import ViewStore

DEFAULT_TIMEZONE = "Asia/Shanghai"
SANDBOX = "sandbox"
PRODUCTION = "production"
CLOCK_OFFSET = "sandbox-clock-offset-seconds"

DEFAULT_DATABASE_URL = "sqlite:///leasecore.db"
READY_MAX_LAG = 1000
AGGREGATE_CACHE = 10_000
"""Aggregates a service process keeps in memory by default (`LEASECORE_AGGREGATE_CACHE`): the configuration
documents and the customers, SKUs, units and orders in use stay. An order places about four (its lease, its deposit,
the units it tried), so at 15 orders/s the cache is full within three minutes (docs/scaling.md: with 2,000 the soak's
memory held as flat, but its latency rose in both runs' last third)."""

log = logging.getLogger(__name__)
PERSONAL_DATA_KEY = "LEASECORE_PERSONAL_DATA_KEY"


def persistence_env(database_url: str) -> dict[str, str]:
    """The event store for a database URL: `memory:`, `sqlite:///path` or `postgresql+psycopg2://…`."""
    if database_url in ("memory", "memory:", "memory://"):
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if database_url.startswith(("sqlite:", "postgresql")):
        return {"PERSISTENCE_MODULE": "api.eventstore:EventStore", "SQLALCHEMY_URL": database_url}
    raise ValueError(f"unsupported database URL {database_url!r}: use sqlite:///path or postgresql+psycopg2://…")


def application(url: str, **options: Any) -> LeaseApplication:
    """The application alone on a database URL (no read models): for scripts and tests of the domain."""
    options.setdefault("personal_data", personal_data(url))
    return LeaseApplication(persistence_env(url), **options)


def personal_data(url: str, environ: Mapping[str, str] | None = None) -> AesGcmPersonalData:
    """Personal fields sealed under a key per customer, the keys in the same database as the events (so a backup
    holds both), or in memory for `memory:`; wrapped under LEASECORE_PERSONAL_DATA_KEY when it is set."""
    master = master_key((os.environ if environ is None else environ).get(PERSONAL_DATA_KEY) or None)
    if url in ("memory", "memory:", "memory://"):
        return AesGcmPersonalData(MemoryKeys(), master=master)
    return AesGcmPersonalData(SqlKeys(create_engine(url)), master=master)


def master_key(text: str | None) -> bytes | None:
    """LEASECORE_PERSONAL_DATA_KEY: 32 random bytes in base64 (`openssl rand -base64 32`)."""
    if text is None:
        return None
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise ValueError(f"{PERSONAL_DATA_KEY} is not base64: make one with `openssl rand -base64 32`") from None
    if len(key) != 32:
        raise ValueError(f"{PERSONAL_DATA_KEY} must hold 32 bytes ({len(key)} given): `openssl rand -base64 32`")
    return key


def database_url(given: str | None = None) -> str:
    """The URL given, else LEASECORE_DATABASE_URL, else a SQLite file ./leasecore.db."""
    return given or os.environ.get("LEASECORE_DATABASE_URL") or DEFAULT_DATABASE_URL


@dataclass
class Platform:
    """The application, the store of its read models and the runner that keeps them current."""

    app: LeaseApplication
    views: ViewStore
    runner: ProjectionRunner

    def read_your_writes(self, timeout: float = 2.0, position: int | None = None) -> bool:
        """Wait until every read model shows what this thread saved last (or `position`), told in memory by
        the runner that applies it; call it after a command."""
        wanted = position or self.app.saved_position() or self.app.recorder.max_notification_id() or 0
        return self.runner.wait_until(wanted, timeout)

    def close(self) -> None:
        self.runner.close()
        self.views.close()
        _close(self.app)


YOUNG_COLLECTION = 10_000
"""Allocations between collections of the youngest generation (CPython's default is 700)."""


def tune_collector() -> None:
    """Collect the youngest generation every 10,000 allocations instead of 700. A process holds many long-lived
    objects (aggregates and folded leases in bounded caches, compiled statements, the configuration), and each
    young collection that outlives them walks them again; a command allocates a few thousand objects, so with
    the default it ran several collections an order (a sixth to a quarter of a place-order's CPU, with the read
    models applied). Event-sourced objects rarely form cycles; what does is still collected, later. A threshold
    set higher already is kept, and so is 0 (automatic collection turned off)."""
    young, *older = gc.get_threshold()
    if 0 < young < YOUNG_COLLECTION:
        gc.set_threshold(YOUNG_COLLECTION, *older)


def freeze_startup_objects() -> None:
    """Once a serving process is built and caught up: what it allocated so far (modules, routes, templates, the
    configuration) goes where the collector never looks again (`gc.freeze`). Only for a process that builds one
    service for its whole life: frozen objects are never freed."""
    gc.collect()
    gc.freeze()


def bootstrap(
    url: str | None = None,
    *,
    clock: Clock | None = None,
    follow: bool = False,
    batch_size: int = 500,
    poll_interval: float = 1.0,
    env: Mapping[str, str] | None = None,
    ports: Ports | None = None,
    ledger_cache: int = LEDGER_CACHE,
) -> Platform:
    """Build the application for a database URL with a clock, its read models in the same database
    (in-memory SQLite for `memory:`), the daily job's work list read from them, and their runner;
    `follow` starts the runner's background thread. `env` adds eventsourcing settings; `ports` are the
    outside services the application calls; `ledger_cache` how many leases the runner keeps folded."""
    tune_collector()
    url = database_url(url)
    views = ViewStore.for_database(url)
    app: LeaseApplication | None = None
    try:
        app = LeaseApplication(
            {**persistence_env(url), **(env or {})},
            clock=clock,
            daily_work=ViewsDailyWork(views),
            stock_index=ViewsStockIndex(views),
            ports=ports,
            personal_data=personal_data(url),
        )
        app.recorder.max_notification_id()
        writes = getattr(getattr(app.recorder, "datastore", None), "write_lock", None)
        if writes is not None and views.dialect == "sqlite":  # one SQLite file: its writers queue in the process
            views.share_writes(writes)
        runner = ProjectionRunner(
            app,
            views,
            read_models(_billing_timezone(app)),
            batch_size=batch_size,
            poll_interval=poll_interval,
            ledger_cache=ledger_cache,
        )
    except BaseException:
        views.close()
        if app is not None:
            _close(app)
        raise
    if follow:
        runner.start()
    return Platform(app, views, runner)


def _billing_timezone(app: LeaseApplication) -> str:
    """Finance books each day in the billing document's timezone (Asia/Shanghai until configured)."""
    try:
        return app.billing_policy().timezone
    except LeaseError:
        return DEFAULT_TIMEZONE


def _close(app: LeaseApplication) -> None:
    """Release the event store's connections (PostgreSQL keeps a pool per engine)."""
    engine = getattr(getattr(app.factory, "datastore", None), "engine", None)
    if engine is not None:
        engine.dispose()
    if isinstance(app.personal_data, AesGcmPersonalData):
        app.personal_data.close()
    app.close()


# The HTTP service.


@dataclass(frozen=True)
class Settings:
    """How the service is configured: its database, its mode and its providers."""

    database_url: str
    mode: str = SANDBOX
    providers: Mapping[str, Any] = field(default_factory=dict)
    secret_key: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    sandbox_key_path: str | None = None
    parcel_query_after: timedelta = QUERY_AFTER
    """How long a parcel may be out before its carrier is asked whether it was delivered (its push lost)."""
    ready_max_lag: int = READY_MAX_LAG
    """How many events the read models may be behind the log while `/v1/ready` still answers 200."""
    body_timeout: float = 10.0
    """Seconds a request's body may take to arrive (plus one per 16 KiB received) before the connection is cut off."""
    max_body_bytes: int = 1024 * 1024
    """The largest request body the JSON API reads, but for the routes that carry images."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks of the proxies in front whose `X-Forwarded-For` names the client."""
    codes_per_address: int = 10
    login_failures_per_address: int = 20
    aggregate_cache: int = AGGREGATE_CACHE
    """Aggregates kept in memory between commands, the least recently used dropped beyond it."""
    ledger_cache: int = LEDGER_CACHE
    """Leases the read models' runner keeps folded for their ledgers, the least recently used dropped beyond it."""

    @property
    def sandbox(self) -> bool:
        return self.mode == SANDBOX

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        database_url: str | None = None,
        public_url: str | None = None,
    ) -> Settings:
        """Settings from LEASECORE_* variables; sandbox unless providers are configured or production is asked."""
        env = os.environ if environ is None else environ
        providers = _providers(env.get("LEASECORE_PROVIDERS", ""))
        mode = env.get("LEASECORE_MODE") or (PRODUCTION if providers else SANDBOX)
        if mode not in (SANDBOX, PRODUCTION):
            raise ValueError(f"LEASECORE_MODE is {SANDBOX!r} or {PRODUCTION!r}, not {mode!r}")
        if mode == PRODUCTION and not providers.get("payments"):
            raise ValueError("production mode needs payment providers in LEASECORE_PROVIDERS")
        return cls(
            database_url=database_url or env.get("LEASECORE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            mode=mode,
            providers=providers,
            secret_key=env.get("LEASECORE_SECRET_KEY") or None,
            public_url=(public_url or env.get("LEASECORE_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            sandbox_key_path=env.get("LEASECORE_SANDBOX_KEY") or None,
            parcel_query_after=_hours(env.get("LEASECORE_PARCEL_QUERY_HOURS"), QUERY_AFTER),
            ready_max_lag=_events(env.get("LEASECORE_READY_MAX_LAG"), READY_MAX_LAG),
            body_timeout=_positive(env, "LEASECORE_BODY_TIMEOUT", 10.0),
            max_body_bytes=int(_positive(env, "LEASECORE_MAX_BODY_BYTES", 1024 * 1024)),
            trusted_proxies=_trusted_proxies(env.get("LEASECORE_TRUSTED_PROXIES", "")),
            codes_per_address=int(_positive(env, "LEASECORE_CODES_PER_ADDRESS", 10)),
            login_failures_per_address=int(_positive(env, "LEASECORE_LOGIN_FAILURES_PER_ADDRESS", 20)),
            aggregate_cache=_count(env, "LEASECORE_AGGREGATE_CACHE", AGGREGATE_CACHE),
            ledger_cache=_count(env, "LEASECORE_LEDGER_CACHE", LEDGER_CACHE),
        )

    def auth_policy(self) -> AuthPolicy:
        """The login limits these settings ask for, the rest as `AuthPolicy` has them."""
        return AuthPolicy(
            sends_per_address_per_hour=self.codes_per_address, failures_per_address=self.login_failures_per_address
        )


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} is a number, not {text!r}") from None
    if not 0 < value < 1e12:
        raise ValueError(f"{name} is a number above 0, not {text!r}")
    return value


def _trusted_proxies(text: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"LEASECORE_TRUSTED_PROXIES lists addresses or networks, not {item!r}") from None
    return items


def _providers(text: str) -> dict[str, Any]:
    text = text.strip()
    if not text:
        return {}
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    try:
        providers = json.loads(text)
    except ValueError as error:
        raise ValueError(f"LEASECORE_PROVIDERS is not JSON: {error}") from None
    if not isinstance(providers, dict) or not all(isinstance(value, dict) for value in providers.values()):
        raise ValueError('LEASECORE_PROVIDERS is an object like {"payments": {"alipay": {...}}, "sms": {...}}')
    unknown = set(providers) - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"LEASECORE_PROVIDERS names unknown capabilities: {', '.join(sorted(unknown))}")
    return providers


@dataclass
class Service:
    """What the HTTP layer calls: the platform (its application holds the ports), auth, idempotency, refunds;
    and its background work: the daily job's scheduler, the outbox of text messages, the janitor asking
    providers about payments whose notification never came, and the parcel watcher (subscribing shipped parcels at
    the tracking service, asking about those whose push never came)."""

    settings: Settings
    platform: Platform
    clock: Clock
    sandboxes: Sandboxes | None
    store: ApiStore
    tokens: Tokens
    codes: OneTimeCodes
    passwords: StaffPasswords
    idempotency: IdempotencyKeys
    refunds: RefundDispatcher
    messages: MessageSender
    scheduler: DailyScheduler
    janitor: PaymentJanitor
    parcels: ParcelWatcher
    payment_methods: tuple[PaymentMethod, ...] = ()
    """How a customer may pay: the configured providers, the first the default."""
    read_timeout: float = 5.0
    reconciler: Reconciler | None = None
    """Sets each provider's daily bill against the records (None only for a service wired by hand)."""
    freezes: FreezeDispatcher | None = None
    """Sends the takes from deposit freezes and the unfreezes to the providers (押金预授权)."""
    metrics: Metrics = field(default_factory=Metrics)
    """What `GET /metrics` shows: this service's own registry."""
    trimmer: MemoryTrimmer = field(default_factory=MemoryTrimmer)
    """Hands the memory this process freed back to the operating system, once a minute."""

    @property
    def app(self) -> LeaseApplication:
        return self.platform.app

    @property
    def views(self) -> ViewStore:
        return self.platform.views

    def receive_notification(self, provider: str, body: bytes, headers: Mapping[str, str]) -> Acknowledgement:
        """A provider's callback, recorded once; then the read models show it and its refunds go out."""
        acknowledgement = self.app.receive_notification(provider, body, headers)
        self.written()
        return acknowledgement

    def receive_push(self, provider: str, body: bytes, headers: Mapping[str, str]) -> Acknowledgement:
        """A parcel-tracking push; the receipts it confirmed are then shown by the read models."""
        acknowledgement = self.parcels.receive_push(provider, body, headers)
        self.written()
        return acknowledgement

    def written(self) -> None:
        """Read your writes: every read model shows what was just saved."""
        self.platform.read_your_writes(self.read_timeout)

    def set_clock(self, instant: datetime) -> datetime:
        """Move the test clock forward (sandbox only); it is kept across restarts."""
        setter = getattr(self.clock, "set", None)
        if setter is None:
            raise LookupError("this service's clock cannot be set")
        setter(instant)
        if isinstance(self.clock, SandboxClock):
            self.store.put_setting(CLOCK_OFFSET, str(self.clock.offset.total_seconds()))
        self.scheduler.wake()
        self.janitor.wake()
        if self.reconciler is not None:
            self.reconciler.wake()
        self.parcels.wake()
        return self.clock.now()

    def start(self) -> None:
        """Follow the event log, send refunds and text messages, run the daily job when its time comes, and ask
        providers about payments left pending, in the background (a long-running server), handing the memory it
        frees back to the operating system as it goes."""
        self.platform.runner.start()
        self.refunds.start()
        if self.freezes is not None:
            self.freezes.start()
        self.messages.start()
        self.scheduler.start()
        self.janitor.start()
        if self.reconciler is not None:
            self.reconciler.start()
        self.parcels.start()
        self.trimmer.start()

    def close(self, within: float = 4.0) -> None:
        """Stop the background work, all of it at once, waiting at most `within` seconds for a step under way to
        finish, then close the stores (work still busy after that is left, stores open, to end with the process)."""
        deadline = time.monotonic() + within
        stops = [self.parcels.stop, self.janitor.stop, self.scheduler.stop, self.messages.stop, self.refunds.stop]
        stops.append(self.trimmer.stop)
        if self.reconciler is not None:
            stops.append(self.reconciler.stop)
        if self.freezes is not None:
            stops.append(self.freezes.stop)
        stops.append(lambda: self.platform.runner.stop(within))
        threads = [threading.Thread(target=stop, name="leasecore-stop", daemon=True) for stop in stops]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            log.warning("background work still busy after %g s; leaving it to end with the process", within)
            return
        self.platform.close()


def build_service(
    settings: Settings,
    *,
    clock: Clock | None = None,
    policy: AuthPolicy | None = None,
    env: Mapping[str, str] | None = None,
    real_clock: Clock | None = None,
) -> Service:
    """Wire the service: sandbox mode runs business time on a test clock (real now, moved only forward) with
    every sandbox provider; production mode on the system clock with the configured providers (ports with
    no real provider configured keep their local sandbox, and a warning says so). Tokens, one-time codes,
    login lockouts and idempotency records expire by `real_clock` (the system's), never by moving the
    sandbox clock. Production mode refuses to start, naming every problem at once, on a provider configuration
    it cannot serve (`ProviderConfigurationError`)."""
    if not settings.sandbox:
        check_providers(settings.providers)
    policy = policy or settings.auth_policy()
    real_clock = real_clock or SystemClock()
    clock = clock or (SandboxClock() if settings.sandbox else SystemClock())
    deliver: list[Service] = []
    sandbox_store = DatabaseSandboxStore()
    sandboxes = build_sandboxes(
        clock,
        payments_key_path=settings.sandbox_key_path,
        deliver=lambda body, headers: _deliver(deliver, body, headers),
        deliver_push=lambda body, headers: _deliver_push(deliver, body, headers),
        store=sandbox_store,
    )
    gateways: dict[str, PaymentGateway]
    if settings.sandbox:
        gateways = {sandboxes.payments.provider: sandboxes.payments}
        methods = payment_methods({sandboxes.payments.provider: {"kind": "sandbox"}})
        sms: SmsSender = sandboxes.sms
        bureau: CreditBureau = sandboxes.bureau
        identity: IdentityVerifier = sandboxes.identity
        logistics: Logistics = sandboxes.logistics
        esign: ESignature = sandboxes.esign
    else:
        gateways = gateways_from_config(settings.providers.get("payments"), clock=clock, sandbox_store=sandbox_store)
        methods = payment_methods(settings.providers["payments"])
        sms = _configured(settings, "sms", clock) or sandboxes.sms
        bureau = _configured(settings, "bureau", clock) or sandboxes.bureau
        identity = _configured(settings, "identity", clock) or sandboxes.identity
        logistics = _configured(settings, "logistics", clock) or sandboxes.logistics
        esign = _configured(settings, "esign", clock) or sandboxes.esign
        named = ("sms", "bureau", "identity", "logistics", "esign")
        kept = [name for name in named if not settings.providers.get(name)]
        log.warning(
            "production mode: %s still on the local sandbox (no real provider configured)",
            ", ".join([*_sandbox_payments(settings), *kept]),
        )
        if not settings.public_url.startswith("https://"):
            log.warning(
                "production mode: providers are told to notify %s/v1/payments/notify/{provider}; set "
                "LEASECORE_PUBLIC_URL to the https address they reach this service at",
                settings.public_url,
            )
    metrics = Metrics()
    bills = bill_sources(gateways, clock)
    gateways = {name: metrics.meter(gateway, f"payments.{name}") for name, gateway in gateways.items()}
    sms, bureau = metrics.meter(sms, _vendor(settings, "sms")), metrics.meter(bureau, _vendor(settings, "bureau"))
    identity = metrics.meter(identity, _vendor(settings, "identity"))
    esign = metrics.meter(esign, _vendor(settings, "esign"))
    logistics = metrics.meter(logistics, _vendor(settings, "logistics"))
    public_url = settings.public_url
    agreements = agreement_gateways(gateways, clock)
    ports = Ports(
        bureau=bureau,
        sms=sms,
        identity=identity,
        esign=esign,
        logistics=logistics,
        gateways=gateways,
        notify_url=lambda provider: f"{public_url}/v1/payments/notify/{provider}",
        signing_notify_url=lambda provider: f"{public_url}/v1/esign/notify/{provider}",
        agreements=agreements,
    )
    env = {"AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache), **(env or {})}
    platform = bootstrap(
        settings.database_url, clock=clock, env=env, ports=ports, ledger_cache=settings.ledger_cache
    )
    try:
        store = ApiStore(platform.views)
        store.setup()
        sandbox_store.attach(store)
        restore_sandbox_clock(clock, store)
        secret = settings.secret_key or store.shared_secret()
        service = Service(
            settings=settings,
            platform=platform,
            clock=clock,
            sandboxes=sandboxes if settings.sandbox else None,
            store=store,
            tokens=Tokens(secret, real_clock, policy, store),
            codes=OneTimeCodes(store, real_clock, sms, secret, policy),
            passwords=StaffPasswords(store, real_clock, policy),
            idempotency=IdempotencyKeys(store, real_clock),
            refunds=RefundDispatcher(platform.views, store, gateways),
            messages=MessageSender(platform.app, store, sms, clock=real_clock),
            scheduler=DailyScheduler(
                platform.app,
                platform.runner,
                store,
                refresh=lambda: restore_sandbox_clock(clock, store),
                before=AutoDebitCharger(platform.app, platform.views).charge,
            ),
            janitor=PaymentJanitor(
                platform.app, platform.views, store, refresh=lambda: restore_sandbox_clock(clock, store)
            ),
            parcels=ParcelWatcher(
                platform.app,
                platform.views,
                store,
                callback_url=lambda provider: f"{public_url}/v1/logistics/notify/{provider}",
                refresh=lambda: restore_sandbox_clock(clock, store),
                query_after=settings.parcel_query_after,
            ),
            payment_methods=tuple(methods),
            reconciler=Reconciler(
                platform.views,
                store,
                bills,
                clock,
                refresh=lambda: restore_sandbox_clock(clock, store),
            ),
            metrics=metrics,
        )
        metrics.observe(platform.app, platform.runner, store, service.messages, service.scheduler)
        service.freezes = FreezeDispatcher(platform.app, platform.views)
        for process in (service.refunds, service.freezes, service.messages, service.parcels):
            platform.runner.listen(process.wake, process.topics)
    except BaseException:
        platform.close()
        raise
    deliver.append(service)
    return service


def business_clock(settings: Settings, views: ViewStore) -> Clock:
    """The clock the service runs business time on: in sandbox mode the test clock where it was moved to."""
    if not settings.sandbox:
        return SystemClock()
    clock = SandboxClock()
    store = ApiStore(views)
    store.setup()
    restore_sandbox_clock(clock, store)
    return clock


def restore_sandbox_clock(clock: Clock, store: ApiStore) -> None:
    """Take up the offset the sandbox clock was moved to, kept across restarts and shared by processes."""
    if isinstance(clock, SandboxClock):
        clock.restore(timedelta(seconds=float(store.setting(CLOCK_OFFSET) or 0)))


def _deliver(intake: list[Service], body: bytes, headers: Mapping[str, str]) -> None:
    """The sandbox provider's notification, handed to the notify route's own code with its exact bytes."""
    intake[0].receive_notification("sandbox", body, headers)


def _deliver_push(intake: list[Service], body: bytes, headers: Mapping[str, str]) -> None:
    """The sandbox carrier's push, handed to the logistics notify route's own code with its exact bytes."""
    intake[0].receive_push("sandbox", body, headers)


def _sandbox_payments(settings: Settings) -> list[str]:
    """Payment providers configured as the sandbox kind: no customer's money moves through them."""
    configured = settings.providers.get("payments") or {}
    return [f"payments.{name}" for name, entry in configured.items() if entry.get("kind", name) == "sandbox"]






def _hours(text: str | None, default: timedelta) -> timedelta:
    if not text:
        return default
    try:
        hours = float(text)
    except ValueError:
        raise ValueError(f"LEASECORE_PARCEL_QUERY_HOURS is a number of hours, not {text!r}") from None
    if not 0 < hours < 24 * 365:
        raise ValueError(f"LEASECORE_PARCEL_QUERY_HOURS is a number of hours above 0, not {text!r}")
    return timedelta(hours=hours)


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"{name} is a whole number above 0, not {text!r}")
    return int(text)


def _events(text: str | None, default: int) -> int:
    if not text:
        return default
    if not text.strip().isdigit():
        raise ValueError(f"LEASECORE_READY_MAX_LAG is a whole number of events, not {text!r}")
    return int(text)


def _vendor(settings: Settings, capability: str) -> str:
    """The metrics' name of a capability's provider: `sms.aliyun`, or `sms.sandbox` when none is configured."""
    config = settings.providers.get(capability) if not settings.sandbox else None
    return f"{capability}.{config.get('kind', CAPABILITIES[capability].default_kind) if config else SANDBOX}"



VENDORS: dict[str, dict[str, Callable[[Mapping[str, Any], Clock], Any]]] = {
    "sms": {"aliyun": lambda config, clock: AliyunSms(AliyunSmsConfig.from_settings(config), clock=clock)},
    "bureau": {"zhima": lambda config, clock: ZhimaBureau(AlipayConfig.from_settings(config), clock=clock)},
    "identity": {
        "tencent": lambda config, clock: TencentIdentity(TencentIdentityConfig.from_settings(config), clock=clock)
    },
    "logistics": {"kdniao": lambda config, clock: KdniaoLogistics(KdniaoConfig.from_settings(config), clock=clock)},
    "esign": {"esign": lambda config, clock: EsignSignature(EsignConfig.from_settings(config), clock=clock)},
}
"""How each capability with one provider builds it from its settings, by kind (payments have their own registry:
`adapters.payments.PROVIDER_KINDS`). A new vendor is one entry here and its kind in `CAPABILITIES`."""


def _configured(settings: Settings, capability: str, clock: Clock) -> Any:
    """The capability's configured provider, None when production configures none (its sandbox serves)."""
    config = settings.providers.get(capability)
    if not config:
        return None
    kinds = VENDORS[capability]
    kind = config.get("kind", CAPABILITIES[capability].default_kind)
    if kind not in kinds:
        raise ValueError(f"unknown {capability} provider kind {kind!r} (known: {', '.join(kinds)})")
    return kinds[kind](config, clock)


def agreement_gateways(gateways: Mapping[str, PaymentGateway], clock: Clock) -> dict[str, AgreementGateway]:
    """The payment providers that also charge rent under agreements (auto-debit), by the same names: Alipay's
    cycle-pay with the same app, and the sandbox over its own trades."""
    agreements: dict[str, AgreementGateway] = {}
    for name, gateway in gateways.items():
        if isinstance(gateway, SandboxPayments):
            agreements[name] = SandboxAgreements(gateway)
        elif isinstance(gateway, AlipayGateway):
            agreements[name] = AlipayAgreements(gateway.config, clock=clock, provider=name)
    return agreements
