"""The service itself."""

from __future__ import annotations

from typing import Literal

from api.http.schemas.common import Answer


class Health(Answer):
    status: Literal["ok"]
