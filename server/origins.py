"""Which origins are this site's own: for the Origin check on state changes and
WebSockets, and for redirects back to a page.

Never derived from the request's ``Host`` header: a client chooses it (``Host:
evil.example`` with ``Origin: http://evil.example`` must not pass). The own origins are

* the configured public URL (``KVORUM_PUBLIC_URL``);
* when the public URL is plain http on a loopback name (a server on this machine,
  the one plain-http case :meth:`Settings.check_transport` allows), the loopback
  names at the port this server is listening on, read from its own socket;
* behind a reverse proxy listed in ``KVORUM_TRUSTED_PROXIES``, the origin that proxy
  forwards (``X-Forwarded-Proto`` and ``X-Forwarded-Host``): the proxy, not the
  client, vouches for it.
"""

from __future__ import annotations

from aiohttp import web

from server.keys import SETTINGS

__all__ = ["is_own_origin", "own_origins"]

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def own_origins(request: web.Request) -> frozenset[str]:
    """The origins (``scheme://host[:port]``, no path) that are this site."""
    settings = request.app[SETTINGS]
    public = settings.effective_public_url
    origins = {public}
    if public.startswith("http://") and settings.public_host in {"localhost", "127.0.0.1", "::1"}:
        port = _listening_port(request)
        if port is not None:
            origins.update(f"http://{name}:{port}" for name in _LOOPBACK_NAMES)
    if (request.remote or "") in settings.proxies:
        host = request.headers.get("X-Forwarded-Host", "").split(",")[-1].strip()
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        if host and proto in {"http", "https"}:
            origins.add(f"{proto}://{host}")
    return frozenset(origins)


def is_own_origin(request: web.Request, origin: str | None) -> bool:
    return origin is not None and origin in own_origins(request)


def _listening_port(request: web.Request) -> int | None:
    # The local end of this connection: where the server listens, not what the client says.
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if isinstance(sockname, tuple) and len(sockname) >= 2 and isinstance(sockname[1], int):
        return sockname[1]
    return None
