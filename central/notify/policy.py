"""The notification policy file as models: contacts, policies, and template overrides.

One file (``fieldwatch-central serve --notify FILE``) says who is told of which alarms, how soon the next
person is told when nobody acknowledges, and how often a warning nobody acknowledged is repeated::

    contacts:
      - {name: duty-desk, url: "json://127.0.0.1:9000/hook"}
      - {name: director, url: "mailto://user:pass@mail.example.com?to=director@example.com", language: en}
      - {name: duty-phone, url: "...", sms: true}
    policies:
      - name: hazards
        min_level: orange            # a level name or 1-4
        category: hazard             # hazard | fault | any
        notify: [duty-desk]          # at once
        escalate: [{after_s: 300, notify: [director]}]
        repeat_every_s: 600          # while open and unacknowledged, at most max_repeats times
    templates:                       # optional: a contact with `template: short` uses these
      short: {body: "{{ level_words }} {{ site }}"}

Models are frozen and forbid unknown keys (``protocols.modelbase``); cross checks name the key that is wrong.
Checks that need a library (Apprise parses the URLs, Jinja2 the templates) run in ``policyfile``.
"""

from __future__ import annotations

import difflib
import itertools
from collections import Counter
from collections.abc import Iterable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, Field

from protocols.modelbase import Identifier, StrictModel, at, cross_check, knows
from protocols.records import LEVEL_BY_NAME

T = TypeVar("T")
Category = Literal["hazard", "fault", "any"]
Language = Literal["zh", "en"]
LEVEL_HINT = "a level name (blue, yellow, orange, red) or a number 1-4"


def parse_level(value: Any) -> Any:
    """``"orange"`` or ``3`` -> 3; anything else is an error naming what is allowed."""
    if isinstance(value, str) and value.strip().lower() in LEVEL_BY_NAME:
        return int(LEVEL_BY_NAME[value.strip().lower()])
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
        return value
    raise ValueError(f"expected {LEVEL_HINT} (got {value!r})")


LevelValue = Annotated[int, BeforeValidator(parse_level)]


class TemplateSet(StrictModel):
    """Jinja2 texts that replace the default ones; a part left out keeps the default."""

    title: str | None = None
    body: str | None = None
    sms: str | None = None


class Contact(StrictModel):
    name: Identifier
    url: str = Field(min_length=1, description="an Apprise URL: json://, mailto://, dingtalk://, ...")
    language: Language = "zh"
    template: Identifier | None = Field(default=None, description="a name under `templates:`")
    sms: bool | None = Field(default=None, description="short messages; default: by the URL's service")


class Step(StrictModel):
    after_s: float = Field(gt=0, description="since the round began, without an acknowledgement")
    notify: tuple[Identifier, ...] = Field(min_length=1)


class Policy(StrictModel):
    name: Identifier
    min_level: LevelValue = 1
    category: Category = "any"
    sites: tuple[str, ...] = ()  # empty: every site
    organizations: tuple[str, ...] = ()  # empty: every organization
    rules: tuple[str, ...] = ()  # rule names or rule kinds; empty: every rule
    notify: tuple[Identifier, ...] = Field(min_length=1)
    escalate: tuple[Step, ...] = ()
    repeat_every_s: float | None = Field(default=None, gt=0)
    max_repeats: int = Field(default=6, ge=1, le=100)
    announce_clear: bool = True
    announce_close: bool = False
    flap_window_s: float = Field(default=300.0, ge=0, description="a clear and raise within it: no news")

    @cross_check
    def _steps_increase(self) -> list[str]:
        steps = [step for _, step in each(self.escalate, Step)]
        if len(steps) != len(self.escalate) or not all(knows(s, "after_s") for s in steps):
            return []
        for i, (a, b) in enumerate(itertools.pairwise(steps)):
            if b.after_s <= a.after_s:
                return [
                    at(
                        f"escalate[{i + 1}].after_s",
                        f"escalation steps must come later and later: {b.after_s:g} s is not after the "
                        f"step before ({a.after_s:g} s)",
                    )
                ]
        return []

    def contact_names(self) -> Iterable[tuple[str, str]]:
        """``(key, contact name)`` of every contact the policy names."""
        for j, name in enumerate(self.notify):
            yield f"notify[{j}]", name
        for i, step in each(self.escalate, Step):
            for j, name in enumerate(step.notify if knows(step, "notify") else ()):
                yield f"escalate[{i}].notify[{j}]", name


class PolicyFile(StrictModel):
    contacts: tuple[Contact, ...] = Field(min_length=1)
    policies: tuple[Policy, ...] = ()
    templates: dict[Identifier, TemplateSet] = Field(default_factory=dict)

    def contact(self, name: str) -> Contact | None:
        return next((c for c in self.contacts if c.name == name), None)

    @cross_check
    def _unique_names(self) -> list[str]:
        return _duplicates("contacts", self.contacts) + _duplicates("policies", self.policies)

    @cross_check
    def _contacts_known(self) -> list[str]:
        contacts = [c for _, c in each(self.contacts, Contact)]
        if len(contacts) != len(self.contacts) or not all(knows(c, "name") for c in contacts):
            return []  # a contact whose name is wrong may be the one named
        known = list(dict.fromkeys(c.name for c in contacts))
        problems = []
        for p, policy in each(self.policies, Policy):
            if not knows(policy, "notify", "escalate"):
                continue
            for key, name in policy.contact_names():
                if name not in known:
                    problems.append(at(f"policies[{p}].{key}", f"no contact {name!r}{_hint(name, known)}"))
        return problems

    @cross_check
    def _templates_known(self) -> list[str]:
        templates: Any = self.templates  # on a partial file: whatever the file held
        if not isinstance(templates, dict):
            return []
        problems = []
        for i, contact in each(self.contacts, Contact):
            if knows(contact, "template") and contact.template and contact.template not in self.templates:
                known = sorted(self.templates)
                message = (
                    f"no template {contact.template!r} under `templates:`{_hint(contact.template, known)}"
                )
                problems.append(at(f"contacts[{i}].template", message))
        return problems


def each(items: Any, model: type[T]) -> list[tuple[int, T]]:
    """``(index, item)`` of the items that are ``model`` (or what validated of one), for cross checks that
    run on a partial file, where a list may hold raw values that are not."""
    if not isinstance(items, tuple):
        return []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, model)]


def _duplicates(key: str, items: tuple[Contact, ...] | tuple[Policy, ...]) -> list[str]:
    named: list[tuple[int, Contact | Policy]] = [*each(items, Contact), *each(items, Policy)]
    names = [(i, it.name) for i, it in named if knows(it, "name")]
    counts = Counter(name for _, name in names)
    first: dict[str, int] = {}
    problems = []
    for i, name in names:
        if counts[name] > 1 and name in first:
            problems.append(at(f"{key}[{i}].name", f"duplicate name {name!r} (also {key}[{first[name]}])"))
        first.setdefault(name, i)
    return problems


def _hint(name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=1)
    if near:
        return f" (did you mean {near[0]!r}?)"
    return f" (known: {', '.join(known)})" if known else ""
