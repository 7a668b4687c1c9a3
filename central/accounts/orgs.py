"""The organization tree: the county bureau at the top sees everything; each organization sees its own
subtree (itself and the organizations under it)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from central.store.account_records import Org

ORG_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class OrgTree:
    def __init__(self, orgs: Iterable[Org]) -> None:
        self.by_id = {o.id: o for o in orgs}
        self.children: dict[str, list[str]] = defaultdict(list)
        for o in self.by_id.values():
            if o.parent_id is not None:
                self.children[o.parent_id].append(o.id)

    def __contains__(self, org_id: str) -> bool:
        return org_id in self.by_id

    def is_top(self, org_id: str) -> bool:
        found = self.by_id.get(org_id)
        return found is not None and found.parent_id is None

    def subtree(self, org_id: str) -> tuple[str, ...]:
        """The organization and every one under it, sorted."""
        out, todo = set(), [org_id]
        while todo:
            current = todo.pop()
            if current in out:
                continue
            out.add(current)
            todo.extend(self.children.get(current, ()))
        return tuple(sorted(out))

    def scope(self, org_id: str) -> tuple[str, ...] | None:
        """What a caller of ``org_id`` sees: None for the top (everything), else its subtree."""
        return None if self.is_top(org_id) else self.subtree(org_id)


def sees(scope: tuple[str, ...] | None, org_id: str) -> bool:
    """Does a caller whose scope is ``scope`` (None: everything) see ``org_id``?"""
    return scope is None or org_id in scope


def check_new_org(tree: OrgTree, org_id: str, parent_id: str | None) -> None:
    """``ValueError`` naming what is wrong with a new organization."""
    if not ORG_ID.match(org_id):
        raise ValueError(f"organization id {org_id!r}: expected lower-case letters, digits, - and _")
    if org_id in tree:
        raise ValueError(f"organization {org_id} exists already")
    if parent_id is None:
        raise ValueError("a new organization needs a parent (the top one exists already)")
    if parent_id not in tree:
        raise ValueError(f"no organization {parent_id}")
