"""The service itself."""

from __future__ import annotations

from typing import Literal

from api.http.schemas.common import Answer


class Health(Answer):
    status: Literal["ok"]


class Ready(Answer):
    status: Literal["ready"]
    read_models_lag: int
    """Events the slowest read model is behind the log."""
