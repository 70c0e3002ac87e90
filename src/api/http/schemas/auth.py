"""Logging in: customers by phone and SMS code, staff by username and password, and the tokens they get."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, StringConstraints

from api.http.schemas.common import Answer, Body, Code, Phone
from leasecore.staff import Role


class OtpRequest(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phone": "13800138000"}]})

    phone: Phone


class OtpSent(Answer):
    phone: str
    expires_at: AwareDatetime


class Login(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phone": "13800138000", "code": "123456"}]})

    phone: Phone
    code: Code


class CustomerToken(Answer):
    token: str
    customer_id: UUID
    expires_at: AwareDatetime


class StaffLogin(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"username": "li.lei", "password": "correct horse"}]})

    username: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class StaffToken(Answer):
    token: str
    username: str
    roles: list[Role]
    expires_at: AwareDatetime
