"""The sandboxes' documents in the database: two stores on one database (as two service processes hold them) see
the same documents, never lose a change made at the same time, and a payment completed by both at once is moved by
exactly one; the other sees it moved."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest

from adapters.errors import PaymentStateConflict
from adapters.payments.sandbox import SandboxPayments, SandboxPaymentStatus
from adapters.sms.sandbox import SandboxSms
from api.sandbox_store import DatabaseSandboxStore
from api.store import ApiStore
from projections.store import ViewStore


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def stores(database_url: str) -> Iterator[tuple[DatabaseSandboxStore, DatabaseSandboxStore]]:
    """Two stores, each on its own engine, as two processes would have."""
    views = [ViewStore.for_database(database_url) for _ in range(2)]
    try:
        apis = [ApiStore(view) for view in views]
        for api in apis:
            api.setup()
        yield DatabaseSandboxStore(apis[0]), DatabaseSandboxStore(apis[1])
    finally:
        for view in views:
            view.close()


def test_what_one_store_writes_the_other_reads(stores: tuple[DatabaseSandboxStore, DatabaseSandboxStore]) -> None:
    first, second = stores
    with first.transaction() as documents:
        documents.put("sms", "b", {"text": "两"})
        documents.put("sms", "a", {"text": "one"})
    assert second.get("sms", "a") == {"text": "one"}
    assert second.documents("sms") == [{"text": "one"}, {"text": "两"}]
    with second.transaction() as documents:
        documents.delete("sms", "a")
        documents.put("sms", "b", {"text": "two"})
    assert first.documents("sms") == [{"text": "two"}]
    assert first.version("sms", "b") == 2


def test_a_transaction_that_raises_writes_nothing(stores: tuple[DatabaseSandboxStore, DatabaseSandboxStore]) -> None:
    first, second = stores
    with pytest.raises(RuntimeError), first.transaction() as documents:
        documents.put("payment", "p", {"status": "paid"})
        raise RuntimeError("refused")
    assert second.get("payment", "p") is None


def test_changes_made_at_once_by_two_stores_are_never_lost(
    stores: tuple[DatabaseSandboxStore, DatabaseSandboxStore],
) -> None:
    def add(store: DatabaseSandboxStore) -> None:
        for _ in range(25):
            with store.transaction() as documents:
                count = (documents.get("counter", "all") or {"count": 0})["count"]
                documents.put("counter", "all", {"count": count + 1})

    threads = [threading.Thread(target=add, args=(store,)) for store in (*stores, *stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stores[1].get("counter", "all") == {"count": 100}
    assert stores[0].version("counter", "all") == 100


def test_a_payment_completed_twice_at_once_is_settled_once(
    stores: tuple[DatabaseSandboxStore, DatabaseSandboxStore],
) -> None:
    first, second = (SandboxPayments(store=store, deliver=lambda body, headers: None) for store in stores)
    first.create_payment("p-1", Decimal("710.00"), "checkout", "https://leasecore.test/notify")
    assert second.public_key_pem() == first.public_key_pem()
    outcomes: list[str] = []

    def complete(gateway: SandboxPayments, outcome: str) -> None:
        try:
            gateway.complete("p-1", "success" if outcome == "success" else "fail")
            outcomes.append(outcome)
        except PaymentStateConflict:
            outcomes.append("refused")

    threads = [
        threading.Thread(target=complete, args=(first, "success")),
        threading.Thread(target=complete, args=(second, "fail")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) in (["refused", "success"], ["fail", "refused"])
    settled = first.payment("p-1").status
    assert second.payment("p-1").status is settled
    assert settled is (SandboxPaymentStatus.PAID if "success" in outcomes else SandboxPaymentStatus.CLOSED)


def test_a_text_sent_by_one_process_is_in_the_others_outbox(
    stores: tuple[DatabaseSandboxStore, DatabaseSandboxStore],
) -> None:
    first, second = (SandboxSms(store=store) for store in stores)
    sent = [first.send("13900000001", "one"), second.send("13900000001", "two"), first.send("13900000002", "x")]
    assert sent == ["sandbox-sms-000001", "sandbox-sms-000002", "sandbox-sms-000003"]
    assert [message.text for message in second.messages("139 0000 0001")] == ["one", "two"]
