"""The ``slack_audit`` connection form of the deployment's UI, in headless Chromium.

A user opens Admin > Connections > Add Connection, picks "Slack Audit Logs", fills the form, saves,
and presses the row's Test button. The browser is Debian's ``chromium`` driven by ``chromedriver``
over WebDriver (``tests/deployment/browser.py``); without them the tests skip and say what to install.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_slack_audit.hooks.connection_extras import EXTRA_FIELDS, TOKEN_LABEL
from tests.deployment.browser import Browser, find_browser
from tests.deployment.examples import SKIP_ON_AIRFLOW_2
from tests.deployment.harness import wait_for

pytestmark = [pytest.mark.airflow, pytest.mark.deployment, SKIP_ON_AIRFLOW_2]

GOOD = "slack_audit_ui_good"
BAD = "slack_audit_ui_bad"
#: The emulator answers this token like Slack answers an admin's (not an owner's) token.
REFUSED_TOKEN = "xoxp-emulator-not-an-owner"
DIALOG = "[role=dialog]"
ENTER = "\ue007"


def _airflow_rejects_a_blank_port_as_zero() -> bool:
    """Whether this Airflow refuses the Test button's request for a connection without a port.

    The connection list's Test button sends ``"port": Number(connection.port)``, which is ``0`` for a
    connection with no port, and Airflow 3.3.2's test endpoint then answers 400 "The host or port to test
    differs from the stored connection" before any hook is called. Fixed upstream in apache/airflow#73298
    (the endpoint treats 0 as no port); nothing in a provider's form changes what the list sends.
    """
    try:
        from airflow.api_fastapi.core_api.routes.public.connections import _same_endpoint
    except ImportError:
        return False
    return not _same_endpoint(0, None)


@pytest.fixture
def test_button_broken(request: pytest.FixtureRequest) -> None:
    """The test is an expected failure (strict) where this Airflow refuses the Test button's request.

    Decided when the test runs, not when the module is collected: the check imports Airflow's API routes,
    seconds of CPU that every pytest-xdist worker would spend collecting.
    """
    request.applymarker(
        pytest.mark.xfail(
            _airflow_rejects_a_blank_port_as_zero(),
            reason="Airflow 3.3.2's UI sends port 0 for a connection without a port and its API refuses the test "
            "as 'Bad Request' (fixed upstream in apache/airflow#73298); airflow connections test and the REST API "
            "work",
            strict=True,
        )
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    found = find_browser()
    if isinstance(found, str):
        pytest.skip(f"the connection UI check needs a headless Chromium: {found}")
    with Browser(*found, workdir=tmp_path_factory.mktemp("browser")) as browser:
        yield browser


def open_connections(browser: Browser, deployment) -> None:
    """Log in (every user is an admin in this deployment) and open Admin > Connections."""
    target = f"{deployment.base_url}/connections"
    browser.get(f"{deployment.base_url}/auth/token/login?next={target}")
    browser.button("Add Connection", timeout=60)


def fill_form(browser: Browser, conn_id: str, token: str, base_url: str) -> dict[str, Any]:
    """Open Add Connection, choose Slack Audit Logs, fill it; return what the form showed."""
    browser.click(browser.button("Add Connection"))
    conn_id_field = browser.find("the ID field", f"return document.querySelector('{DIALOG} input[name=connection_id]')")
    browser.type(conn_id_field, conn_id)
    combo = browser.find("the Connection Type box", f"return document.querySelector('{DIALOG} [role=combobox]')")
    browser.click(combo)
    browser.type(combo, "Slack Audit")
    browser.find(
        "the Slack Audit Logs option",
        "return [...document.querySelectorAll('[role=option]')].find(e => e.innerText.trim() === 'Slack Audit Logs')",
    )
    browser.type(combo, ENTER)
    password = browser.find("the token field", f"return document.querySelector('{DIALOG} input[name=password]')")
    standard = browser.script(f"return document.querySelector('{DIALOG}').innerText")
    inputs = browser.script(
        f"return [...document.querySelectorAll('{DIALOG} input, {DIALOG} textarea')].map(e => e.name)"
    )
    browser.type(password, token)
    browser.click(browser.button("Extra Fields", within=DIALOG))
    base = browser.find("the base URL field", f"return document.querySelector('{DIALOG} input[name=element_base_url]')")
    extras = browser.script(f"return document.querySelector('{DIALOG}').innerText")
    browser.type(base, base_url)
    return {"standard": standard, "extras": extras, "inputs": inputs}


def save(browser: Browser, conn_id: str) -> None:
    browser.click(browser.button("Save", within=DIALOG))
    browser.find(
        f"{conn_id} in the list",
        "return !document.querySelector(arguments[1]) &&"
        " [...document.querySelectorAll('tr')].some(r => r.innerText.includes(arguments[0]))",
        conn_id,
        DIALOG,
    )


@pytest.fixture(scope="module")
def saved_from_the_form(browser: Browser, deployment, emulator) -> dict[str, Any]:
    """Two connections made in the UI: one with the emulator's token, one with a token Slack refuses."""
    open_connections(browser, deployment)
    shown = fill_form(browser, GOOD, emulator.token, emulator.base_url)
    save(browser, GOOD)
    fill_form(browser, BAD, REFUSED_TOKEN, emulator.base_url)
    save(browser, BAD)
    return shown


def press_test(browser: Browser, conn_id: str) -> str:
    """Press the Test button on ``conn_id``'s row; return the text of the toast that reports the result."""
    # Toasts shown so far (e.g. "Connection has been successfully created") are marked, so only a new one counts.
    browser.script("document.querySelectorAll('[role=status]').forEach(e => e.setAttribute('data-seen', ''))")
    row = browser.find(
        f"{conn_id}'s row",
        "return [...document.querySelectorAll('tr')].find(r => r.innerText.split(/\\s+/).includes(arguments[0]))",
        conn_id,
    )
    button = browser.find(
        "its Test button",
        "return [...arguments[0].querySelectorAll('button')]"
        ".find(b => b.getAttribute('aria-label') === 'Test Connection')",
        row,
    )
    browser.click(button)
    return browser.find(
        "the test's result",
        "return [...document.querySelectorAll('[role=status]:not([data-seen])')].map(e => e.innerText.trim())"
        ".find(t => t.startsWith('Test Connection')) || null",
        timeout=60,
    )


def test_the_form_shows_every_extra_with_its_label_and_hides_host_login_port(saved_from_the_form):
    shown = saved_from_the_form
    assert TOKEN_LABEL in shown["standard"]
    for name in ("host", "login", "port", "schema"):
        assert name not in shown["inputs"], f"the form shows the {name} field"
    for field in EXTRA_FIELDS:
        assert f"element_{field.name}" in shown["inputs"]
        assert field.label in shown["extras"]
        assert field.description in shown["extras"]


def test_saving_the_form_stores_a_slack_audit_connection(saved_from_the_form, deployment, emulator):
    stored = deployment.api("GET", f"/connections/{GOOD}")
    assert stored["conn_type"] == "slack_audit"
    assert stored["password"] == "***"  # set, and masked by the API
    assert json.loads(stored["extra"])["base_url"] == emulator.base_url
    assert stored["host"] is None
    assert stored["port"] is None


@pytest.mark.usefixtures("test_button_broken")
def test_the_test_button_reports_success_for_a_good_token(saved_from_the_form, browser):
    result = press_test(browser, GOOD)
    assert "Connection successfully tested: the token can read audit logs" in result, result


@pytest.mark.usefixtures("test_button_broken")
def test_the_test_button_reports_slacks_reason_for_a_refused_token(saved_from_the_form, browser):
    result = press_test(browser, BAD)
    assert "invalid_authentication" in result, result


def test_the_test_button_on_this_airflow(saved_from_the_form, browser):
    """What a user of this Airflow sees today: success, or the Bad Request of apache/airflow#73298."""
    result = press_test(browser, GOOD)
    if _airflow_rejects_a_blank_port_as_zero():
        assert result == "Test Connection Failed\nBad Request", result
    else:
        assert "Connection successfully tested" in result, result


@pytest.mark.parametrize(
    ("conn_id", "status", "says"),
    [(GOOD, True, "the token can read audit logs"), (BAD, False, "invalid_authentication")],
)
def test_the_buttons_request_without_port_0_reports_what_the_hook_found(
    saved_from_the_form, deployment, conn_id, status, says
):
    """The Test button's request as the list sends it, but with no port: the hook's own verdict."""
    stored = deployment.api("GET", f"/connections/{conn_id}")
    body = {key: stored[key] if stored[key] is not None else "" for key in
            ("connection_id", "conn_type", "description", "extra", "host", "login", "password", "schema")}  # fmt: skip
    body["port"] = None
    result = wait_for("a test result", lambda: deployment.api("POST", "/connections/test", body), timeout=60)
    assert result["status"] is status, result
    assert says in result["message"], result
