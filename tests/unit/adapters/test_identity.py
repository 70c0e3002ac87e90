from __future__ import annotations

from datetime import date, timedelta

import pytest
from stdnum.cn import ric

from adapters.identity.gb11643 import birth_date, id_number_problem, is_valid_id_number, normalize_id_number
from adapters.identity.sandbox import SandboxIdentity, card_valid_until

VALID = "11010519491231002X"
TODAY = date(2026, 1, 31)


def with_check_digit(first_17: str) -> str:
    return first_17 + ric.calc_check_digit(first_17 + "0")


def test_known_valid_numbers_pass_including_a_check_x():
    assert is_valid_id_number(VALID, TODAY)
    assert is_valid_id_number("11010519491231002x", TODAY)
    assert is_valid_id_number(with_check_digit("44030420000229123"), TODAY)
    assert ric.is_valid(VALID)


def test_a_wrong_check_digit_is_named():
    assert id_number_problem("110105194912310021", TODAY) == "ID number fails the GB 11643 check digit"
    assert id_number_problem("110105194912310020", TODAY) == "ID number fails the GB 11643 check digit"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "ID number must have 18 characters, not 0"),
        ("1101051949123100", "ID number must have 18 characters, not 16"),
        ("11010519491231002XX", "ID number must have 18 characters, not 19"),
        ("1101051949123100AX", "ID number must be 17 digits followed by a digit or X"),
        ("11010519491231002Y", "ID number must be 17 digits followed by a digit or X"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "ID number must be 17 digits followed by a digit or X"),
    ],
)
def test_length_and_format_problems_are_named(text, problem):
    assert id_number_problem(text, TODAY) == problem
    assert not is_valid_id_number(text, TODAY)


def test_the_birth_date_must_exist_and_not_lie_in_the_future():
    february_30 = with_check_digit("11010519490230002")
    assert id_number_problem(february_30, TODAY) == "ID number carries no valid birth date"
    tomorrow = with_check_digit("11010520260201002")
    assert id_number_problem(tomorrow, TODAY) == "ID number carries a birth date in the future"
    assert is_valid_id_number(with_check_digit("11010520260131002"), TODAY)


def test_numbers_are_normalized_before_checking():
    assert normalize_id_number(" 110105 19491231 002x ") == VALID
    assert normalize_id_number("110105-19491231-002X") == VALID
    assert normalize_id_number("１１０１０５１９４９１２３１００２Ｘ") == VALID
    assert is_valid_id_number("110105 1949 1231 002x", TODAY)


def test_the_birth_date_is_read_from_the_number():
    assert birth_date(VALID) == date(1949, 12, 31)
    with pytest.raises(ValueError):
        birth_date("12345")
    with pytest.raises(ValueError):
        birth_date(with_check_digit("11010519491332002"))


@pytest.fixture
def identity(clock):
    return SandboxIdentity(clock)


def test_a_complete_application_is_verified(identity):
    check = identity.verify(" 张三 ", "11010519491231002x", b"\x89PNG id", b"\xff\xd8 selfie")

    assert check.verified is True
    assert (check.name, check.id_number, check.reason, check.provider) == ("张三", VALID, None, "sandbox")
    assert check.valid_until is None
    assert check.reference == "sandbox-idv-000001"


@pytest.mark.parametrize(
    ("name", "id_number", "card", "selfie", "reason"),
    [
        ("", VALID, b"id", b"me", "name is empty"),
        ("  ", VALID, b"id", b"me", "name is empty"),
        ("张三", "110105194912310021", b"id", b"me", "ID number fails the GB 11643 check digit"),
        ("张三", "1101051949", b"id", b"me", "ID number must have 18 characters, not 10"),
        ("张三", VALID, b"", b"me", "ID card image is empty"),
        ("张三", VALID, b"id", b"", "selfie image is empty"),
    ],
)
def test_each_failing_check_is_the_reason(identity, name, id_number, card, selfie, reason):
    check = identity.verify(name, id_number, card, selfie)
    assert (check.verified, check.reason) == (False, reason)


def test_a_forced_face_mismatch_fails_only_that_person(identity):
    other = with_check_digit("44030419900101123")
    identity.fail_face_match("11010519491231002x")

    assert identity.verify("张三", VALID, b"id", b"me").reason == "selfie does not match the ID card photo"
    assert identity.verify("李四", other, b"id", b"me").verified
    identity.pass_face_match(VALID)
    assert identity.verify("张三", VALID, b"id", b"me").verified


def test_the_future_is_judged_by_the_injected_clock(clock):
    born_next_week = with_check_digit("11010520260207002")
    identity = SandboxIdentity(clock)
    assert (
        identity.verify("婴儿", born_next_week, b"id", b"me").reason == "ID number carries a birth date in the future"
    )
    clock.advance(timedelta(days=7))
    check = identity.verify("婴儿", born_next_week, b"id", b"me")
    assert check.verified and check.valid_until == date(2031, 2, 7)


@pytest.mark.parametrize(
    ("born", "valid_until"),
    [
        (date(2012, 6, 1), date(2031, 1, 31)),
        (date(2010, 1, 31), date(2036, 1, 31)),
        (date(2000, 2, 1), date(2036, 1, 31)),
        (date(2000, 1, 31), date(2046, 1, 31)),
        (date(1980, 2, 1), date(2046, 1, 31)),
        (date(1980, 1, 31), None),
    ],
)
def test_a_card_issued_today_is_valid_by_age(born, valid_until):
    assert card_valid_until(born, TODAY) == valid_until


def test_a_card_issued_on_29_february_runs_to_28_february():
    assert card_valid_until(date(2000, 1, 1), date(2024, 2, 29)) == date(2034, 2, 28)
