"""Notification policies for admins: read the text in force (and its models), replace it.

The text lives in the database (``notify_policies``), so every central process on one PostgreSQL uses the
same set: the process that takes a replacement uses it at once, the others at their worker's next tick
(within a second). A text with problems is refused with 422 and every problem as ``file:line: key:
message``, one per line; the set in force is left as it was. The policies are the county's (their contacts'
URLs may hold credentials): only an admin of the top organization reads or replaces them; each
replacement is audited.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import Field

from central.accounts.audit import audit
from central.api.deps import Admin, ServicesDep
from central.api.responses import errors, json_response
from central.api.routers.session import client_of
from central.api.schemas import Model, example
from central.auth import Principal
from central.notify.policyfile import parse_policies, policy_issues, to_json
from central.services import Services
from central.store.sql_store import SqlStore

router = APIRouter(prefix="/api/v1/notify", tags=["notify"])

API_PATH = "notify.yaml"  # how the problems of a text sent through the API name it
MAX_TEXT_CHARS = 64 * 1024  # a county's policy file is a few kilobytes
EXAMPLE = (
    'contacts:\n  - {name: duty-desk, url: "json://10.0.0.5:9000/hook"}\n'
    "policies:\n  - {name: all, notify: [duty-desk]}\n"
)


class PoliciesIn(Model):
    model_config = example({"text": EXAMPLE})

    text: str = Field(max_length=MAX_TEXT_CHARS, description="the policy file's YAML (JSON is YAML too)")


class PoliciesOut(Model):
    version: int = Field(description="1 for the first set stored, one more at each replacement")
    path: str = Field(description="the file it came from, or notify.yaml when sent through the API")
    text: str
    policies: dict[str, Any] = Field(description="the models: levels as numbers, every default spelt out")


def _store(services: Services) -> SqlStore:
    if not isinstance(services.store, SqlStore):  # every store is one today
        raise HTTPException(404, "this store keeps no notification policies")
    return services.store


def _county_admin(who: Principal) -> None:
    if who.orgs is not None:
        raise HTTPException(403, "notification policies are managed by an admin of the top organization")


async def _current(store: SqlStore) -> Response:
    found = await store.query(store.notify_policy_text)
    if found is None:
        raise HTTPException(404, "no notification policies: serve --notify FILE, or PUT them here")
    version, path, text = found
    policies = await asyncio.to_thread(parse_policies, text, path)
    return json_response({
        "version": version, "path": path, "text": text, "policies": orjson.loads(to_json(policies.policies))
    })  # fmt: skip


@router.get(
    "/policies",
    response_model=PoliciesOut,
    summary="The notification policies in force (admin)",
    responses=errors(401, 403, 404),
)
async def get_policies(services: ServicesDep, who: Admin) -> Response:
    _county_admin(who)
    return await _current(_store(services))


@router.put(
    "/policies",
    response_model=PoliciesOut,
    summary="Replace the notification policies (admin); 422 lists every problem with its line",
    responses=errors(401, 403, 404, 413, 422),
)
async def put_policies(body: PoliciesIn, request: Request, services: ServicesDep, who: Admin) -> Response:
    _county_admin(who)
    store = _store(services)
    issues = (await asyncio.to_thread(policy_issues, body.text, API_PATH))[1]  # Apprise checks each URL
    if issues:
        raise HTTPException(422, "\n".join(str(i) for i in issues))
    await store.query(store.put_notify_policy_text, API_PATH, body.text, services.clock_ms())
    await audit(services, "notify.policies", API_PATH, who=who, client=client_of(request),
                detail={"chars": len(body.text)})  # fmt: skip
    if services.notifier is not None:
        await services.notifier.refresh_policies()
    return await _current(store)
