"""Customer service over HTTP (contract 1.1, 在线客服), on memory, SQLite and PostgreSQL: a customer opens a
conversation about their order and writes, staff see it in the queue, answer and close it, the customer reads the
answer by polling for what is new; a closed conversation takes no message (409); another customer's conversation
or order is 404; a bad subject or text is 422 naming each field; only operators and admins work the queue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from leasecore.staff import Role
from tests.e2e.support import Api, Customer, World, running

OPEN = "/v1/conversations"


def queue(api: Api, state: str | None = None) -> list[str]:
    params = {"state": state} if state else {}
    answer = api.get("/v1/admin/conversations", who=api.staff(Role.OPERATOR), params=params)
    return [item["conversation_id"] for item in answer]


class Conversations:
    """Abstract: subclasses name the storage backend with a `database_url` fixture."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def api(self, database_url: str) -> Iterator[Api]:
        with running(database_url) as api:
            yield api

    @pytest.fixture
    def world(self, api: Api) -> World:
        return api.set_up_world()

    def open(self, api: Api, who: Customer, **body: Any) -> dict[str, Any]:
        answer: dict[str, Any] = api.post(OPEN, 201, who=who, json={"subject": "Hello", "text": "hello", **body})
        return answer

    def test_a_customer_asks_about_an_order_staff_answer_and_close_and_the_customer_reads_the_answer(
        self, api: Api, world: World
    ) -> None:
        who = api.customer()
        order = api.place(who, api.order_body(world.sku_id))
        opened = api.http.post(
            OPEN,
            headers=who.headers,
            json={"subject": " 押金什么时候退？ ", "order_id": order["id"], "text": "手机已寄回。\r\n押金多久能退？"},
        )
        assert opened.status_code == 201
        conversation = opened.json()
        conversation_id = conversation["conversation_id"]
        assert opened.headers["Location"] == f"/v1/conversations/{conversation_id}"
        assert (conversation["subject"], conversation["order_id"], conversation["state"]) == (
            "押金什么时候退？",
            order["id"],
            "open",
        )
        assert [(m["seq"], m["author"], m["text"]) for m in conversation["messages"]] == [
            (1, "customer", "手机已寄回。\n押金多久能退？")
        ]
        more = api.post(f"{OPEN}/{conversation_id}/messages", 201, who=who, json={"text": "订单号见上。"})
        assert (more["seq"], more["author"], more["text"]) == (2, "customer", "订单号见上。")
        assert "staff" not in more

        operator = api.staff(Role.OPERATOR, username="ops-li")
        waiting = api.get("/v1/admin/conversations", who=operator, params={"state": "open"})
        assert [item["conversation_id"] for item in waiting] == [conversation_id]
        item = waiting[0]
        assert item["customer"] == {"customer_id": str(who.customer_id), "name": "Han Meimei", "phone": who.phone}
        assert (item["unanswered"], item["last_author"], item["preview"], item["message_count"]) == (
            2,
            "customer",
            "订单号见上。",
            2,
        )
        assert item["waiting_since"] == conversation["messages"][0]["sent_at"]

        answer = api.post(
            f"/v1/admin/conversations/{conversation_id}/messages",
            201,
            who=operator,
            json={"text": "您好，验机完成后 1–3 个工作日退回。"},
        )
        assert (answer["seq"], answer["author"], answer["staff"]) == (3, "staff", "ops-li")
        assert queue(api, "open") == [] and queue(api, "answered") == [conversation_id]

        polled = api.get(f"{OPEN}/{conversation_id}", who=who, params={"after": 2})
        assert [(m["seq"], m["author"], m["text"]) for m in polled["messages"]] == [
            (3, "staff", "您好，验机完成后 1–3 个工作日退回。")
        ]
        assert "staff" not in polled["messages"][0]
        assert (polled["state"], polled["new_replies"], polled["message_count"]) == ("answered", 1, 3)
        mine = api.http.get(OPEN, headers=who.headers)
        assert mine.headers["X-Total-Count"] == "1"
        assert [len(item["messages"]) for item in mine.json()] == [3]

        api.post(f"{OPEN}/{conversation_id}/messages", 201, who=who, json={"text": "谢谢！"})
        assert queue(api, "open") == [conversation_id]
        closed = api.post(f"/v1/admin/conversations/{conversation_id}/close", who=operator)
        assert (closed["state"], closed["closed_by"], len(closed["messages"])) == ("closed", "ops-li", 4)
        assert queue(api, "closed") == [conversation_id] and queue(api, "open") == []

        refused = api.post(f"{OPEN}/{conversation_id}/messages", 409, who=who, json={"text": "还有一件事"})
        assert (refused["type"], refused["state"]) == ("/problems/invalid-state", "closed")
        late = api.post(f"/v1/admin/conversations/{conversation_id}/messages", 409, who=operator, json={"text": "hi"})
        assert late["state"] == "closed"
        assert api.post(f"/v1/admin/conversations/{conversation_id}/close", 409, who=operator)["state"] == "closed"
        assert api.get(f"{OPEN}/{conversation_id}", who=who)["state"] == "closed"

    def test_another_customers_conversation_or_order_is_not_found(self, api: Api, world: World) -> None:
        mine, theirs = api.customer(), api.customer()
        their_order = api.place(theirs, api.order_body(world.sku_id))
        their_conversation = self.open(api, theirs)["conversation_id"]

        assert api.get(f"{OPEN}/{their_conversation}", 404, who=mine)["type"] == "/problems/not-found"
        api.post(f"{OPEN}/{their_conversation}/messages", 404, who=mine, json={"text": "hi"})
        api.post(OPEN, 404, who=mine, json={"subject": "Hi", "order_id": their_order["id"], "text": "what?"})
        unknown = {"subject": "Hi", "order_id": "00000000-0000-0000-0000-000000000001", "text": "what?"}
        api.post(OPEN, 404, who=mine, json=unknown)
        api.get(f"{OPEN}/00000000-0000-0000-0000-000000000001", 404, who=mine)
        assert api.get(OPEN, who=mine) == []
        assert [c["conversation_id"] for c in api.get(OPEN, who=theirs)] == [their_conversation]

    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            ({"subject": "  ", "text": "hello"}, ["subject"]),
            ({"subject": "x" * 101, "text": "hello"}, ["subject"]),
            ({"subject": "two\nlines", "text": "hello"}, ["subject"]),
            ({"subject": "Hi", "text": "\n \t"}, ["text"]),
            ({"subject": "Hi", "text": "y" * 2001}, ["text"]),
            ({"subject": "Hi", "text": "pay to \u202etxet\u202c"}, ["text"]),
            ({"subject": "Hi", "text": "bell\u0007"}, ["text"]),
            ({"subject": "", "text": ""}, ["subject", "text"]),
            ({"subject": "Hi"}, ["text"]),
            ({"subject": "Hi", "text": "hello", "order_id": "not-an-id"}, ["order_id"]),
        ],
    )
    def test_a_bad_subject_or_text_is_422_naming_each_field_in_error(
        self, api: Api, body: dict[str, Any], fields: list[str]
    ) -> None:
        who = api.customer(score=None, verified=False)
        problem = api.post(OPEN, 422, who=who, json=body)
        assert [error["field"] for error in problem["errors"]] == fields
        assert all(error["message"] for error in problem["errors"])
        conversation_id = self.open(api, who)["conversation_id"]
        text = body.get("text")
        if fields == ["text"] and text is not None:
            api.post(f"{OPEN}/{conversation_id}/messages", 422, who=who, json={"text": text})
        assert [c["message_count"] for c in api.get(OPEN, who=who)] == [1]

    def test_the_words_of_a_refusal_name_the_rule(self, api: Api) -> None:
        who = api.customer(score=None, verified=False)
        problem = api.post(OPEN, 422, who=who, json={"subject": "\u2066Hi", "text": " "})
        assert problem["errors"] == [
            {"field": "subject", "message": "must not hold control characters or bidirectional overrides"},
            {"field": "text", "message": "must not be blank"},
        ]

    def test_only_operators_and_admins_work_the_queue_and_only_customers_write_as_customers(self, api: Api) -> None:
        who = api.customer(score=None, verified=False)
        conversation_id = self.open(api, who)["conversation_id"]
        for role in (Role.RISK, Role.FINANCE):
            api.get("/v1/admin/conversations", 403, who=api.staff(role))
            api.post(f"/v1/admin/conversations/{conversation_id}/close", 403, who=api.staff(role))
        api.get("/v1/admin/conversations", 403, who=who)
        api.post(f"/v1/admin/conversations/{conversation_id}/messages", 403, who=who, json={"text": "I am staff"})
        api.post(OPEN, 403, who=api.staff(Role.ADMIN), json={"subject": "Hi", "text": "hello"})
        api.get("/v1/admin/conversations", 401)
        assert queue(api) == [conversation_id]
        admin = api.get(f"/v1/admin/conversations/{conversation_id}", who=api.staff(Role.ADMIN))
        assert [m["text"] for m in admin["messages"]] == ["hello"]
        api.get("/v1/admin/conversations/00000000-0000-0000-0000-000000000001", 404, who=api.staff(Role.ADMIN))
        api.get("/v1/admin/conversations", 422, who=api.staff(Role.ADMIN), params={"state": "waiting"})

    def test_the_queue_puts_the_longest_waiting_first_and_pages(self, api: Api) -> None:
        ann, bob = api.customer(score=None, verified=False), api.customer(score=None, verified=False)
        first = self.open(api, ann, subject="First")["conversation_id"]
        api.move_clock(api.service.app.clock.now() + timedelta(minutes=1))
        second = self.open(api, bob, subject="Second")["conversation_id"]
        answered = self.open(api, bob, subject="Answered")["conversation_id"]
        operator = api.staff(Role.OPERATOR)
        api.post(f"/v1/admin/conversations/{answered}/messages", 201, who=operator, json={"text": "done"})
        api.post(f"/v1/conversations/{first}/messages", 201, who=ann, json={"text": "still there?"})

        assert queue(api) == [first, second, answered]
        page = api.http.get("/v1/admin/conversations", headers=operator, params={"limit": 1, "offset": 1})
        assert [item["conversation_id"] for item in page.json()] == [second] and page.headers["X-Total-Count"] == "3"

    def test_a_repeated_open_with_the_same_key_opens_one_conversation(self, api: Api) -> None:
        who = api.customer(score=None, verified=False)
        headers = {**who.headers, "Idempotency-Key": "open-1"}
        body = {"subject": "Hello", "text": "hello"}
        first = api.http.post(OPEN, headers=headers, json=body)
        again = api.http.post(OPEN, headers=headers, json=body)
        assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json() and len(api.get(OPEN, who=who)) == 1


class TestOnMemory(Conversations):
    @pytest.fixture
    def database_url(self) -> str:
        return "memory:"


class TestOnSQLite(Conversations):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(Conversations):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url
