"""The service's logs: one JSON object a line (or plain text in the sandbox), each record carrying the id of the
request it was written for, and nothing in them a customer could be harmed by: tokens, ID numbers and phone
numbers are masked on every record before any handler writes it (issue 15, item 4).

`LEASECORE_LOG_FORMAT` is `json` or `text`; production mode logs JSON unless told otherwise.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

JSON, TEXT = "json", "text"
FORMATS = (JSON, TEXT)

request_id: ContextVar[str | None] = ContextVar("leasecore_request_id", default=None)
"""The id of the HTTP request being answered (set by the request middleware; threads it hands work to copy it)."""

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![0-9A-Za-z])((?:\+?86[ -]?)?1[3-9]\d)\d{4}(\d{4})(?![0-9A-Za-z])")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_SECRET_FIELD = re.compile(
    r"(?i)\b((?:access_|refresh_)?token|authorization|password|secret)(\"?\s*[=:]\s*\"?)(?!bearer\b)[^\s\"'&,;}]+"
)
_ONE_TIME_CODE = re.compile(r"(?i)\b(code\"?\s*[=:]\s*\"?)\d{4,8}\b")
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}
"""A record's own attributes (and uvicorn's coloured copy of its message): the rest are its extra fields."""


def redact(text: str) -> str:
    """The text with bearer tokens, JWTs, secret-looking fields (`token=`, `password:`, …) and one-time codes
    replaced, 18-digit ID numbers cut to their first six and last four digits (as the back office shows them) and
    mainland mobile numbers to their first three and last four."""
    text = _BEARER.sub(r"\1[redacted]", text)
    text = _JWT.sub("[redacted-jwt]", text)
    text = _SECRET_FIELD.sub(r"\1\2[redacted]", text)
    text = _ONE_TIME_CODE.sub(r"\1[redacted]", text)
    text = _ID_NUMBER.sub(r"\1********\2", text)
    return _PHONE.sub(r"\1****\2", text)


class Redaction(logging.Filter):
    """Masks every record's message, its extra fields and its traceback, and stamps it with the request's id;
    installed on the handlers, so records of every logger pass through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, redact(value))
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, the request's id when there is one, the
    record's extra fields and the traceback. Written by hand: a dozen lines, where a library would be one more
    dependency to keep for `json.dumps`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        found = getattr(record, "request_id", None) or request_id.get()
        if found:
            entry["request_id"] = found
        entry.update({name: value for name, value in vars(record).items() if name not in _STANDARD})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The usual one-line text, with the request's id after the logger's name when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        found = getattr(record, "request_id", None) or request_id.get()
        record.request = f" [{found}]" if found else ""
        return super().format(record)


def log_format(environ: Mapping[str, str], *, production: bool) -> str:
    """The format asked by LEASECORE_LOG_FORMAT, else JSON in production and text in the sandbox."""
    chosen = (environ.get("LEASECORE_LOG_FORMAT") or (JSON if production else TEXT)).strip().lower()
    if chosen not in FORMATS:
        raise ValueError(f"LEASECORE_LOG_FORMAT is {JSON!r} or {TEXT!r}, not {chosen!r}")
    return chosen


def logging_config(chosen: str, level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` (uvicorn's `log_config`, applied in every worker) sending every logger,
    uvicorn's included, through the redaction filter to standard error in the chosen format."""
    formatter = "api.logs.JsonFormatter" if chosen == JSON else "api.logs.TextFormatter"
    handler = {"class": "logging.StreamHandler", "formatter": chosen, "filters": ["redaction"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redaction": {"()": "api.logs.Redaction"}},
        "formatters": {chosen: {"()": formatter}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "level": level.upper(), "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
