"""What the platform answers a parcel-tracking service's push."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from api.http.schemas.common import Answer


class PushAnswerOut(Answer):
    """Kdniao's expected answer to a push: `Success` true stops it resending."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [{"EBusinessID": "1237100", "UpdateTime": "2026-01-31 10:00:05", "Success": True, "Reason": ""}]
        },
    )

    e_business_id: str = Field(alias="EBusinessID")
    update_time: str = Field(alias="UpdateTime")
    success: bool = Field(alias="Success")
    reason: str = Field(alias="Reason")
