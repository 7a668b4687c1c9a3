"""A person signs in with a user name and password: the session lives in an HttpOnly cookie the page never
reads, the header names them, and signing out ends the session on the central."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from central.accounts.users import new_user
from central.store.accounts import AccountStore
from tests.central.console.conftest import County, Visit

pytestmark = pytest.mark.slow  # drives chromium, a process of its own, as test_pages.py does

PASSWORD = "correct horse battery"


@pytest.mark.parametrize("county", [{"settings": {"login_delay_s": 0}}], indirect=True)  # retry at once
def test_password_sign_in_names_the_person_and_sign_out_ends_the_session(
    visit: Visit, county: County
) -> None:
    AccountStore(county.store).add_user(
        new_user("duty", "county", "operator", display_name="值班员 王", password=PASSWORD, now_ms=0)
    )
    page = visit.page
    page.goto(county.url + "/")
    page.fill("input[name=username]", "duty")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.locator("form.login .error")).to_have_text("用户名或密码错误。")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    visit.ready()
    expect(page.locator(".topbar .who")).to_have_text("值班员 王")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "fieldwatch_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # the page's scripts cannot read it
    assert page.evaluate("Object.keys(sessionStorage)") == ["fieldwatch.session"]  # no secret in the tab
    page.click("text=退出")
    expect(page.locator("input[name=username]")).to_be_visible()
    ended = httpx.get(f"{county.url}/api/v1/sites", cookies={"fieldwatch_session": cookie["value"]})
    assert ended.status_code == 401
    page.reload()
    expect(page.locator("input[name=username]")).to_be_visible()
