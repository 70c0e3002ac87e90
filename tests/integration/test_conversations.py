"""Customer service through the application and its read model, on memory, SQLite and PostgreSQL: a customer reaches
only their own conversations and orders, the queue puts the longest waiting first, a poll reads only what is new,
and the read model rebuilds to the same rows it was built to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

import projections.conversations as support
from api.bootstrap import Platform, bootstrap
from leasecore.clock import SettableClock
from leasecore.errors import InvalidInput, InvalidState, NotFound
from leasecore.support import message_id
from projections import read_models
from projections.projection import Batch, Page
from projections.store import ViewStore
from tests.support import START, World, build_world

TABLES = (support.conversations_view, support.conversation_messages_view)


def rows(views: ViewStore) -> dict[str, list[tuple[object, ...]]]:
    with views.read() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
            for table in TABLES
        }


class ConversationBehaviour:
    """Abstract: subclasses name the storage backend with a `database_url` fixture."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def platform(self, database_url: str) -> Iterator[Platform]:
        platform = bootstrap(database_url, clock=SettableClock(START))
        try:
            yield platform
        finally:
            platform.close()

    @pytest.fixture
    def world(self, platform: Platform) -> World:
        assert isinstance(platform.app.clock, SettableClock)
        return build_world(platform.app, platform.app.clock)

    def minutes(self, world: World, minutes: int) -> None:
        world.clock.set(world.clock.now() + timedelta(minutes=minutes))

    def test_a_conversation_is_read_with_who_it_waits_for_and_its_messages(
        self, platform: Platform, world: World
    ) -> None:
        app, views = platform.app, platform.views
        customer = world.customer()
        order = app.place_order(customer, world.request())
        conversation = app.open_conversation(customer, " Delivery ", "When does it ship?", order)
        self.minutes(world, 10)
        app.write_to_conversation(conversation, customer, "It is a gift.")
        platform.runner.catch_up()

        found = support.conversation(views, conversation)
        assert found is not None
        assert (found.customer_id, found.subject, found.order_id, found.state) == (
            customer,
            "Delivery",
            order,
            "open",
        )
        assert (found.waiting_since, found.unanswered, found.new_replies, found.message_count) == (START, 2, 0, 2)
        assert [(m.seq, m.author, m.text, m.sent_at) for m in found.messages] == [
            (1, "customer", "When does it ship?", START),
            (2, "customer", "It is a gift.", START + timedelta(minutes=10)),
        ]
        assert found.messages[0].message_id == message_id(conversation, 1)

        self.minutes(world, 5)
        answer = app.answer_conversation(conversation, "ops-li", "Tomorrow, by SF Express.")
        platform.runner.catch_up()
        polled = support.conversation(views, conversation, after=2)
        assert polled is not None
        assert [(m.seq, m.author, m.staff, m.text) for m in polled.messages] == [
            (3, "staff", "ops-li", "Tomorrow, by SF Express.")
        ]
        assert polled.messages[0].message_id == answer.message_id
        assert (polled.state, polled.waiting_since, polled.unanswered, polled.new_replies) == ("answered", None, 0, 1)
        assert (polled.last_author, polled.preview) == ("staff", "Tomorrow, by SF Express.")

        app.close_conversation(conversation, "ops-li")
        platform.runner.catch_up()
        closed = support.conversation(views, conversation, after=3)
        assert closed is not None
        assert (closed.state, closed.closed_by, closed.messages) == ("closed", "ops-li", ())
        with pytest.raises(InvalidState):
            app.write_to_conversation(conversation, customer, "one more thing")
        assert support.conversation(views, uuid4()) is None

    def test_a_customer_reaches_only_their_own_conversations_and_orders(self, platform: Platform, world: World) -> None:
        app = platform.app
        mine, theirs = world.customer(), world.customer()
        their_order = app.place_order(theirs, world.request())
        with pytest.raises(NotFound, match="order"):
            app.open_conversation(mine, "Their order", "what is this?", their_order)
        with pytest.raises(NotFound, match="order"):
            app.open_conversation(mine, "No order", "what is this?", uuid4())
        their_conversation = app.open_conversation(theirs, "Hello", "hello")
        with pytest.raises(NotFound, match="conversation"):
            app.write_to_conversation(their_conversation, mine, "hi")
        with pytest.raises(NotFound, match="customer"):
            app.open_conversation(uuid4(), "Hello", "hello")
        with pytest.raises(InvalidInput) as refused:
            app.open_conversation(mine, "Hello", " ")
        assert refused.value.field == "text"

    def test_opening_twice_under_one_id_opens_one_conversation(self, platform: Platform, world: World) -> None:
        app, customer, chosen = platform.app, world.customer(), uuid4()
        assert app.open_conversation(customer, "Hello", "hello", conversation_id=chosen) == chosen
        assert app.open_conversation(customer, "Hello", "hello", conversation_id=chosen) == chosen
        with pytest.raises(NotFound):
            app.open_conversation(world.customer(), "Hello", "hello", conversation_id=chosen)
        assert [type(event).__name__ for event in app.events.get(chosen)] == ["Opened"]

    def test_the_queue_puts_the_longest_waiting_first_and_a_customer_sees_the_latest_activity_first(
        self, platform: Platform, world: World
    ) -> None:
        app, views = platform.app, platform.views
        ann, bob = world.customer(), world.customer()
        first = app.open_conversation(ann, "First", "waiting longest")
        self.minutes(world, 1)
        answered = app.open_conversation(bob, "Answered", "a question")
        self.minutes(world, 1)
        second = app.open_conversation(ann, "Second", "waiting since later")
        self.minutes(world, 1)
        app.answer_conversation(answered, "ops-li", "an answer")
        self.minutes(world, 1)
        app.write_to_conversation(first, ann, "still waiting")
        closed = app.open_conversation(bob, "Closed", "never mind")
        app.close_conversation(closed, "ops-li")
        platform.runner.catch_up()

        def ids(page: Page[support.ConversationView]) -> list[UUID]:
            return [item.conversation_id for item in page.items]

        assert ids(support.queue(views, "open")) == [first, second]
        assert ids(support.queue(views)) == [first, second, closed, answered]
        assert ids(support.queue(views, "answered")) == [answered] and ids(support.queue(views, "closed")) == [closed]
        assert support.queue(views, limit=1, offset=1).items[0].conversation_id == second
        assert support.queue(views).total == 4
        assert support.counts(views) == {"open": 2, "answered": 1, "closed": 1}
        with pytest.raises(ValueError, match="state"):
            support.queue(views, "waiting")

        page = support.customer_conversations(views, ann)
        assert ids(page) == [first, second] and page.total == 2 and page.items[0].messages == ()
        assert page.items[0].preview == "still waiting" and page.items[0].waiting_since == START
        with_messages = support.customer_conversations(views, bob, with_messages=True)
        assert [[m.text for m in item.messages] for item in with_messages.items] == [
            ["never mind"],
            ["a question", "an answer"],
        ]

    def test_the_read_model_rebuilds_to_the_rows_it_was_built_to_and_an_event_applies_once(
        self, platform: Platform, world: World
    ) -> None:
        app, views = platform.app, platform.views
        customer = world.customer()
        for n in range(3):
            conversation = app.open_conversation(customer, f"Question {n}", "first\nlines")
            app.answer_conversation(conversation, "ops-li", "an answer")
            app.write_to_conversation(conversation, customer, "thanks")
            if n == 1:
                app.close_conversation(conversation, "ops-wang")
            self.minutes(world, 3)
        platform.runner.catch_up()
        built = rows(views)
        assert len(built["conversation_messages_view"]) == 9

        platform.runner.rebuild(["conversations"])
        assert rows(views) == built

        events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 10_000)]
        (projection,) = [item for item in read_models() if item.name == "conversations"]
        for event in events:
            with views.begin() as connection:
                batch = Batch(connection)
                projection.process(batch, event)
                projection.process(batch, event)
                batch.flush()
        assert rows(views) == built


class TestOnMemory(ConversationBehaviour):
    @pytest.fixture
    def database_url(self) -> str:
        return "memory:"


class TestOnSQLite(ConversationBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestOnPostgres(ConversationBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url
