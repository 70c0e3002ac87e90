"""The text a read model's upsert copies into PostgreSQL (`COPY … FROM STDIN`, text format) is written value by value
by the value's type; whatever the values, it is the text the general rule (`_copied`) writes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.projection import _copied, _copy_text


class Stage(StrEnum):
    SMS = "sms"
    AGENCY = "agency\tdesk"


class Level(IntEnum):
    LOW = 1


values = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=12) | st.sampled_from(["\\N", "a\tb", "line\nnext", "back\\slash", "cr\r", "\\\t\n\r"]),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.uuids(),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from([*Stage, *Level]),
)


@given(st.lists(st.lists(values, min_size=1, max_size=8).map(tuple), max_size=6))
def test_rows_are_copied_as_the_general_rule_writes_each_value(rows: list[tuple[Any, ...]]) -> None:
    assert _copy_text(rows) == "".join("\t".join(_copied(value) for value in row) + "\n" for row in rows)


def test_the_text_format_of_each_kind_of_value() -> None:
    row = (None, True, False, "a\\b\tc\nd\re", 7, Decimal("199.00"), date(2026, 1, 2))
    assert _copy_text([row]) == "\\N\tt\tf\ta\\\\b\\tc\\nd\\re\t7\t199.00\t2026-01-02\n"
    assert _copy_text([(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),)]) == "2026-01-02 03:04:05+00:00\n"


def test_a_value_of_no_known_kind_is_refused_in_words() -> None:
    with pytest.raises(TypeError, match="no COPY text for float"):
        _copy_text([(1.5,)])
