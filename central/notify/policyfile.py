"""Reading the notification policy file: every mistake at once, as ``path:line: key: message``.

The same machinery as site files (``protocols.config.validate_file``: YAML with the line of every key, the
models' own checks, and cross checks on what did validate), plus the checks that need a library: each
contact's URL is asked of Apprise (offline) and each template is compiled by Jinja2.

The file's text is the source: ``PolicySource`` keeps it beside the models, so the API can hand back what
the admin wrote. JSON is YAML, so a policy set sent as JSON (``to_json``'s output, edited) goes through
``parse_policies`` unchanged, with lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from central.notify.delivery import url_problem
from central.notify.message import check_template
from central.notify.policy import Contact, PolicyFile, TemplateSet, each
from protocols.config import Validated, format_key, validate_file
from protocols.errors import ConfigError, ConfigIssue
from protocols.modelbase import knows
from protocols.yamlsource import Path as KeyPath


@dataclass(frozen=True)
class PolicySource:
    path: str
    text: str
    policies: PolicyFile


def policy_issues(text: str, path: str) -> tuple[PolicyFile | None, list[ConfigIssue]]:
    """``(policies or None, every issue)`` of a policy file's text."""
    v = validate_file(text, path, PolicyFile)
    issues = v.issues + _library_issues(v, path)
    issues = sorted(dict.fromkeys(issues), key=lambda i: (i.line or 0, i.key))
    return (v.model if not issues else None), issues


def parse_policies(text: str, path: str) -> PolicySource:
    """The policies of ``text``; ``ConfigError`` listing every issue when anything is wrong."""
    policies, issues = policy_issues(text, path)
    if issues or policies is None:
        raise ConfigError(issues)
    return PolicySource(path, text, policies)


def load_policies(path: str | Path) -> PolicySource:
    """The policy file at ``path``; ``ConfigError`` (no such file, not UTF-8, or its issues)."""
    return parse_policies(_read_text(str(path)), str(path))


def check_file(path: str | Path) -> list[ConfigIssue]:
    """Every problem of the policy file at ``path`` (empty: it is good): ``notify check FILE``."""
    try:
        text = _read_text(str(path))
    except ConfigError as e:
        return e.issues
    return policy_issues(text, str(path))[1]


def to_json(policies: PolicyFile) -> bytes:
    """The policies as JSON (levels as numbers, every default spelt out)."""
    return orjson.dumps(policies.model_dump(mode="json"))


def _read_text(path: str) -> str:
    try:
        data = Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ConfigError([ConfigIssue(path, None, "", "no such file")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        message = f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        raise ConfigError([ConfigIssue(path, None, "", message)]) from None


def _library_issues(v: Validated, path: str) -> list[ConfigIssue]:
    """Apprise's verdict on each URL and Jinja2's on each template, for what validated of the file."""
    found = v.partial
    if found is None:
        return []
    issues = []

    def issue(key: KeyPath, message: str) -> None:
        issues.append(ConfigIssue(path, v.lines.line_of(key), format_key(key), message))

    for i, contact in each(found.contacts if knows(found, "contacts") else (), Contact):
        if knows(contact, "url"):
            problem = url_problem(contact.url)
            if problem:
                issue(("contacts", i, "url"), problem)
    templates = found.templates if knows(found, "templates") else {}
    for name, parts in templates.items() if isinstance(templates, dict) else ():
        if not isinstance(parts, TemplateSet):
            continue
        for part in ("title", "body", "sms"):
            source = getattr(parts, part) if knows(parts, part) else None
            for problem in check_template(source) if source else ():
                issue(("templates", name, part), problem)
    return issues
