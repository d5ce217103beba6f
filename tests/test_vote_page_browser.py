"""The vote page in a real browser: Debian's headless Chromium driven by chromium-driver
(selenium), loopback only. Three participants join, vote, one changes their vote, all see
the reveal; the SME's app (qtbot) shows the counts before the reveal and the distribution
after."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace
from qa_desktop.ui.vote_page.launcher import VotePageWindow, start_vote_page

from .factory import make_workspace
from .windows import open_window

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=420,800",
)
WAIT_S = 30


def browser(profile: Path):  # type: ignore[no-untyped-def]
    """A fresh headless Chromium with its own profile directory."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver (.ci/run)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(WAIT_S)
    return driver


@pytest.fixture
def lead(tmp_path: Path) -> Iterator[Workspace]:
    ws = make_workspace(tmp_path, "Lead", key=False)
    yield ws
    ws.close()


def test_three_browsers_vote_change_and_see_the_reveal(
    qtbot: QtBot, lead: Workspace, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    people = ["Ana", "Bo", "Cy"]
    session = lead.calibration.create("room", cases=["t-0", "t-1"], participants=people)
    window = open_window(qtbot, lead)
    host = start_vote_page(window, session.id, "127.0.0.1", 0)
    assert host is not None
    shown = window.findChild(VotePageWindow)
    assert shown is not None
    drivers = [browser(tmp_path / f"profile-{name}") for name in people]
    try:

        def wait(driver, condition, what: str) -> None:  # type: ignore[no-untyped-def]
            WebDriverWait(driver, WAIT_S).until(lambda d: condition(d), message=what)

        def text(driver, element_id: str) -> str:  # type: ignore[no-untyped-def]
            return str(driver.find_element(By.ID, element_id).text)

        for driver, name in zip(drivers, people, strict=True):
            driver.get(host.url)
            wait(driver, lambda d: d.find_element(By.ID, "code").is_displayed(), "join form")
            code = driver.find_element(By.ID, "code")
            code.send_keys(host.code.lower())  # typed loosely
            driver.find_element(By.ID, "join-button").click()
            wait(driver, lambda d: "Code accepted" in text(d, "message"), "participants list")
            assert "Ana, Bo, Cy" in text(driver, "message")
            driver.find_element(By.ID, "name").send_keys(name)
            driver.find_element(By.ID, "join-button").click()
            wait(driver, lambda d: d.find_element(By.ID, "vote").is_displayed(), "vote form")
            assert text(driver, "case-id") == "t-0"
            assert text(driver, "who") == f"Voting as {name} in room"
            cookies = driver.get_cookies()
            assert [c["name"] for c in cookies] == ["qa_vote"]
            assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
            assert driver.execute_script("return document.cookie") == ""  # script can't read it

        def vote(driver, label: str, sections: tuple[str, ...] = ()) -> None:  # type: ignore[no-untyped-def]
            driver.find_element(By.CSS_SELECTOR, f"input[name=label][value={label}]").click()
            if sections:
                driver.find_element(By.ID, "cite").click()
                for section in sections:
                    driver.find_element(
                        By.CSS_SELECTOR, f"input[name=section][value='{section}']"
                    ).click()
            driver.find_element(By.ID, "vote-button").click()
            wait(driver, lambda d: text(d, "your-vote") == f"Your vote: {label}", "vote taken")

        ana, bo, cy = drivers
        vote(ana, "vh_remove", ("VH-2.3",))
        vote(bo, "no_violation")
        vote(cy, "vh_age_restrict")
        vote(cy, "vh_remove")  # changed before the reveal
        for driver in drivers:  # pushed by the WebSocket: counts only
            wait(driver, lambda d: text(d, "status") == "3 of 3 voted", "three voted")
            assert not driver.find_element(By.ID, "distribution").is_displayed()
        assert text(bo, "your-vote") == "Your vote: no_violation"
        qtbot.waitUntil(lambda: shown.status.text() == "Case t-0: 3 of 3 voted")
        before = lead.calibration.case_state("room", "t-0")
        assert before.status_text == "3 of 3 voted" and before.revealed is None

        lead.calibration.reveal("room", "t-0")
        qtbot.waitUntil(
            lambda: (
                shown.status.text()
                == "Case t-0: 3 of 3 voted; revealed: no_violation 1, vh_remove 2"
            ),
            timeout=10_000,
        )
        for driver in drivers:
            wait(driver, lambda d: "revealed" in text(d, "status"), "the reveal")
            rows = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#distribution li")]
            assert "vh_remove: 2" in rows and "no_violation: 1" in rows
            assert "vh_age_restrict: 0" in rows
            assert not driver.find_element(By.ID, "vote-button").is_enabled()
        state = lead.calibration.case_state("room", "t-0")
        assert state.revealed is not None
        assert {v.voter: v.label for v in state.revealed.votes} == {
            "Ana": "vh_remove",
            "Bo": "no_violation",
            "Cy": "vh_remove",
        }
        assert [c.section_id for c in state.revealed.votes[0].citations] == ["VH-2.3"]
        # the shared screen moves on: every page follows
        host.set_current("t-1")
        for driver in drivers:
            wait(driver, lambda d: text(d, "case-id") == "t-1", "next case")
            assert text(driver, "status") == "0 of 3 voted"
        logs = ana.get_log("browser")
        assert not [e for e in logs if "Content Security Policy" in e.get("message", "")]
    finally:
        for driver in drivers:
            driver.quit()
        host.stop()
