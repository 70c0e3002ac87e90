"""Every port's sandbox on one clock: what sandbox mode wires, and what the `/v1/sandbox/` routes drive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from adapters.credit_bureau.sandbox import SandboxBureau
from adapters.esign.sandbox import SandboxESignature
from adapters.identity.sandbox import SandboxIdentity
from adapters.logistics.sandbox import SandboxLogistics
from adapters.payments.sandbox import Deliver, SandboxPayments
from adapters.sandbox_store import MemorySandboxStore, SandboxStore
from adapters.sms.sandbox import SandboxSms
from leasecore.ports import Clock


@dataclass(frozen=True)
class Sandboxes:
    payments: SandboxPayments
    bureau: SandboxBureau
    identity: SandboxIdentity
    sms: SandboxSms
    logistics: SandboxLogistics
    esign: SandboxESignature


def build_sandboxes(
    clock: Clock,
    *,
    payments_key_path: Path | str | None = None,
    deliver: Deliver | None = None,
    http_client: httpx.Client | None = None,
    deliver_push: Deliver | None = None,
    store: SandboxStore | None = None,
) -> Sandboxes:
    """All sandboxes sharing the clock and keeping what they know in `store` (this process's memory when none is
    given); the payments key is kept at `payments_key_path` when given (in the store otherwise). `deliver` hands
    the payment notifications to the service, `deliver_push` the carrier's parcel pushes."""
    store = store or MemorySandboxStore()
    return Sandboxes(
        payments=SandboxPayments(
            clock, key_path=payments_key_path, deliver=deliver, http_client=http_client, store=store
        ),
        bureau=SandboxBureau(store=store),
        identity=SandboxIdentity(clock, store=store),
        sms=SandboxSms(clock, store=store),
        logistics=SandboxLogistics(clock, deliver=deliver_push, http_client=http_client, store=store),
        esign=SandboxESignature(clock, store=store),
    )
