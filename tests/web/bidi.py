"""A small WebDriver BiDi client for Firefox, for the browser tests.

Playwright's Firefox needs a patched build of its own, and its BiDi channel does not
work with Debian's Firefox ESR, so this drives Firefox's built-in remote agent directly:
Firefox is started headless with ``--remote-debugging-port=0``, prints the WebSocket
address on stderr, and is spoken to in JSON over aiohttp's client WebSocket.

    async with launch_firefox("/usr/bin/firefox-esr") as firefox:
        people = await firefox.new_user_context()  # cookies of its own
        await firefox.set_cookie(people, {...})
        page = await firefox.new_page(people)
        await page.navigate("http://localhost:8080/")
        await page.wait_for("document.title !== ''")

Scripts are evaluated by the browser on the page's behalf (privileged): the page's
Content-Security-Policy (no eval) does not stop them, and stays in force for the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

# Waiting for a condition: this many looks, half a second apart (as the Chromium tests).
LOOKS = 60
LOOK_SECONDS = 0.5
# Guards against a hung browser, not assertions: a command that has no answer in this
# long (a page load included) fails with the command named.
COMMAND_SECONDS = 120.0
START_SECONDS = 60.0

_LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")

# The profile's user.js: a fake camera and microphone with no permission prompt, and a
# browser that stays quiet and offline (no updates, telemetry, experiments, first-run or
# what's-new pages, remote settings, safe-browsing downloads). The remote agent applies
# its own recommended preferences at start too (remote.prefs.recommended); the ones here
# matter before it starts, or for media.
PREFS: dict[str, bool | int | str] = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    # Host candidates as addresses, not mDNS names the forwarding unit cannot resolve.
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "remote.prefs.recommended": True,
    "app.update.disabledForTesting": True,
    "app.update.auto": False,
    "app.normandy.enabled": False,
    "app.normandy.api_url": "",
    "app.shield.optoutstudies.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "browser.startup.homepage_override.mstone": "ignore",
    "startup.homepage_welcome_url": "about:blank",
    "startup.homepage_welcome_url.additional": "",
    "browser.aboutwelcome.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.sessionstore.resume_from_crash": False,
    "toolkit.startup.max_resumed_crashes": -1,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.policy.dataSubmissionPolicyBypassNotification": True,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.usage.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.server": "",
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "extensions.update.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.region.network.url": "",
    "browser.search.update": False,
    "dom.push.connection.enabled": False,
    "browser.backup.enabled": False,
}


class BidiError(RuntimeError):
    """A command the browser answered with an error (``error`` and ``message``)."""

    def __init__(self, method: str, error: str, message: str) -> None:
        super().__init__(f"{method}: {error}: {message}")
        self.method = method
        self.error = error
        self.message = message


class FirefoxError(RuntimeError):
    """Firefox did not start, or went away."""


def _user_js(prefs: Mapping[str, bool | int | str]) -> str:
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())


def to_python(remote: dict[str, Any]) -> Any:
    """A BiDi remote value as Python: primitives, lists, dicts (maps and objects); a
    node, window, function and the like stays the remote value (it has its sharedId or
    handle)."""
    kind = remote["type"]
    value = remote.get("value")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return value
    if kind == "number":
        special = {"NaN": float("nan"), "-0": -0.0, "Infinity": float("inf")}
        special["-Infinity"] = float("-inf")
        return special[value] if isinstance(value, str) else value
    if kind == "bigint":
        return int(remote["value"])
    if kind in ("array", "set"):
        return [to_python(item) for item in value or []]
    if kind in ("object", "map"):
        out: dict[Any, Any] = {}
        for key, item in value or []:
            out[key if isinstance(key, str) else to_python(key)] = to_python(item)
        return out
    return remote


@dataclass
class LogEntry:
    """A console message or an uncaught error of a page (BiDi ``log.entryAdded``)."""

    kind: str  # "console" or "javascript"
    level: str  # "debug", "info", "warn", "error"
    text: str
    context: str | None
    urls: list[str]

    def __str__(self) -> str:
        where = f" at {self.urls[0]}" if self.urls else ""
        return f"[{self.kind} {self.level}] {self.text}{where}"


@dataclass
class Firefox:
    """One BiDi session with a running Firefox: commands, events, and pages."""

    ws: aiohttp.ClientWebSocketResponse
    stderr: deque[str]  # Firefox's last lines on stderr
    profile: Path  # removed when the session ends
    pid: int
    log: list[LogEntry] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _pending: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _closed: str = ""

    async def send(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run one command and return its result; a BiDi error raises BidiError."""
        if self._closed:
            raise FirefoxError(f"{method}: the connection to Firefox is closed ({self._closed})")
        ident = next(self._ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = answer
        try:
            await self.ws.send_json({"id": ident, "method": method, "params": dict(params or {})})
            try:
                reply = await asyncio.wait_for(answer, COMMAND_SECONDS)
            except TimeoutError:
                raise FirefoxError(f"{method}: no answer from Firefox") from None
        finally:
            self._pending.pop(ident, None)
        if reply.get("type") == "error":
            raise BidiError(method, reply.get("error", "?"), reply.get("message", ""))
        return reply.get("result", {})

    async def read(self) -> None:
        """Route answers to their commands and keep log events, until the socket ends."""
        reason = "the socket closed"
        try:
            async for frame in self.ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                if message.get("type") == "event":
                    self._event(message["method"], message.get("params", {}))
                    continue
                waiting = self._pending.get(message.get("id", -1))
                if waiting is not None and not waiting.done():
                    waiting.set_result(message)
        except Exception as exc:  # the reader must always release the waiting commands
            reason = f"reading failed: {exc!r}"
        finally:
            self._closed = reason
            tail = "\n".join(self.stderr)
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(FirefoxError(f"Firefox went away ({reason}):\n{tail}"))

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method != "log.entryAdded":
            return
        frames = (params.get("stackTrace") or {}).get("callFrames") or []
        self.log.append(
            LogEntry(
                kind=params.get("type", ""),
                level=params.get("level", ""),
                text=params.get("text") or "",
                context=(params.get("source") or {}).get("context"),
                urls=[f.get("url", "") for f in frames if f.get("url")],
            )
        )

    async def new_user_context(self) -> str:
        """A fresh set of cookies and storage (like a separate browser profile)."""
        result = await self.send("browser.createUserContext", {})
        return str(result["userContext"])

    async def set_cookie(self, user_context: str, cookie: Mapping[str, Any]) -> None:
        """Store a cookie for one user context; ``value`` is a plain string here."""
        params = dict(cookie)
        params["value"] = {"type": "string", "value": str(cookie["value"])}
        await self.send(
            "storage.setCookie",
            {"cookie": params, "partition": {"type": "storageKey", "userContext": user_context}},
        )

    async def new_page(self, user_context: str = "default") -> Page:
        """A new window (each shown, so none is throttled as a background tab)."""
        result = await self.send(
            "browsingContext.create", {"type": "window", "userContext": user_context}
        )
        return Page(self, str(result["context"]))


@dataclass
class Page:
    """One top-level browsing context."""

    firefox: Firefox
    context: str

    async def navigate(self, url: str) -> None:
        await self.firefox.send(
            "browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"}
        )

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        result = await self.firefox.send(
            "script.evaluate",
            {
                "expression": expression,
                "target": {"context": self.context},
                "awaitPromise": True,
                "resultOwnership": "none",
            },
        )
        return self._value(result)

    async def call(self, function: str, *args: Any) -> Any:
        """Call a JavaScript function declaration with JSON-like arguments, or remote
        values (dicts with ``sharedId`` or ``handle``) as they are."""
        result = await self.firefox.send(
            "script.callFunction",
            {
                "functionDeclaration": function,
                "arguments": [_local(a) for a in args],
                "target": {"context": self.context},
                "awaitPromise": True,
                "resultOwnership": "none",
            },
        )
        return self._value(result)

    def _value(self, result: dict[str, Any]) -> Any:
        if result.get("type") == "exception":
            details = result.get("exceptionDetails", {})
            raise BidiError("script", "javascript error", str(details.get("text", details)))
        return to_python(result["result"])

    async def wait_for(self, expression: str, looks: int = LOOKS) -> Any:
        """Poll a JavaScript expression until it is truthy and return its value; fail
        after ``looks`` looks with the last value seen."""
        value: Any = None
        for _ in range(looks):
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(LOOK_SECONDS)
        raise AssertionError(f"still not true after {looks} looks: {expression} (was {value!r})")

    async def wait_for_timeout(self, milliseconds: float) -> None:
        """A pause, under Playwright's name, so the Chromium tests' polling helpers
        (``evaluate`` and this) take a Firefox page as they are."""
        await asyncio.sleep(milliseconds / 1000)

    async def activate(self) -> None:
        """Bring the page's window to the front and give it focus (Firefox lets an
        unfocused page's navigator.mediaDevices.enumerateDevices() wait for focus)."""
        await self.firefox.send("browsingContext.activate", {"context": self.context})

    async def click(self, selector: str) -> None:
        """Click the first element matching a CSS selector with a real (trusted) mouse
        click in its centre, once it is there and shown; as a person's click would, it
        brings the window to the front first."""
        await self.activate()
        await self.wait_for(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " return Boolean(e && e.getClientRects().length && !e.disabled); })()"
        )
        node = await self.call(
            "(s) => { const e = document.querySelector(s); e.scrollIntoView({block: 'center'});"
            " return e; }",
            selector,
        )
        origin = {"type": "element", "element": {"sharedId": node["sharedId"]}}
        await self.firefox.send(
            "input.performActions",
            {
                "context": self.context,
                "actions": [
                    {
                        "type": "pointer",
                        "id": "mouse",
                        "parameters": {"pointerType": "mouse"},
                        "actions": [
                            {"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
                            {"type": "pointerDown", "button": 0},
                            {"type": "pointerUp", "button": 0},
                        ],
                    }
                ],
            },
        )

    def errors(self) -> list[LogEntry]:
        """Error-level console messages and uncaught errors this page has logged."""
        return [e for e in self.firefox.log if e.context == self.context and e.level == "error"]

    async def close(self) -> None:
        await self.firefox.send("browsingContext.close", {"context": self.context})


def _local(value: Any) -> dict[str, Any]:
    """A Python value as a BiDi local value."""
    if isinstance(value, dict) and ("sharedId" in value or "handle" in value):
        return {k: value[k] for k in ("sharedId", "handle") if k in value}
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean", "value": value}
    if isinstance(value, int | float):
        return {"type": "number", "value": value}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    if isinstance(value, list | tuple):
        return {"type": "array", "value": [_local(v) for v in value]}
    if isinstance(value, dict):
        return {"type": "object", "value": [[str(k), _local(v)] for k, v in value.items()]}
    raise TypeError(f"cannot pass {type(value).__name__} to the page")


async def _listening(process: asyncio.subprocess.Process, stderr: deque[str]) -> str:
    """Read Firefox's stderr until it names its BiDi address; keep draining it after
    (a full pipe would stall Firefox), the last lines kept for error messages."""
    assert process.stderr is not None
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def drain() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode(errors="replace").rstrip()
            stderr.append(line)
            match = _LISTENING.search(line)
            if match and not found.done():
                found.set_result(match.group(1))
        if not found.done():
            code = await process.wait()
            tail = "\n".join(stderr)
            found.set_exception(FirefoxError(f"Firefox exited ({code}) before listening:\n{tail}"))

    task = asyncio.create_task(drain())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    try:
        return await asyncio.wait_for(found, START_SECONDS)
    except TimeoutError:
        tail = "\n".join(stderr)
        raise FirefoxError(f"Firefox did not open its BiDi port:\n{tail}") from None


_tasks: set[asyncio.Task[None]] = set()


@contextlib.asynccontextmanager
async def launch_firefox(
    executable: str, prefs: Mapping[str, bool | int | str] | None = None
) -> AsyncIterator[Firefox]:
    """A headless Firefox on a throwaway profile with one BiDi session (subscribed to
    the pages' logs); Firefox is stopped and the profile removed however the block ends."""
    home = Path(tempfile.mkdtemp(prefix="kvorum-firefox-"))
    profile = home / "profile"
    profile.mkdir()
    (profile / "user.js").write_text(_user_js({**PREFS, **(prefs or {})}), encoding="utf-8")
    env = {**os.environ, "HOME": str(home), "MOZ_CRASHREPORTER_DISABLE": "1"}
    stderr: deque[str] = deque(maxlen=40)
    process: asyncio.subprocess.Process | None = None
    http: aiohttp.ClientSession | None = None
    reader: asyncio.Task[None] | None = None
    try:
        try:
            process = await asyncio.create_subprocess_exec(
                executable,
                "--headless",
                "--remote-debugging-port=0",
                "--profile",
                str(profile),
                "--no-remote",
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise FirefoxError(f"cannot run {executable}: {exc}") from exc
        url = await _listening(process, stderr)
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(f"{url}/session", max_msg_size=0, autoping=True)
        firefox = Firefox(ws, stderr, profile, process.pid)
        reader = asyncio.create_task(firefox.read())
        await firefox.send("session.new", {"capabilities": {}})
        await firefox.send("session.subscribe", {"events": ["log.entryAdded"]})
        yield firefox
        # Closes every window and quits Firefox (which ends the session).
        with contextlib.suppress(Exception):
            await firefox.send("browser.close", {})
    finally:
        if http is not None:
            await http.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        shutil.rmtree(home, ignore_errors=True)
