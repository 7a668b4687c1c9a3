"""The JSON shapes of sessions, users, organizations and the audit log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from central.api.schemas import Model, Text, example

UserRole = Literal["viewer", "operator", "admin"]
ORG_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
USERNAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"


class LoginIn(Model):
    model_config = example({"username": "duty", "password": "correct horse battery staple"})

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(Model):
    username: str
    display_name: str
    org_id: str
    role: UserRole
    created_ms: int
    disabled_ms: int | None


class SessionOut(Model):
    user: UserOut
    expires_ms: int = Field(description="when the session ends unless used (idle) or at the latest")


class SessionCreated(SessionOut):
    token: str = Field(description="the session token (also set as an HttpOnly cookie): usable as Bearer")


class UserIn(Model):
    model_config = example(
        {"username": "li.wei", "display_name": "Li Wei", "org_id": "mine-north", "role": "operator",
         "password": "a long passphrase"}
    )  # fmt: skip

    username: str = Field(pattern=USERNAME)
    display_name: Text = Field(default="", max_length=100)
    org_id: str = Field(pattern=ORG_ID)
    role: UserRole
    password: str = Field(min_length=8, max_length=1024)


class UserList(Model):
    data: list[UserOut]
    count: int


class PasswordIn(Model):
    password: str = Field(min_length=8, max_length=1024)


class OwnPasswordIn(Model):
    current: str = Field(min_length=1, max_length=1024, description="the password now")
    password: str = Field(min_length=8, max_length=1024, description="the new one")


class OrgIn(Model):
    model_config = example({"id": "mine-north", "name": "North Mining Co.", "parent_id": "county"})

    id: str = Field(pattern=ORG_ID)
    name: Text = Field(min_length=1, max_length=200)
    parent_id: str = Field(pattern=ORG_ID)


class OrgOut(Model):
    id: str
    name: str
    parent_id: str | None
    created_ms: int


class OrgList(Model):
    data: list[OrgOut]
    count: int


class LockoutOut(Model):
    subject: str = Field(description="user:<username> or client:<address>")
    failures: int
    last_ms: int
    locked_until_ms: int | None


class LockoutList(Model):
    data: list[LockoutOut]
    count: int


class AuditOut(Model):
    id: int
    ts_ms: int
    org_id: str
    actor: str
    kind: str
    target: str
    client: str
    detail: dict[str, Any]


class AuditList(Model):
    data: list[AuditOut]
    count: int
    limit: int
    offset: int
