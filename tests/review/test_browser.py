"""The review page in a real headless Chromium (Debian's ``chromium``, driven by Playwright):
log in with the token, find a shot, play it, move the A/B wipe, approve a proposal with a
note; the decision lands in the catalog and the audit log. Leaves a screenshot of the page in
``benchmarks/results/review.png``.

Skipped (with the reason) when Playwright or a Chromium cannot be found, unless ``CI`` is set:
there the test must run (``make test`` installs Debian's chromium when it is missing).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from rushes.project import AuditEvent, Decision, Proposal
from rushes.review.proxies import MediaJobs
from rushes.review.server import ReviewServer
from tests.review.conftest import Review, make_review_project

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "benchmarks" / "results" / "review.png"
NOTE = "grain matches the plate; approved from the browser"


def chromium_path() -> str | None:
    """``RUSHES_CHROMIUM``, else Debian's chromium (or another on the PATH)."""
    env = os.environ.get("RUSHES_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set but {reason}; install it (apt-get install -y chromium)")
    pytest.skip(f"{reason} (apt-get install chromium; pip install playwright)")


@pytest.fixture(scope="module")
def browser_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed")
    path = chromium_path()
    if path is None:
        _unavailable("no chromium found (set RUSHES_CHROMIUM to its path)")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Review:
    return make_review_project(tmp_path_factory.mktemp("browser"), shared=True)


@pytest.fixture(scope="module")
def server(review: Review) -> Iterator[ReviewServer]:
    srv = ReviewServer(review.project, port=0, jobs=MediaJobs(processes=True)).start()
    yield srv
    srv.stop()


def test_review_page_in_chromium(browser_path: str, review: Review, server: ReviewServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    shot = review.shots[0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 940})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(  # a resource the page's own policy blocks would show here
                "console",
                lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
            )
            page.set_default_timeout(60_000)
            # predicates are functions, not strings: the page's CSP forbids eval, as it should

            # without the token the page sends us to the login form; log in with the token
            page.goto(server.base_url + "/")
            expect(page.locator("#login")).to_be_visible()
            page.fill("#token", "not-the-token")
            page.click("#login-button")
            expect(page.locator(".err")).to_contain_text("wrong access token")
            page.fill("#token", server.token)
            page.click("#login-button")
            assert "token=" not in page.url or page.url.endswith("/")

            # the grid: find the shot by its name and open it
            cardsel = f'a.card[data-shot="{shot}"]'
            expect(page.locator(cardsel)).to_be_visible()
            expect(page.locator(f"{cardsel} .badge")).to_have_text("1 pending")
            assert page.locator("a.card").count() == len(review.shots)
            page.wait_for_function(
                f"() => document.querySelector('{cardsel} img').naturalWidth > 0"
            )  # the thumbnail loaded, through the token cookie
            page.click(cardsel)
            expect(page.locator("#shot-title")).to_have_text(shot)

            # the proxy of the original and the render of the proposal come up in the player
            page.wait_for_function(
                "() => document.getElementById('video-a').readyState >= 2"
                " && document.getElementById('video-b').readyState >= 2",
                timeout=90_000,
            )
            expect(page.locator("#p-status")).to_have_text("pending")
            expect(page.locator("#p-params")).to_contain_text("strength")

            # play: the original's time moves on
            page.click("#play")
            page.wait_for_function("() => document.getElementById('video-a').currentTime > 0.3")
            if page.locator("#play").text_content() == "Pause":  # a short shot may have ended
                page.click("#play")
            page.wait_for_function("() => document.getElementById('video-a').paused")

            # step one frame and back: the frame counter and the proposal's video follow
            page.wait_for_function(  # the counter has caught up with where playback stopped
                """() => {
                    const a = document.getElementById('video-a');
                    const f = Math.min(23, Math.floor(a.currentTime * 24 + 1e-3));
                    return !a.seeking
                        && document.getElementById('frame').textContent === `frame ${f} / 23`;
                }"""
            )
            first = _frame(page)
            step, back = ("#step-back", "#step-fwd") if first >= 12 else ("#step-fwd", "#step-back")
            page.click(step)
            _wait_frame(page, first + (-1 if step == "#step-back" else 1))
            page.click(back)
            _wait_frame(page, first)

            # move the A/B wipe by dragging across the picture
            box = page.locator("#viewer").bounding_box()
            assert box is not None
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + box["width"] * 0.5, y)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.3, y, steps=5)
            page.mouse.up()
            wipe = float(page.locator("#viewer").get_attribute("data-wipe") or "nan")
            assert 25 < wipe < 35
            clip = page.eval_on_selector("#video-b", "v => getComputedStyle(v).clipPath")
            shown = re.search(r"([\d.]+)%\)$", clip)  # B shows right of the wipe line
            assert shown is not None and abs(float(shown.group(1)) - wipe) < 0.01, clip
            assert abs(float(page.locator("#wipe").input_value()) - wipe) <= 0.5

            # scopes of the frame shown
            page.wait_for_function(
                "() => document.getElementById('scopes').complete"
                " && document.getElementById('scopes').naturalWidth > 700"
            )
            page.select_option("#scope-src", "b")
            page.wait_for_function(
                "() => document.getElementById('scopes').src.includes('/proposals/')"
            )
            page.wait_for_function("() => document.getElementById('scopes').naturalWidth > 700")

            page.screenshot(path=str(_tmp_shot()), full_page=True)

            # approve with a note
            page.fill("#note", NOTE)
            page.click("#approve")
            expect(page.locator("#decision-msg")).to_contain_text("approved by")
            expect(page.locator("#p-status")).to_have_text("approved")
            expect(page.locator("#approve")).to_be_disabled()
            assert not errors, errors
        finally:
            browser.close()

    _tmp_shot().replace(SCREENSHOT)
    project = review.project
    with project.session() as s:
        prop = s.get(Proposal, review.pid)
        assert prop is not None and prop.status == "approved"
        d = s.scalars(select(Decision).where(Decision.proposal_id == review.pid)).one()
        assert (d.verdict, d.note, d.user) == ("approved", NOTE, project.user)
        ev = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "approve", AuditEvent.target == f"proposal {review.pid}"
            )
        ).one()
        assert ev.note == NOTE and ev.shot == shot and ev.user == project.user
    assert SCREENSHOT.stat().st_size > 20_000


def _frame(page: Page) -> int:
    text = page.locator("#frame").text_content() or ""
    return int(text.split()[1])


def _wait_frame(page: Page, frame: int) -> None:
    """Wait until the player shows ``frame`` in both videos (A and B in step)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"""() => {{
                const a = document.getElementById('video-a');
                const b = document.getElementById('video-b');
                return document.getElementById('frame').textContent === 'frame {frame} / 23'
                    && !a.seeking && !b.seeking
                    && Math.abs(b.currentTime - a.currentTime) < 1 / 24;
            }}""",
            timeout=20_000,
        )
    except PlaywrightTimeout:
        state = page.evaluate(
            """() => {
                const a = document.getElementById('video-a');
                const b = document.getElementById('video-b');
                return {frame: document.getElementById('frame').textContent, a: a.currentTime,
                        b: b.currentTime, aSeeking: a.seeking, bSeeking: b.seeking,
                        aEnded: a.ended, bEnded: b.ended, aPaused: a.paused, bPaused: b.paused};
            }"""
        )
        raise AssertionError(f"the player did not show frame {frame}: {state}") from None


def _tmp_shot() -> Path:
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT.with_name(".review.png.part.png")
