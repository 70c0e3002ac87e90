"""Commands answer from what they saved, not from the read models: placing an order answers before any read model
has applied it, and its answer is, field for field, what `GET /v1/orders/{id}` answers once they have (read with
`X-Read-After`), for every deposit mode, with and without protection, short and long plans, one unit or several.
So do cancelling an order, confirming its receipt, and a placing retried after a crash once the order has moved on."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

import projections.orders
from tests.e2e.support import Api, Customer, World, running

pytestmark = pytest.mark.slow

PLANS = (
    {"kind": "long", "months": 6},
    {"kind": "long", "months": 12},
    {"kind": "short", "start": "2026-02-01", "end": "2026-02-03"},
    {"kind": "short", "start": "2026-02-10", "end": "2026-03-11"},
)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    url = "memory:" if request.param == "memory" else request.getfixturevalue(f"{request.param}_url")
    with running(url) as api:
        yield api


@pytest.fixture
def world(api: Api) -> World:
    return api.set_up_world(units=80)


def read_models_show(api: Api, order_id: str) -> bool:
    return projections.orders.order(api.service.views, UUID(order_id)) is not None


def read_back(api: Api, who: Customer, order_id: str, position: str) -> dict[str, Any]:
    """The order as the read models answer it once they have applied `position`."""
    found: dict[str, Any] = api.get(f"/v1/orders/{order_id}", who=who, headers={"X-Read-After": position})
    return found


def placed(api: Api, who: Customer, body: dict[str, Any], key: str | None = None) -> tuple[dict[str, Any], str]:
    """An order placed, with the position its answer gave; the read models had not applied it when it answered."""
    headers = {**who.headers, **({"Idempotency-Key": key} if key else {})}
    response = api.http.post("/v1/orders", json=body, headers=headers)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    assert response.headers["Location"] == f"/v1/orders/{answer['id']}"
    assert not read_models_show(api, answer["id"]), "answered from the read models"
    return answer, response.headers["X-Read-Position"]


def test_a_placed_order_answers_what_the_read_models_show_once_they_have_applied_it(api: Api, world: World) -> None:
    customers = [api.customer(score=score) for score in (780, 720, 650, 600)]
    answers = []
    combinations = itertools.product(("full", "waiver", "preauth"), (False, True), PLANS, (1, 2))
    for n, (mode, protection, plan, quantity) in enumerate(combinations):
        who = customers[n % len(customers)]
        body = api.order_body(world.sku_id, plan, deposit_mode=mode, protection=protection, quantity=quantity)
        answer, position = placed(api, who, body)
        assert (answer["deposit_mode"], answer["protection"], answer["quantity"]) == (mode, protection, quantity)
        assert answer["installments"] and answer["status"] == "pending_payment"
        assert answer == read_back(api, who, answer["id"], position)
        answers.append(answer)
    assert len(answers) == 48
    assert len({(a["deposit"], a["waiver"], a["deposit_due"], a["due_now"]) for a in answers}) > 12
    assert {a["preauth"] is None for a in answers} == {True, False}
    assert len({len(a["installments"]) for a in answers}) >= 3


def test_cancelling_and_confirming_receipt_answer_what_the_read_models_show(api: Api, world: World) -> None:
    who = api.customer()
    for mode in ("full", "waiver", "preauth"):
        answer, _ = placed(api, who, api.order_body(world.sku_id, deposit_mode=mode, protection=True))
        response = api.http.post(
            f"/v1/orders/{answer['id']}/cancel", json={"reason": "changed my mind"}, headers=who.headers
        )
        assert response.status_code == 200, response.text
        cancelled = response.json()
        assert cancelled["status"] == "cancelled" and cancelled["reason"] == "changed my mind"
        assert cancelled == read_back(api, who, answer["id"], response.headers["X-Read-Position"])

    leased = api.leasing(who, api.order_body(world.sku_id, protection=True))
    assert leased["status"] == "leasing" and leased["plan"]["start"] is not None
    assert leased == api.order(who, leased["id"])


def test_a_placing_retried_after_a_crash_answers_the_order_as_it_stands_now(
    api: Api, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = api.customer()
    body, key = api.order_body(world.sku_id, {"kind": "long", "months": 6}), "retried-after-paying"

    def die(*args: Any) -> None:
        raise RuntimeError("killed between the command's save and the key's answer")

    with monkeypatch.context() as crash:
        crash.setattr(api.service.idempotency, "keep", die)
        response = api.http.post("/v1/orders", json=body, headers={**who.headers, "Idempotency-Key": key})
        assert response.status_code == 500
    api.service.written()  # the crashed answer gave no position to read after
    [order] = api.get("/v1/orders", who=who)
    api.pay(who, order["id"], "checkout")
    api.move_clock(api.service.clock.now() + timedelta(days=3))
    retried = api.http.post("/v1/orders", json=body, headers={**who.headers, "Idempotency-Key": key})
    assert retried.status_code == 201, retried.text
    assert retried.json()["status"] == "pending_contract" and retried.json()["id"] == order["id"]
    assert retried.json() == api.order(who, order["id"])
