"""The logs hold no token, no full ID number and no full phone number, and each record says which request it
was written for."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.logs import JSON, TEXT, JsonFormatter, Redaction, TextFormatter, log_format, logging_config, redact, request_id

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer [redacted]"),
        ("authorization=bearer abc.def", "authorization=bearer [redacted]"),
        (f"token {JWT} refused", "token [redacted-jwt] refused"),
        ('{"token": "opaque-123"}', '{"token": "[redacted]"}'),
        ("GET /x?access_token=s3cr3t&page=2", "GET /x?access_token=[redacted]&page=2"),
        ("password: hunter2", "password: [redacted]"),
        ('{"phone": "13800138000", "code": "123456"}', '{"phone": "138****8000", "code": "[redacted]"}'),
        ("id 110101199003071234 checked", "id 110101********1234 checked"),
        ("身份证11010519900307001X已核验", "身份证110105********001X已核验"),
        ("call +8613912345678 now", "call +86139****5678 now"),
        ("手机13912345678", "手机139****5678"),
    ],
)
def test_secrets_and_personal_numbers_are_masked(written: str, shown: str) -> None:
    assert redact(written) == shown


@pytest.mark.parametrize(
    "kept",
    [
        "order 4f1c2a9e-1380-4138-a000-138001380001 shipped",
        "error code ACQ.TRADE_NOT_EXIST from alipay",
        "amount 12800.00 at 1764547200",
        "12345678901",
        "1380013800012",
        "a13800138000",
    ],
)
def test_what_is_neither_a_secret_nor_a_personal_number_is_kept(kept: str) -> None:
    assert redact(kept) == kept


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", " ", "：", "phone="]))
def test_no_mobile_number_survives(phone: str, before: str) -> None:
    shown = redact(f"{before}{phone} end")
    assert phone not in shown and phone[:3] + "****" + phone[-4:] in shown


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]]:
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.addFilter(Redaction())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, written, handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_a_json_record_carries_the_request_id_its_extra_fields_and_is_masked(
    captured: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, written, handler = captured
    handler.setFormatter(JsonFormatter())
    token = request_id.set("req-1")
    try:
        logger.info("sent to %s", "13800138000", extra={"id_number": "110101199003071234", "attempt": 2})
    finally:
        request_id.reset(token)
    logger.info("outside a request")
    inside, outside = (json.loads(line) for line in written.getvalue().splitlines())
    assert inside | {"time": ""} == {
        "time": "",
        "level": "info",
        "logger": "tests.logs",
        "message": "sent to 138****8000",
        "request_id": "req-1",
        "id_number": "110101********1234",
        "attempt": 2,
    }
    assert "request_id" not in outside


def test_a_traceback_is_masked_too(
    captured: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, written, handler = captured
    handler.setFormatter(JsonFormatter())
    try:
        raise ValueError(f"no customer with phone 13800138000 and token {JWT}")
    except ValueError:
        logger.exception("lookup failed")
    record = json.loads(written.getvalue())
    assert "ValueError: no customer with phone 138****8000 and token [redacted-jwt]" in record["exception"]
    assert "13800138000" not in written.getvalue()


def test_a_text_record_names_the_request(
    captured: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, written, handler = captured
    handler.setFormatter(TextFormatter())
    token = request_id.set("req-2")
    try:
        logger.warning("slow")
    finally:
        request_id.reset(token)
    assert written.getvalue().rstrip().endswith("WARNING tests.logs [req-2]: slow")


def test_the_format_is_json_in_production_and_text_in_the_sandbox_unless_told() -> None:
    assert log_format({}, production=True) == JSON
    assert log_format({}, production=False) == TEXT
    assert log_format({"LEASECORE_LOG_FORMAT": "JSON"}, production=False) == JSON
    with pytest.raises(ValueError, match="LEASECORE_LOG_FORMAT"):
        log_format({"LEASECORE_LOG_FORMAT": "xml"}, production=True)
    config = logging_config(JSON, "warning")
    assert config["root"]["level"] == "WARNING" and config["handlers"]["default"]["filters"] == ["redaction"]
