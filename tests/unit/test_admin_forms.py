"""What the warehouse's forms accept, on their own: a multipart body with files read as the browser sends it,
photos judged by their bytes, pasted serials split and checked all at once, SKU specs a line each."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.types import Message

from api.web.admin.shipping import photo_type
from api.web.admin.stock import parse_serials, parse_specs, serial_problems
from api.web.pages import read_form, uploads

T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """On a thread of its own: a browser test in the same process may hold this thread's event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-the-boundary\r\n"


def _request(body: bytes, content_type: str) -> Request:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": []}
    scope["headers"] = [(b"content-type", content_type.encode())]
    return Request(scope, receive)


def _part(name: str, content: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    kind = "\r\nContent-Type: image/png" if filename is not None else ""
    return f"--XyZ\r\nContent-Disposition: {disposition}{kind}\r\n\r\n".encode() + content + b"\r\n"


def test_a_multipart_form_gives_its_fields_and_keeps_its_files_byte_for_byte() -> None:
    body = b"".join(
        (
            _part("csrf", b"token"),
            _part("photos", PNG, "back.png"),
            _part("notes", "玻璃碎裂".encode()),
            _part("photos", b"", ""),
        )
    )
    request = _request(body + b"--XyZ--\r\n", "multipart/form-data; boundary=XyZ")
    fields = _run(read_form(request))
    assert fields == {"csrf": "token", "notes": "玻璃碎裂"}
    assert [(item.filename, item.content) for item in uploads(request, "photos")] == [("back.png", PNG)]


def test_a_multipart_form_without_a_boundary_reads_as_nothing() -> None:
    assert _run(read_form(_request(_part("csrf", b"token"), "multipart/form-data"))) == {}


def test_a_photo_is_judged_by_its_bytes_not_its_name() -> None:
    assert photo_type(PNG) == "image/png"
    assert photo_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert photo_type(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert photo_type(b"this is only text, not a picture") is None
    assert photo_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


def test_pasted_serials_split_on_lines_commas_and_spaces() -> None:
    assert parse_serials("A1\nA2, A3，A4;A5  A6\r\n\n") == ["A1", "A2", "A3", "A4", "A5", "A6"]


def test_every_bad_serial_is_named_with_why() -> None:
    problems = serial_problems(["A1", "A2", "A2", "-x", "OLD"], {"OLD"})
    assert problems == {"A2": "err.serial_twice", "-x": "err.serial_bad", "OLD": "err.serial_known"}
    assert serial_problems(["A1", "A2"], {"OLD"}) == {}


def test_specs_are_a_name_and_a_value_a_line() -> None:
    assert parse_specs("colour: blue\nstorage：1T\n\nsize = 6.1") == (
        {"colour": "blue", "storage": "1T", "size": "6.1"},
        None,
    )
    assert parse_specs("colour: blue\njust words") == ({"colour": "blue"}, "just words")
