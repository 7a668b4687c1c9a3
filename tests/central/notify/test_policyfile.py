"""The policy file: what loads, and every mistake at once as ``path:line: key: message``."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from central.notify.policyfile import check_file, load_policies, parse_policies, policy_issues, to_json
from protocols.errors import ConfigError

GOOD = """\
contacts:
  - {name: duty-desk, url: "json://127.0.0.1:9000/hook"}
  - name: director
    url: "mailto://user:pass@mail.example.com?to=director@example.com"
    language: en
  - {name: duty-phone, url: "twilio://AC123:token@+15551234567/+15557654321", template: short}
policies:
  - name: hazards
    min_level: orange
    category: hazard
    notify: [duty-desk]
    escalate: [{after_s: 300, notify: [director]}]
    repeat_every_s: 600
  - name: faults
    min_level: 2
    category: fault
    sites: [slope-north]
    notify: [duty-desk, duty-phone]
    announce_close: true
templates:
  short:
    sms: "{{ level_words }} {{ site }} #{{ alarm_id }}"
"""


def issues_of(text: str) -> list[str]:
    _, issues = policy_issues(text, "notify.yaml")
    return [str(i) for i in issues]


def test_a_good_file_loads_with_levels_by_name_or_number_and_defaults() -> None:
    source = parse_policies(GOOD, "notify.yaml")
    p = source.policies
    assert source.text == GOOD
    assert [c.name for c in p.contacts] == ["duty-desk", "director", "duty-phone"]
    assert p.contacts[0].language == "zh"
    assert p.contacts[1].language == "en"
    hazards, faults = p.policies
    assert (hazards.min_level, faults.min_level) == (3, 2)
    assert hazards.escalate[0].after_s == 300
    assert (hazards.repeat_every_s, hazards.max_repeats) == (600, 6)
    assert (hazards.announce_clear, hazards.announce_close, hazards.flap_window_s) == (True, False, 300)
    assert faults.sites == ("slope-north",) and faults.announce_close
    assert p.templates["short"].sms is not None and p.templates["short"].body is None


def test_every_mistake_is_reported_at_once_with_line_and_key() -> None:
    text = """\
contacts:
  - {name: duty-desk, url: "json://127.0.0.1:9000/hook"}
  - {name: director, url: "mailto://user:pass@mail.example.com?to=d@example.com"}
  - {name: director, url: "jsn://127.0.0.1/hook"}
  - {name: phone, url: "json://127.0.0.1/x", template: shorty, language: fr}
policies:
  - name: hazards
    min_level: purple
    notify: [duty-desk, nobody]
    escalate: [{after_s: 300, notify: [director]}, {after_s: 200, notify: [dirctor]}]
    colour: red
  - name: hazards
    notify: [duty-desk]
    repeat_every_s: -5
templates:
  short:
    body: "{{ level_words }} {{ sight }}"
    title: "{% if %}"
"""
    assert issues_of(text) == [
        "notify.yaml:4: contacts[2].name: duplicate name 'director' (also contacts[1])",
        "notify.yaml:4: contacts[2].url: Apprise has no service jsn:// (did you mean json://?)",
        "notify.yaml:5: contacts[3].language: expected one of zh, en (got 'fr')",
        "notify.yaml:5: contacts[3].template: no template 'shorty' under `templates:` (did you mean 'short'?)",
        "notify.yaml:8: policies[0].min_level: expected a level name (blue, yellow, orange, red) or a number "
        "1-4 (got 'purple')",
        "notify.yaml:9: policies[0].notify[1]: no contact 'nobody' (known: duty-desk, director, phone)",
        "notify.yaml:10: policies[0].escalate[1].after_s: escalation steps must come later and later: 200 s "
        "is not after the step before (300 s)",
        "notify.yaml:10: policies[0].escalate[1].notify[0]: no contact 'dirctor' (did you mean 'director'?)",
        "notify.yaml:11: policies[0].colour: unknown key (valid keys: announce_clear, announce_close, category, "
        "escalate, flap_window_s, max_repeats, min_level, name, notify, organizations, repeat_every_s, rules, "
        "sites)",
        "notify.yaml:12: policies[1].name: duplicate name 'hazards' (also policies[0])",
        "notify.yaml:14: policies[1].repeat_every_s: must be > 0 (got -5)",
        "notify.yaml:17: templates.short.body: unknown name 'sight' (did you mean 'site'?)",
        "notify.yaml:18: templates.short.title: Jinja2 syntax: Expected an expression, got 'end of statement "
        "block' (template line 1)",
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("127.0.0.1:9000/hook", "not an Apprise URL: expected service://..."),
        ("jsno://127.0.0.1/hook", "Apprise has no service jsno:// (did you mean json://?)"),
        ("json://", "Apprise cannot use this json:// URL: check it against Apprise's page for json://"),
        ("sinch://a:b@c/d", "Apprise cannot use this sinch:// URL: The Account (From) Phone #"),
    ],
)
def test_a_url_apprise_cannot_use_is_named_offline(url: str, expected: str) -> None:
    text = f'contacts:\n  - {{name: desk, url: "{url}"}}\n'
    (issue,) = issues_of(text)
    assert issue.startswith(f"notify.yaml:2: contacts[0].url: {expected}")


def test_a_secret_in_a_url_apprise_refuses_is_not_repeated() -> None:
    text = 'contacts:\n  - {name: desk, url: "twilio://ACsecretsid123:tok@abc/def"}\n'
    (issue,) = issues_of(text)
    assert issue == (
        "notify.yaml:2: contacts[0].url: Apprise cannot use this twilio:// URL: "
        "An invalid Twilio Account SID (***) was specified."
    )


def test_yaml_syntax_names_the_line() -> None:
    assert issues_of("contacts:\n  - {name: desk, url: json://x\npolicies: []\n") == [
        "notify.yaml:3: YAML syntax: while parsing a flow mapping expected ',' or '}', but got ':'"
    ]


def test_duplicate_keys_and_missing_parts_are_named() -> None:
    text = """\
contacts:
  - {name: desk, url: "json://127.0.0.1/hook"}
policies:
  - name: p
    name: q
    min_level: red
  - notify: [desk]
"""
    assert issues_of(text) == [
        "notify.yaml:4: policies[0].notify: required key is missing",
        "notify.yaml:5: policies[0].name: duplicate key (first on line 4)",
        "notify.yaml:7: policies[1].name: required key is missing",
    ]


def test_a_file_without_contacts_is_refused() -> None:
    assert issues_of("policies: []\n") == ["notify.yaml:1: contacts: required key is missing"]
    assert issues_of("contacts: []\n") == ["notify.yaml:1: contacts: needs at least 1 item(s)"]


def test_check_file_and_load(tmp_path: Path) -> None:
    good = tmp_path / "notify.yaml"
    good.write_text(GOOD, encoding="utf-8")
    assert check_file(good) == []
    assert load_policies(good).policies.policies[0].name == "hazards"
    assert [str(i) for i in check_file(tmp_path / "none.yaml")] == [f"{tmp_path}/none.yaml: no such file"]
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes("contacts: [{name: 值班, url: x}]".encode("gbk"))
    assert [str(i) for i in check_file(gbk)] == [f"{gbk}: not UTF-8 text (byte 0xb0 at offset 20)"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("min_level: orange", "min_level: crimson"), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_policies(bad)
    assert e.value.report().endswith(":9: policies[0].min_level: expected a level name (blue, yellow, orange, "
                                     "red) or a number 1-4 (got 'crimson')\n1 problem found")  # fmt: skip


def test_the_policies_go_to_json_and_back_through_the_same_checks() -> None:
    policies = parse_policies(GOOD, "notify.yaml").policies
    as_json = to_json(policies)
    data = orjson.loads(as_json)
    assert data["policies"][0]["min_level"] == 3
    assert data["policies"][0]["escalate"] == [{"after_s": 300.0, "notify": ["director"]}]
    again = parse_policies(as_json.decode(), "<api>").policies
    assert again == policies
    data["policies"][0]["notify"] = ["nobody"]
    (issue,) = issues_of(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    assert issue.startswith("notify.yaml:") and "policies[0].notify[0]: no contact 'nobody'" in issue


def test_the_documented_policy_file_loads() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "notifications.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    source = parse_policies(example, "docs/notifications.md")
    assert [p.name for p in source.policies.policies] == ["hazards", "tank-farm-faults"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('contacts: ["json://x"]\n', ["notify.yaml:1: contacts[0]: expected a mapping of keys (got 'json://x')"]),
        ("contacts: {a: 1}\npolicies: 5\n", ["notify.yaml:1: contacts: expected a list (got {'a': 1})",
                                             "notify.yaml:2: policies: expected a list (got 5)"]),
        ('contacts: [{name: a, url: "json://h/x"}]\npolicies: [{name: p, notify: [a], escalate: [5]}]\n'
         "templates: {t: 5}\n",
         ["notify.yaml:2: policies[0].escalate[0]: expected a mapping of keys (got 5)",
          "notify.yaml:3: templates.t: expected a mapping of keys (got 5)"]),
    ],
)  # fmt: skip
def test_wrong_shapes_are_errors_not_crashes(text: str, expected: list[str]) -> None:
    assert issues_of(text) == expected
