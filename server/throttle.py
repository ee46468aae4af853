"""Per-address rate limits for anonymous requests that create rows or send mail.

Failed logins are counted from the authentication log (``server.authevents``), which
holds across processes. Requests that *succeed* without a login (a passkey login's
challenge, a login code by e-mail) cannot be counted that way without writing a row for
each, which is what must be limited. They take a token bucket per client address here,
in this process; the database keeps its own cap on what stays open (see
``Settings.max_open_logins``), which holds across processes.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from aiohttp import web

from registry.errors import RateLimited
from server.authevents import client_address

__all__ = ["THROTTLE", "AddressThrottle"]


class AddressThrottle:
    """``burst`` requests at once per address, refilled at ``per_minute`` a minute.

    At most ``addresses`` addresses are remembered (the least recently seen are
    forgotten first), so a flood from many addresses cannot grow it without bound.
    """

    def __init__(
        self,
        *,
        burst: int = 10,
        per_minute: float = 10.0,
        addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.addresses = addresses
        self.clock = clock
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def take(self, request: web.Request, what: str) -> None:
        """Spend one token of this address for ``what``, or raise :class:`RateLimited`."""
        key = (what, client_address(request))
        now = self.clock()
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            retry = math.ceil((1 - tokens) / self.rate)
            raise RateLimited(
                f"too many requests from this address; try again in {retry} s",
                retry_after=retry,
            )
        self._buckets[key] = (tokens - 1, now)
        while len(self._buckets) > self.addresses:
            self._buckets.popitem(last=False)


THROTTLE = web.AppKey("throttle", AddressThrottle)
