"""In a real browser (Debian's Chromium, driven by Playwright): the tenant admin and the API docs.

Run with `make e2e` (it installs Chromium when missing); `make test` leaves them out (marker `browser`).
Screenshots of failures go to test-artifacts/.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import PASSWORD
from p360.tests.test_e2e import call, login

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db]

CHROMIUM = os.environ.get("P360_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make e2e`, which installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread, which Django then takes for async code;
    # the tests' own database calls are plain synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield instance
        instance.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, request):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def test_admin_search_suspend_and_see_the_activity_entry(live_server_factory, page):
    server = live_server_factory(workers=1, threads=4)
    port = urlsplit(server.url).port
    host = "e2e-a.localhost"
    token = login(server.url, "e2e-a")["access"]
    status, _, target = call(
        server.url, "POST", "/api/v1/users", host,
        {"email": "browser.target@e2e-a.test", "first_name": "Browser", "last_name": "Target", "password": PASSWORD},
        token=token,
    )  # fmt: skip
    assert status == 201, target
    base = f"http://{host}:{port}"

    page.goto(f"{base}/admin/")
    page.fill("input[name=username]", "owner@e2e-a.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("text=People, organizations and activity")
    page.goto(f"{base}/admin/users/user/")
    page.fill("#searchbar", "browser.target")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("text=browser.target@e2e-a.test")
    page.check("input[name=_selected_action]")
    page.select_option("select[name=action]", "suspend")
    page.click("button[name=index]")
    page.wait_for_selector("text=1 user(s) suspended.")
    page.goto(f"{base}/admin/activity/activityentry/?q=browser.target")
    row = page.locator("#result_list tbody tr").first
    assert "user.suspended" in row.inner_text()
    assert "owner@e2e-a.test" in row.inner_text()


def test_api_docs_render_with_no_network_beyond_the_app(live_server_url, page):
    port = urlsplit(live_server_url).port
    origin = f"http://e2e-a.localhost:{port}"
    outside = []

    def guard(route):
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(f"{origin}/api/docs/")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()

    assert any("/api/v1/users" in p for p in paths)
    assert any("/api/v1/auth/token" in p for p in paths)
    assert outside == []
