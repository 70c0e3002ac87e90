"""Back-office accounts as admins manage them: disabled with a reason, enabled again, unlocked after failed logins."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, ConfigDict, StringConstraints

from api.http.schemas.common import NOTES_PATTERN, Answer, Body
from leasecore.staff import REASON_LENGTH, Role

USERNAME_PATTERN = r"^[A-Za-z0-9._\-]{1,64}$"
Username = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=USERNAME_PATTERN)]
"""An account's username in a path, in any case."""


class DisableAccount(Body):
    """Why the account is disabled (422 naming `reason` without one)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "left the company on 2026-03-31"}, {"reason": "长期休假"}]}
    )

    reason: Annotated[str, StringConstraints(max_length=REASON_LENGTH, pattern=NOTES_PATTERN)] = ""


class StaffAccountOut(Answer):
    """An account: its roles; `disabled` with who disabled it, when and why (null while enabled); `locked_until`:
    when a lockout after repeated failed logins lifts (null when not locked out)."""

    username: str
    roles: list[Role]
    disabled: bool
    disabled_reason: str | None
    disabled_by: str | None
    disabled_at: AwareDatetime | None
    locked_until: AwareDatetime | None
    created_at: AwareDatetime
    updated_at: AwareDatetime
