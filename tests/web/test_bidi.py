"""The WebDriver BiDi client the Firefox tests use (tests/web/bidi.py): it reads a page
under the application's strict CSP without weakening it, reports a failed command or
script with the browser's message, and leaves no Firefox or profile behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import LiveServer
from tests.web.bidi import LOOKS, BidiError, FirefoxError, launch_firefox


async def test_reads_a_page_under_the_csp_and_reports_errors(
    firefox_path: str, live_server: LiveServer
) -> None:
    async with launch_firefox(firefox_path) as firefox:
        page = await firefox.new_page()
        await page.navigate(live_server.url("/login"))

        # Evaluation is the browser's own: the page's CSP (script-src 'self', no eval)
        # does not stop it, and values come back as Python.
        assert await page.evaluate("document.readyState") == "complete"
        assert await page.evaluate("Promise.resolve({a: [1, 'б', null], b: true})") == {
            "a": [1, "б", None],
            "b": True,
        }
        assert await page.call("(x, y) => x + y", 2, 3) == 5
        assert page.errors() == []

        # The CSP still holds for the page: an inline script is refused, and logged.
        ran = await page.evaluate(
            """(() => {
              const s = document.createElement("script");
              s.textContent = "window.inlineRan = true";
              document.body.append(s);
              return window.inlineRan === true;
            })()"""
        )
        assert ran is False
        for _ in range(LOOKS):
            if any("Content-Security-Policy" in e.text for e in page.errors()):
                break
            await page.wait_for_timeout(500)
        else:
            raise AssertionError(f"no CSP error logged: {firefox.log}")

        with pytest.raises(BidiError, match="boom") as failed:
            await page.evaluate("Promise.reject(new Error('boom'))")
        assert failed.value.method == "script"
        with pytest.raises(BidiError) as failed:
            await firefox.send("browsingContext.navigate", {"context": "nope", "url": "about:"})
        assert failed.value.error == "no such frame"
        assert failed.value.message
        profile, pid = firefox.profile, firefox.pid

    assert not profile.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_a_browser_that_does_not_start(tmp_path: Path) -> None:
    with pytest.raises(FirefoxError, match="cannot run"):
        async with launch_firefox(str(tmp_path / "no-firefox")):
            pass
    with pytest.raises(FirefoxError, match="exited"):
        async with launch_firefox("/bin/false"):
            pass
