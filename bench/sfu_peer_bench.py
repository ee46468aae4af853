"""Synthetic participants for ``bench/sfu_forwarding.py``: aiortc peers that publish
pre-encoded VP8 and Opus, and count what they receive without decoding it.

One process runs several participants, each with its own peer connection and its own
signalling WebSocket to the server under test. A participant answers the server's
offers as ``tests/meetings/sfu_peer.py`` does (the server is always the offerer; the
``mids`` of each offer say which transceiver publishes what), with two differences
that keep a 2-core machine free for the server:

* **No encoder.** The media is encoded once, by the benchmark, into a file: a loop of
  VP8 frames (keyframe first) and one of 20 ms Opus frames. A participant's tracks
  return those frames as ``av.Packet``\\ s, paced in real time with continuous
  timestamps, and its senders only packetise them (:func:`meetings.forwarding.
  prepare_sender`, the same hook the SFU uses). A keyframe request (PLI/FIR) restarts
  the video loop at its keyframe.
* **No decoder.** Every receiver is tapped with :func:`meetings.forwarding.
  tap_receiver` before it starts: complete encoded frames are counted, not decoded.

The audio level header extension (RFC 6464). The SFU chooses whom to forward by the
level each audio packet carries. aiortc's sender writes that extension only when it
encodes a raw frame itself (``RTCEncodedFrame.audio_level``, computed from the
samples); for a pre-encoded packet it leaves it out. :func:`publish` therefore wraps
the audio sender's ``_next_encoded_frame`` and sets ``audio_level`` on the frame it
returns to the level aiortc computed (``aiortc.rtp.compute_audio_level_dbov``) for the
samples that packet was encoded from, stored with the media. This is harness code on
the client side; the server is not touched.

JSON lines on stdin: ``{"op": "join", "key", "chair", "camera"}``, ``{"op": "stats"}``,
``{"op": "quit"}``; on stdout: ``{"op": "joined", "key"}`` (after the first answer),
``{"op": "stats", "at", "peers": {...}}`` (``at``: when counted, by ``time.monotonic``),
``{"op": "error", "key", "error"}``.

    python bench/sfu_peer_bench.py --url ws://127.0.0.1:PORT/ws --media FILE
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fractions
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import aioice.ice
import av
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meetings.forwarding import (
    AUDIO_CLOCK,
    VIDEO_CLOCK,
    ReceiverTap,
    prepare_sender,
    tap_receiver,
)

#: Opus frames a second (20 ms each).
AUDIO_RATE = 50
#: The least time between two keyframes sent on request.
KEYFRAME_GAP = 0.3
#: How far behind its schedule a track may fall before it stops catching up.
MAX_LAG = 1.0


def pin_from_env() -> None:
    """Run on the CPUs listed in ``KVORUM_SFU_BENCH_CPUS`` (``--pin``), before any thread
    starts: the threads made later inherit it."""
    cpus = os.environ.get("KVORUM_SFU_BENCH_CPUS")
    if cpus:
        os.sched_setaffinity(0, {int(cpu) for cpu in cpus.split(",")})


def loopback_only() -> None:
    """Make ICE offer only 127.0.0.1 (aioice leaves the loopback address out and offers
    every other interface's), so that all media stays on the loopback interface."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


class Media:
    """The pre-encoded loops, as written by ``bench/sfu_forwarding.py``."""

    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.fps: int = data["fps"]
        self.video = [base64.b64decode(f) for f in data["video"]]
        self.audio = [base64.b64decode(f) for f in data["audio"]]
        self.levels: list[int] = data["levels"]


class LoopTrack(MediaStreamTrack):
    """Pre-encoded frames in a loop, as ``av.Packet``\\ s, ``rate`` a second."""

    def __init__(
        self,
        kind: str,
        frames: list[bytes],
        clock: int,
        rate: int,
        levels: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.frames = frames
        self.levels = levels
        self.step = clock // rate
        self.interval = 1 / rate
        self.time_base = fractions.Fraction(1, clock)
        self.index = 0  # position in the loop
        self.sent = 0  # frames returned: the timestamp counts on from the loop
        self.start: float | None = None
        self.level: int | None = None  # of the packet returned last
        self.keyframe_requests = 0
        self.last_keyframe = 0.0

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self.start is None:
            self.start = now
        due = self.start + self.sent * self.interval
        if now - due > MAX_LAG:
            # the process was stalled: go on from now rather than send a burst
            self.start = now - self.sent * self.interval
            due = now
        await asyncio.sleep(max(0.0, due - now))
        if self.index == 0:
            self.last_keyframe = time.monotonic()
        packet = av.Packet(self.frames[self.index])
        packet.pts = self.sent * self.step
        packet.time_base = self.time_base
        self.level = self.levels[self.index] if self.levels else None
        self.index = (self.index + 1) % len(self.frames)
        self.sent += 1
        return packet

    def keyframe_wanted(self) -> None:
        """A PLI/FIR from the server: the next frame is the loop's keyframe."""
        self.keyframe_requests += 1
        if self.kind == "video" and time.monotonic() - self.last_keyframe >= KEYFRAME_GAP:
            self.index = 0


def publish(sender: RTCRtpSender, track: LoopTrack) -> None:
    """Send ``track``'s packets as they are, and give audio packets their level."""
    sender.replaceTrack(track)
    prepare_sender(sender, track.keyframe_wanted)
    if track.kind != "audio":
        return
    next_encoded_frame = sender._next_encoded_frame

    async def with_level(codec: Any) -> Any:
        frame = await next_encoded_frame(codec)
        if frame is not None:
            # what aiortc would have set had it encoded the samples itself
            frame.audio_level = track.level
        return frame

    sender._next_encoded_frame = with_level  # type: ignore[method-assign]


def _ignore(frame: Any) -> None:
    pass


class Participant:
    def __init__(
        self,
        key: str,
        chair: bool,
        camera: bool,
        media: Media,
        url: str,
        session: aiohttp.ClientSession,
        write: Any,
    ) -> None:
        self.key = key
        self.chair = chair
        self.url = url
        self.session = session
        self.write = write
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.audio = LoopTrack("audio", media.audio, AUDIO_CLOCK, AUDIO_RATE, media.levels)
        self.video = LoopTrack("video", media.video, VIDEO_CLOCK, media.fps) if camera else None
        self.mids: dict[str, dict[str, Any]] = {}
        self.taps: dict[RTCRtpTransceiver, ReceiverTap] = {}
        self.offers = 0
        self.closed: str | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def run(self) -> None:
        params = {"key": self.key, "chair": "1" if self.chair else "0"}
        async with self.session.ws_connect(self.url, params=params, max_msg_size=0) as ws:
            self.ws = ws
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(message.data)
                op = data.get("op")
                if op == "offer":
                    sdp = await self.answer(data)
                    await ws.send_json({"op": "answer", "sdp": sdp})
                    self.offers += 1
                    if self.offers == 1:
                        state = {"audio": True, "camera": self.video is not None}
                        await ws.send_json({"op": "state", **state})
                        self.write({"op": "joined", "key": self.key})
                elif op == "streams":
                    self.mids = data["mids"]
                elif op in ("closed", "removed"):
                    self.closed = data.get("reason", op)

    async def answer(self, message: dict[str, Any]) -> str:
        self.mids = message["mids"]
        await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
        # No await until every new receiver is tapped: they start once the answer is
        # applied, and must count frames instead of handing them to a decoder.
        for transceiver in self.pc.getTransceivers():
            if transceiver not in self.taps:
                self.taps[transceiver] = tap_receiver(transceiver.receiver, _ignore)
            role = self.mids.get(transceiver.mid or "", {})
            if role.get("role") == "publish":
                track = {"audio": self.audio, "camera": self.video}.get(role["source"])
                if track is not None and transceiver.sender.track is None:
                    publish(transceiver.sender, track)
                transceiver.direction = "sendonly"
            else:
                transceiver.direction = "recvonly"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def stats(self) -> dict[str, Any]:
        received = [
            [t.mid, t.kind, tap.queue.frames, tap.packets]
            for t, tap in self.taps.items()
            if tap.packets and self.mids.get(t.mid or "", {}).get("role") != "publish"
        ]
        return {
            "state": self.pc.connectionState,
            "offers": self.offers,
            "closed": self.closed,
            "received": received,
            "sent_audio": self.audio.sent,
            "sent_video": self.video.sent if self.video else 0,
            "keyframe_requests": self.video.keyframe_requests if self.video else 0,
        }

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.pc.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--media", type=Path, required=True)
    args = parser.parse_args()
    pin_from_env()
    loopback_only()
    media = Media(args.media)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def write(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    participants: dict[str, Participant] = {}
    tasks: set[asyncio.Task[None]] = set()

    async def run(participant: Participant) -> None:
        try:
            await participant.run()
        except Exception as exc:
            write({"op": "error", "key": participant.key, "error": repr(exc)})

    async with aiohttp.ClientSession() as session:
        while line := await reader.readline():
            message = json.loads(line)
            op = message.get("op")
            if op == "join":
                participant = Participant(
                    message["key"],
                    message["chair"],
                    message["camera"],
                    media,
                    args.url,
                    session,
                    write,
                )
                participants[participant.key] = participant
                task = asyncio.ensure_future(run(participant))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            elif op == "stats":
                peers = {k: p.stats() for k, p in participants.items()}
                write({"op": "stats", "at": time.monotonic(), "peers": peers})
            elif op == "quit":
                break
        for participant in participants.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(participant.close(), 5)
        for task in tasks:
            task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
