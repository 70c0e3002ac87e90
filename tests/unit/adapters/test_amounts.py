from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.amounts import from_fen, parse_yuan, require_positive, to_fen, yuan_string


def test_yuan_and_fen_convert_exactly():
    assert to_fen(D("12.50")) == 1250
    assert to_fen(D("0.01")) == 1
    assert to_fen(D("7")) == 700
    assert from_fen(1250) == D("12.50")
    assert str(from_fen(1)) == "0.01"
    assert yuan_string(D("12.5")) == "12.50"
    assert parse_yuan("12.5") == D("12.50")
    assert str(parse_yuan("1299")) == "1299.00"


@pytest.mark.parametrize("bad", [D("1.005"), D("NaN"), D("Infinity")])
def test_an_amount_with_more_than_two_places_is_refused_not_rounded(bad):
    with pytest.raises(ValueError):
        to_fen(bad)


def test_floats_never_pass_for_money():
    with pytest.raises(TypeError):
        to_fen(12.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        from_fen(12.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        from_fen(True)


@pytest.mark.parametrize("text", ["", "-1.00", "1e3", "01.00", "1.005", " 1.00", "1,00", "1."])
def test_parse_yuan_accepts_only_alipay_amounts(text):
    with pytest.raises(ValueError):
        parse_yuan(text)


@pytest.mark.parametrize("amount", [D("0.00"), D("-0.01")])
def test_a_payment_moves_more_than_nothing(amount):
    with pytest.raises(ValueError, match="positive"):
        require_positive(amount)


@given(st.integers(min_value=0, max_value=10**15))
def test_fen_round_trip_through_yuan_strings(fen):
    assert to_fen(parse_yuan(yuan_string(from_fen(fen)))) == fen
