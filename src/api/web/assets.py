"""Third-party browser assets, installed from npm at set-up time (`package.json`, `npm ci`) and never copied into the
repository: htmx for the screens, axe-core for the browser tests' accessibility scan. Without them the screens still
work (they need no JavaScript); a warning says so once."""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)

HTMX = "htmx.org/dist/htmx.min.js"
AXE = "axe-core/axe.min.js"


def node_modules() -> Path | None:
    """`LEASECORE_NODE_MODULES`, else the checkout's `node_modules/` (beside `package.json`), else the working
    directory's."""
    given = os.environ.get("LEASECORE_NODE_MODULES")
    candidates = [Path(given)] if given else []
    candidates += [Path(__file__).resolve().parents[3] / "node_modules", Path.cwd() / "node_modules"]
    return next((path for path in candidates if path.is_dir()), None)


def asset(name: str) -> Path | None:
    """The installed file of a package, if there is one."""
    root = node_modules()
    path = root / name if root else None
    return path if path is not None and path.is_file() else None


@cache
def htmx() -> bytes | None:
    """htmx as installed, read once; None (and one warning) when `npm ci` has not run."""
    path = asset(HTMX)
    if path is None:
        log.warning("node_modules/%s is missing (run `make` or `npm ci`): the back office serves no htmx", HTMX)
        return None
    return path.read_bytes()


async def htmx_file(request: Request) -> Response:
    """htmx as npm installed it, for an app to serve (404 when it is not installed: the pages work without it)."""
    content = htmx()
    if content is None:
        raise HTTPException(404)
    return Response(content, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})
