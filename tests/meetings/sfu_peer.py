"""A participant's side of the video room, run as its own process by the SFU tests.

It answers the room's offers as a browser does (publishing a synthetic camera and a
tone on the microphone) and decodes what it receives, so that the codecs it opens are
not the server's. JSON lines: the room's messages and ``{"op": "stats"}`` / ``{"op":
"quit"}`` on stdin; ``{"op": "answer", "sdp"}`` and ``{"op": "stats", ...}`` on stdout.

    python tests/meetings/sfu_peer.py [--silent] [--no-camera]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import math
import struct
import sys
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

VIDEO_RATE = 90000
FPS = 15


class MovingPicture(MediaStreamTrack):
    """A 320×180 picture with a bar moving across it, FPS frames a second."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.start: float | None = None

    async def recv(self) -> VideoFrame:
        loop = asyncio.get_running_loop()
        if self.start is None:
            self.start = loop.time()
        due = self.start + self.n / FPS
        await asyncio.sleep(max(0.0, due - loop.time()))
        frame = VideoFrame(width=320, height=180, format="yuv420p")
        x = (self.n * 8) % 304
        row = bytes([40] * x + [200] * 16 + [40] * (304 - x))
        luma, blue, red = frame.planes
        luma.update(row * 180 if luma.line_size == 320 else _padded(row, luma.line_size, 180))
        blue.update(bytes([128]) * blue.buffer_size)
        red.update(bytes([128]) * red.buffer_size)
        frame.pts = self.n * VIDEO_RATE // FPS
        frame.time_base = fractions.Fraction(1, VIDEO_RATE)
        self.n += 1
        return frame


class Tone(MediaStreamTrack):
    """A 440 Hz tone (or silence), 20 ms frames at 48 kHz."""

    kind = "audio"

    def __init__(self, silent: bool) -> None:
        super().__init__()
        self.silent = silent
        self.n = 0
        self.start: float | None = None

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self.start is None:
            self.start = loop.time()
        await asyncio.sleep(max(0.0, self.start + self.n * 0.02 - loop.time()))
        amplitude = 0 if self.silent else 12000
        start = self.n * 960
        samples = [
            int(amplitude * math.sin(2 * math.pi * 440 * (start + i) / 48000)) for i in range(960)
        ]
        frame = AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(struct.pack("<960h", *samples))
        frame.sample_rate = 48000
        frame.pts = self.n * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self.n += 1
        return frame


def _padded(row: bytes, line_size: int, lines: int) -> bytes:
    return (row + bytes(line_size - len(row))) * lines


class Peer:
    def __init__(self, silent: bool, camera: bool) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.mids: dict[str, dict[str, Any]] = {}
        self.camera = MovingPicture() if camera else None
        self.tone = Tone(silent)
        self.video: dict[str, int] = {}  # participant key → decoded frames
        self.audio: dict[str, int] = {}
        self.sizes: set[tuple[int, int]] = set()
        self.pc.on("track", self._track)
        self._tasks: set[asyncio.Task[None]] = set()

    def _track(self, track: MediaStreamTrack) -> None:
        transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
        task = asyncio.ensure_future(self._count(track, transceiver))
        self._tasks.add(task)

    async def _count(self, track: MediaStreamTrack, transceiver: Any) -> None:
        try:
            while True:
                frame = await track.recv()
                who = (self.mids.get(transceiver.mid) or {}).get("participant") or "?"
                if track.kind == "video":
                    self.video[who] = self.video.get(who, 0) + 1
                    self.sizes.add((frame.width, frame.height))
                else:
                    self.audio[who] = self.audio.get(who, 0) + 1
        except MediaStreamError:
            pass

    async def offer(self, message: dict[str, Any]) -> dict[str, Any]:
        self.mids = message["mids"]
        await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
        for transceiver in self.pc.getTransceivers():
            role = self.mids.get(transceiver.mid, {})
            if role.get("role") == "publish":
                track = {"audio": self.tone, "camera": self.camera}.get(role["source"])
                if track is not None and transceiver.sender.track is None:
                    transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendonly"
            else:
                transceiver.direction = "recvonly"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return {"op": "answer", "sdp": self.pc.localDescription.sdp}

    def stats(self) -> dict[str, Any]:
        return {
            "op": "stats",
            "video": self.video,
            "audio": self.audio,
            "sizes": sorted(self.sizes),
            "state": self.pc.connectionState,
        }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--silent", action="store_true")
    parser.add_argument("--no-camera", action="store_true")
    args = parser.parse_args()
    peer = Peer(args.silent, not args.no_camera)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def write(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    while line := await reader.readline():
        message = json.loads(line)
        op = message.get("op")
        if op == "offer":
            write(await peer.offer(message))
        elif op == "streams":
            peer.mids = message["mids"]
        elif op == "stats":
            write(peer.stats())
        elif op == "quit":
            break
    await peer.pc.close()


if __name__ == "__main__":
    asyncio.run(main())
