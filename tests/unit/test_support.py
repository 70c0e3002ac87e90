"""Online customer service (在线客服): a conversation's events and states, who waits for whom, a closed conversation
taking no message, and the rules a subject and a message's text keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasecore.errors import InvalidInput, InvalidState
from leasecore.support import (
    SUBJECT_LENGTH,
    TEXT_LENGTH,
    Author,
    Conversation,
    ConversationState,
    message_id,
    subject_of,
    text_of,
)

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
CUSTOMER = UUID("00000000-0000-0000-0000-0000000000c1")
ORDER = UUID("00000000-0000-0000-0000-0000000000a1")
REFUSED = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0))] + [
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
]
"""Every control character (but the tab and line breaks a message may hold) and every bidirectional override."""


def opened(order_id: UUID | None = ORDER) -> Conversation:
    return Conversation.open(uuid4(), CUSTOMER, "  Screen cracked ", " It came cracked.\r\nWhat now? ", order_id, NOW)


def test_opening_is_one_event_with_the_subject_order_and_first_message_trimmed() -> None:
    conversation = opened()
    (event,) = conversation.collect_events()
    assert isinstance(event, Conversation.Opened)
    assert (event.customer_id, event.subject, event.order_id, event.text) == (
        CUSTOMER,
        "Screen cracked",
        ORDER,
        "It came cracked.\nWhat now?",
    )
    assert (conversation.state, conversation.message_count, conversation.last_message_at) == (
        ConversationState.OPEN,
        1,
        NOW,
    )
    assert opened(None).order_id is None


def test_staff_answering_waits_for_the_customer_and_the_customer_writing_waits_for_staff() -> None:
    conversation = opened()
    later = NOW + timedelta(minutes=5)
    answer = conversation.answer(" We will swap it. ", "ops-li", later)
    states = [conversation.state]
    again = conversation.write("Thanks!", later + timedelta(minutes=1))
    states.append(conversation.state)
    assert states == [ConversationState.ANSWERED, ConversationState.OPEN]

    assert (answer.seq, answer.author, answer.text, answer.staff, answer.sent_at) == (
        2,
        Author.STAFF,
        "We will swap it.",
        "ops-li",
        later,
    )
    assert (again.seq, again.author, again.staff) == (3, Author.CUSTOMER, None)
    assert again.message_id == message_id(conversation.id, 3) != answer.message_id
    _, answered, wrote = conversation.collect_events()
    assert isinstance(answered, Conversation.StaffAnswered) and isinstance(wrote, Conversation.CustomerWrote)
    assert (answered.seq, answered.text, answered.staff, wrote.seq, wrote.text) == (
        2,
        "We will swap it.",
        "ops-li",
        3,
        "Thanks!",
    )
    assert conversation.last_message_at == later + timedelta(minutes=1)


def test_a_closed_conversation_takes_no_message_and_is_closed_once() -> None:
    conversation = opened()
    conversation.close("ops-li", NOW)
    assert (conversation.state, conversation.closed_by) == (ConversationState.CLOSED, "ops-li")
    for attempt in (
        lambda: conversation.write("hello?", NOW),
        lambda: conversation.answer("hello", "ops-li", NOW),
        lambda: conversation.close("ops-wang", NOW),
    ):
        with pytest.raises(InvalidState) as refused:
            attempt()
        assert refused.value.state == "closed"
    assert [type(event) for event in conversation.collect_events()] == [Conversation.Opened, Conversation.Closed]


def test_a_message_breaking_a_rule_is_refused_naming_its_field_and_records_nothing() -> None:
    conversation = opened()
    conversation.collect_events()
    for text in ("", " \n\t ", "x" * (TEXT_LENGTH + 1), "pay \u202eemag\u202c now", "bell\u0007"):
        with pytest.raises(InvalidInput) as refused:
            conversation.write(text, NOW)
        assert refused.value.field == "text"
    with pytest.raises(InvalidInput) as bad_subject:
        Conversation.open(uuid4(), CUSTOMER, "two\nlines", "hello", None, NOW)
    assert bad_subject.value.field == "subject"
    assert conversation.collect_events() == []


@pytest.mark.parametrize(
    ("rule", "value", "kept"),
    [
        (subject_of, "  Deposit refund ", "Deposit refund"),
        (subject_of, "押金什么时候退？", "押金什么时候退？"),
        (subject_of, "s" * SUBJECT_LENGTH, "s" * SUBJECT_LENGTH),
        (text_of, "line one\r\nline two\rline three", "line one\nline two\nline three"),
        (text_of, "\ttabbed\t", "tabbed"),
        (text_of, "a\tb", "a\tb"),
        (text_of, "字" * TEXT_LENGTH, "字" * TEXT_LENGTH),
        (text_of, f"  {'y' * TEXT_LENGTH}  ", "y" * TEXT_LENGTH),
    ],
)
def test_what_the_text_rules_keep(rule: object, value: str, kept: str) -> None:
    assert callable(rule) and rule(value) == kept


@pytest.mark.parametrize(
    ("rule", "field", "value", "message"),
    [
        (subject_of, "subject", "", "must not be blank"),
        (subject_of, "subject", "   ", "must not be blank"),
        (subject_of, "subject", "s" * (SUBJECT_LENGTH + 1), "must be at most 100 characters (101 given)"),
        (subject_of, "subject", "a\tb", "must not hold control characters or bidirectional overrides"),
        (subject_of, "subject", "a\nb", "must not hold control characters or bidirectional overrides"),
        (text_of, "text", "\r\n", "must not be blank"),
        (text_of, "text", "字" * (TEXT_LENGTH + 1), "must be at most 2000 characters (2001 given)"),
        (text_of, "text", "refund \u2066x\u2069", "must not hold control characters or bidirectional overrides"),
        (text_of, "text", "nul\u0000", "must not hold control characters or bidirectional overrides"),
    ],
)
def test_what_the_text_rules_refuse_naming_the_field(rule: object, field: str, value: str, message: str) -> None:
    assert callable(rule)
    with pytest.raises(InvalidInput) as refused:
        rule(value)
    assert (refused.value.field, refused.value.message) == (field, message)


@given(st.text(max_size=60), st.sampled_from(REFUSED), st.text(max_size=60))
def test_a_control_character_or_bidirectional_override_anywhere_is_refused(
    before: str, refused: str, after: str
) -> None:
    for rule in (subject_of, text_of):
        with pytest.raises(InvalidInput):
            rule(f"x{before}{refused}{after}x")


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters=REFUSED), max_size=150))
def test_printable_text_is_kept_trimmed_or_refused_only_for_its_length_or_being_blank(value: str) -> None:
    for rule, longest in ((subject_of, SUBJECT_LENGTH), (text_of, TEXT_LENGTH)):
        trimmed = value.strip()
        if not trimmed or len(trimmed) > longest:
            with pytest.raises(InvalidInput):
                rule(value)
        else:
            assert rule(value) == trimmed
