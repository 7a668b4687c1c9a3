"""The demo's people: the county bureau (made by the central's migration), one enterprise per site, a
duty officer of the county (operator) and one operator per enterprise, all with one password made for
this run and printed with the API's address. Sites join their enterprise once their gateway has
reported (a gateway creates its site)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from simulator.demo.fieldsite import tool
from simulator.demo.procs import run_once

DUTY_OFFICER = "duty"


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    org_id: str
    what: str  # "county duty officer" or the site it sees


def enterprise_of(site_id: str) -> str:
    """An organization id for the enterprise that runs ``site_id``."""
    return ("ent-" + re.sub(r"[^a-z0-9_-]", "-", site_id.lower()))[:63]


def new_password() -> str:
    return secrets.token_urlsafe(9)


async def create_people(database: str, sites: dict[str, str], password: str) -> list[Login]:
    """Enterprises and users for ``sites`` (site id -> title); the logins made."""
    central = [tool("fieldwatch-central")]
    db = ["--database", database]
    logins = [Login(DUTY_OFFICER, "county", "county duty officer: every site")]
    await run_once([*central, "user", "create", DUTY_OFFICER, "--org", "county", "--role", "operator",
                    "--name", "Duty Officer", "--password-stdin", *db], stdin_text=password)  # fmt: skip
    for site_id, title in sites.items():
        org = enterprise_of(site_id)
        await run_once([*central, "org", "create", org, "--name", title, *db])
        username = f"{org}.op"
        create = [*central, "user", "create", username, "--org", org, "--role", "operator", "--name", title]
        await run_once([*create, "--password-stdin", *db], stdin_text=password)
        logins.append(Login(username, org, f"only {site_id}"))
    return logins


async def assign_sites(database: str, sites: list[str]) -> None:
    for site_id in sites:
        org = enterprise_of(site_id)
        await run_once(
            [tool("fieldwatch-central"), "site", "assign", site_id, "--org", org, "--database", database]
        )
