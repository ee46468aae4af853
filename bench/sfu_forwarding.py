"""Benchmark: the forwarding SFU (``meetings.sfu.MediaRoom``) against a transcoding relay.

What it measures, in one run on one machine: the CPU the server process spends per
media stream it sends to a participant, with every participant's media arriving over
real aiortc peer connections.

* ``sfu``: the meeting's video room, :class:`meetings.sfu.MediaRoom`, in a server
  process of its own. Each participant gets every other camera that is on and the
  three loudest other speakers (``AUDIO_SLOTS``); nothing is decoded or encoded.
* ``relay`` (baseline): a server built the usual aiortc way. Each participant's
  incoming tracks are decoded by aiortc (``RTCRtpReceiver`` → ``RemoteStreamTrack``)
  and relayed with ``aiortc.contrib.media.MediaRelay().subscribe(track,
  buffered=False)`` to every other participant, whose senders encode them again
  (VP8, Opus). Every participant gets every other participant's audio and camera.
  Unbuffered subscriptions keep the latest frame only: a saturated relay skips frames
  instead of queueing them without bound, which shows as fewer frames delivered.

Participants (``bench/sfu_peer_bench.py``, in ``--client-procs`` processes of their
own) publish pre-encoded media: a 5 s loop of 640×360 VP8 at 20 fps (~370 kbit/s, a
keyframe first, made here once with PyAV's libvpx) and 20 ms Opus frames of a 440 Hz
tone at 30 dBov, whose level they put in the RTP audio level extension (RFC 6464) as
aiortc would for frames it encodes. They do not decode what they receive: their
receivers are tapped (:func:`meetings.forwarding.tap_receiver`) to count frames. Every
participant sends audio; the first ``--cameras`` send a camera, and say so (as a
browser reports its camera once its first offer is answered). The first to join is the
chair (it opens the room); the others join together once it is in.

Signalling is a WebSocket on 127.0.0.1 served by the server process (the server makes
every offer, as in the application); ICE offers only 127.0.0.1. The benchmark process
drives both sides over pipes (JSON lines).

For each case: wait until the server sends every participant every stream due (or until
that count stops growing for a few seconds, or a time limit: an overloaded machine is
measured as it is), let it run ``--warmup`` seconds more, then measure for
``--seconds``:

* server CPU: user + system time of the server process (all its threads: aiortc's
  decoder threads and the encoder executor of the relay), from ``/proc/<pid>/stat``;
* forwarded streams: streams the server sent at least one frame on in the window
  (audio + video); ``slots_with_source`` counts the slots the SFU gave a source;
* frames and RTP packets the server sent (its senders' counts), against those due
  (every stream at its full rate); delivery is judged by these. The participants'
  received packets are compared with them; their received frames are reported but
  are not a measure of the window (see :func:`measure`);
* CPU per forwarded stream and per *delivered* stream (the streams' worth of frames
  actually sent: frames/s over 50 for audio, over 20 for video), as % of one core;
  the second is the fair one for a server that cannot keep up. Also CPU µs per RTP
  packet sent, and a projection of the CPU the case would take at full rate (cost per
  delivered stream × streams due);
* the server's event loop lateness, the UDP datagrams its sockets and the
  participants' dropped (full receive buffers), the participants' processes' CPU and
  the rest of the machine's (``/proc/stat``, tick-sampled: approximate), since
  everything shares its cores. ``--quiet-below`` waits for other work on the machine
  to calm down before each case.

Usage::

    .venv/bin/python bench/sfu_forwarding.py [--sizes 5,10,20,30] [--cameras 9]
        [--seconds 20] [--relay-sizes 5,10] [--warmup 4] [--client-procs 2]
        [--quiet-below 30] [--pin] [--profile DIR] [--json PATH]

The server process is this script with ``--serve sfu|relay --participants N``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import cProfile
import fractions
import json
import logging
import math
import os
import random
import struct
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import av
from aiohttp import WSMsgType, web
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
    rtp,
)
from aiortc.contrib.media import MediaRelay

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sfu_peer_bench import loopback_only, pin_from_env  # this script's directory

from meetings.forwarding import is_vp8_keyframe
from meetings.sfu import AUDIO_SLOTS, Identity, MediaRoom

log = logging.getLogger("bench.sfu")

PEER = Path(__file__).resolve().parent / "sfu_peer_bench.py"
WIDTH, HEIGHT = 640, 360
FPS = 20
LOOP_FRAMES = 100  # 5 s of video
VIDEO_BITRATE = 350_000  # libvpx's rate control makes 360–400 kbit/s of it here
AUDIO_BITRATE = 32_000
AUDIO_RATE = 50  # 20 ms Opus frames
TONE_HZ = 440
#: A sine of this amplitude is 30 dBov by aiortc's ``compute_audio_level_dbov``.
TONE_AMPLITUDE = 1465
ANSWER_TIMEOUT = 30.0
#: Waiting for every stream to flow stops when the count has not grown for this long.
PLATEAU_SECONDS = 8.0
#: How long a child process may take to answer a request for its counts.
REPLY_SECONDS = 30.0
LINE_LIMIT = 16 * 2**20
SendMessage = Callable[[dict[str, Any]], Awaitable[None]]


# --- the media, encoded once ------------------------------------------------------------


def encode_video() -> list[bytes]:
    """A moving picture: a texture of 16 px blocks drifting 4 px a frame, and a band of
    fresh noise moving down it, so every frame costs bits as a camera's does."""
    rng = random.Random(7)
    cell, shift, band = 16, 4, 90
    wide = WIDTH + LOOP_FRAMES * shift
    texture = []
    for _ in range(HEIGHT // cell + 1):
        values = [rng.randrange(40, 220) for _ in range(wide // cell + 1)]
        texture.append(b"".join(bytes([v]) * cell for v in values)[:wide])
    soft = bytes(64 + i // 2 for i in range(256))  # noise between 64 and 191
    ctx = av.CodecContext.create("libvpx", "w")
    ctx.width, ctx.height, ctx.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    ctx.time_base = fractions.Fraction(1, FPS)
    ctx.framerate = FPS
    ctx.bit_rate = VIDEO_BITRATE
    ctx.gop_size = 10 * LOOP_FRAMES  # one keyframe: the first
    rate = str(VIDEO_BITRATE)
    ctx.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": rate,
        "maxrate": rate,
    }
    gray = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    frames: list[bytes] = []
    for n in range(LOOP_FRAMES):
        top = n * 6 % (HEIGHT - band)
        noise = rng.randbytes(WIDTH * band).translate(soft)
        rows = [
            noise[(y - top) * WIDTH : (y - top + 1) * WIDTH]
            if top <= y < top + band
            else texture[y // cell][n * shift : n * shift + WIDTH]
            for y in range(HEIGHT)
        ]
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane, data in zip(frame.planes, (b"".join(rows), gray, gray), strict=True):
            assert plane.line_size == len(data) // plane.height
            plane.update(data)
        frame.pts = n
        frames += [bytes(p) for p in ctx.encode(frame)]
    frames += [bytes(p) for p in ctx.encode(None)]
    assert len(frames) == LOOP_FRAMES, "one packet per frame expected"
    assert is_vp8_keyframe(frames[0]), "the loop must start with a keyframe"
    return frames


def encode_audio() -> tuple[list[bytes], list[int]]:
    """One second of a tone in 20 ms Opus frames, and aiortc's level of each frame's
    samples (negative dBov, as ``RTCEncodedFrame.audio_level`` holds it)."""
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate, ctx.layout, ctx.format = 48000, "mono", "s16"
    ctx.bit_rate = AUDIO_BITRATE
    ctx.time_base = fractions.Fraction(1, 48000)
    packets: list[bytes] = []
    levels: list[int] = []
    for n in range(AUDIO_RATE):
        samples = [
            int(TONE_AMPLITUDE * math.sin(2 * math.pi * TONE_HZ * (n * 960 + i) / 48000))
            for i in range(960)
        ]
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(struct.pack("<960h", *samples))
        frame.sample_rate = 48000
        frame.pts = n * 960
        frame.time_base = ctx.time_base
        levels.append(rtp.compute_audio_level_dbov(frame))
        packets += [bytes(p) for p in ctx.encode(frame)]
    packets += [bytes(p) for p in ctx.encode(None)]
    return packets[:AUDIO_RATE], levels


def make_media(path: Path) -> dict[str, Any]:
    video = encode_video()
    audio, levels = encode_audio()
    path.write_text(
        json.dumps(
            {
                "fps": FPS,
                "video": [base64.b64encode(f).decode() for f in video],
                "audio": [base64.b64encode(f).decode() for f in audio],
                "levels": levels,
            }
        )
    )
    return {
        "video": f"VP8 {WIDTH}x{HEIGHT} {FPS} fps, {len(video)}-frame loop",
        "video_kbps": round(sum(map(len, video)) * 8 / (len(video) / FPS) / 1000),
        "keyframe_bytes": len(video[0]),
        "keyframes_in_loop": sum(map(is_vp8_keyframe, video)),
        "audio_kbps": round(sum(map(len, audio)) * 8 / (len(audio) / AUDIO_RATE) / 1000),
        "audio_dbov": -levels[0],
    }


# --- the servers (this script with --serve) --------------------------------------------


def _packets_sent(sender: RTCRtpSender) -> int:
    return int(sender._RTCRtpSender__packet_count)  # type: ignore[attr-defined]


class SfuServer:
    """Kvorum's room, as ``server.views.meeting_media`` drives it."""

    def __init__(self, participants: int) -> None:
        self.room = MediaRoom(1)
        # participants the room dropped (no answer in time, connection lost), by reason
        self.dropped: dict[str, int] = {}
        drop = self.room.drop

        async def counted(key: str, reason: str, *, participant: Any) -> None:
            if self.room.participants.get(key) is participant:
                self.dropped[reason] = self.dropped.get(reason, 0) + 1
            await drop(key, reason, participant=participant)

        self.room.drop = counted  # type: ignore[method-assign]

    async def join(self, key: str, chair: bool, send: SendMessage) -> None:
        n = int(key[1:])
        await self.room.join(Identity(key, f"Participant {n}", member_id=n, chair=chair), send)

    async def answer(self, key: str, sdp: str) -> None:
        await self.room.answer(key, sdp)

    def report(self, key: str, audio: bool, camera: bool) -> None:
        # what the participant's client says it sends, as a browser does once answered
        self.room.report(key, audio=audio, camera=camera, screen=False)

    def stats(self) -> dict[str, Any]:
        streams = []
        dropped = packets_in = 0
        for participant in self.room.participants.values():
            for slot in participant.audio_slots + participant.video_slots:
                sender = slot.transceiver.sender
                streams.append(
                    [
                        f"{participant.key}/{slot.mid}",
                        slot.kind,
                        slot.source is not None,
                        slot.track.sent,
                        _packets_sent(sender),
                    ]
                )
                dropped += slot.track.dropped
            packets_in += sum(p.tap.packets for p in participant.publications.values())
        totals = self.room.counts()
        totals.update(dropped=dropped, packets_in=packets_in, left=self.dropped)
        return {"streams": streams, "totals": totals}

    async def close(self) -> None:
        await self.room.close()


class CountingTrack(MediaStreamTrack):
    """Passes another track's frames on and counts them."""

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self.frames = 0

    async def recv(self) -> Any:
        frame = await self.source.recv()
        self.frames += 1
        return frame

    def stop(self) -> None:
        super().stop()
        self.source.stop()


def _codecs(kind: str) -> list[Any]:
    """VP8 (with RTX) or Opus, as the SFU negotiates."""
    name = "video/vp8" if kind == "video" else "audio/opus"
    codecs = RTCRtpSender.getCapabilities(kind).codecs
    return [c for c in codecs if c.mimeType.lower() in (name, "video/rtx")]


class RelayMember:
    def __init__(self, key: str, send: SendMessage) -> None:
        self.key = key
        self.send = send
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.publish: dict[str, RTCRtpTransceiver] = {}
        for source, kind in (("audio", "audio"), ("camera", "video")):
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(_codecs(kind))
            self.publish[source] = transceiver
        self.sources: dict[str, CountingTrack] = {}  # the decoded tracks, once answered
        self.slots: list[tuple[RTCRtpTransceiver, str, CountingTrack]] = []
        self.lock = asyncio.Lock()
        self.answered: asyncio.Future[None] | None = None

    def mids(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for source, transceiver in self.publish.items():
            out[transceiver.mid or ""] = {"role": "publish", "source": source}
        for transceiver, owner, track in self.slots:
            role = "audio" if track.kind == "audio" else "video"
            out[transceiver.mid or ""] = {"role": role, "participant": owner}
        return out

    async def negotiate(self) -> None:
        async with self.lock:
            await self.pc.setLocalDescription(await self.pc.createOffer())
            self.answered = asyncio.get_running_loop().create_future()
            sdp = self.pc.localDescription.sdp
            await self.send({"op": "offer", "sdp": sdp, "mids": self.mids()})
            await asyncio.wait_for(self.answered, ANSWER_TIMEOUT)

    async def answer(self, sdp: str) -> None:
        assert self.answered is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self.answered.set_result(None)


class RelayServer:
    """The baseline: decode, relay, encode again. Subscriptions are made once the
    benchmark's participants are all in (their number is fixed)."""

    def __init__(self, participants: int) -> None:
        self.expected = participants
        self.relay = MediaRelay()
        self.members: dict[str, RelayMember] = {}
        self.published = 0
        self.tasks: set[asyncio.Future[None]] = set()

    async def join(self, key: str, chair: bool, send: SendMessage) -> None:
        member = RelayMember(key, send)
        self.members[key] = member
        task = asyncio.ensure_future(self._publish(member))
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("relay negotiation failed", exc_info=task.exception())

    async def _publish(self, member: RelayMember) -> None:
        await member.negotiate()
        for source, transceiver in member.publish.items():
            track = transceiver.receiver.track
            assert track is not None, "the participant does not publish"
            member.sources[source] = CountingTrack(track)
        self.published += 1
        if self.published == self.expected:
            for subscriber in self.members.values():
                for publisher in self.members.values():
                    if publisher is subscriber:
                        continue
                    for source in publisher.sources.values():
                        track = CountingTrack(self.relay.subscribe(source, buffered=False))
                        transceiver = subscriber.pc.addTransceiver(track, direction="sendonly")
                        transceiver.setCodecPreferences(_codecs(track.kind))
                        subscriber.slots.append((transceiver, publisher.key, track))
            await asyncio.gather(*(m.negotiate() for m in self.members.values()))

    async def answer(self, key: str, sdp: str) -> None:
        await self.members[key].answer(sdp)

    def report(self, key: str, audio: bool, camera: bool) -> None:
        pass  # the relay sends every track it receives

    def stats(self) -> dict[str, Any]:
        streams = [
            [
                f"{member.key}/{transceiver.mid}",
                track.kind,
                True,
                track.frames,
                _packets_sent(transceiver.sender),
            ]
            for member in self.members.values()
            for transceiver, _, track in member.slots
        ]
        frames_in = sum(t.frames for m in self.members.values() for t in m.sources.values())
        return {
            "streams": streams,
            "totals": {"participants": len(self.members), "frames_decoded": frames_in},
        }

    async def close(self) -> None:
        for task in tuple(self.tasks):
            task.cancel()
        for member in self.members.values():
            with contextlib.suppress(Exception):
                await member.pc.close()


class LoopLag:
    """How late the server's event loop wakes a 10 ms timer (about 0.2 % of a core)."""

    def __init__(self) -> None:
        self.lags: list[float] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.01
            await asyncio.sleep(0.01)
            self.lags.append(loop.time() - due)

    def take(self) -> dict[str, float]:
        """Lateness since the last call: p99, max, and how often over 50 ms."""
        lags, self.lags = sorted(self.lags), []
        if not lags:
            return {}
        return {
            "p99_ms": round(1000 * lags[int(0.99 * (len(lags) - 1))], 1),
            "max_ms": round(1000 * lags[-1], 1),
            "over_50ms": sum(1 for lag in lags if lag > 0.05),
        }


async def serve(mode: str, participants: int) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    pin_from_env()
    loopback_only()
    server = SfuServer(participants) if mode == "sfu" else RelayServer(participants)
    lag = LoopLag()
    lag_task = asyncio.ensure_future(lag.run())
    # --profile: each stats request starts a new profile and saves the last one, so
    # the file left at the end covers the measuring window
    profile_path = os.environ.get("KVORUM_SFU_BENCH_PROFILE")
    profiler: cProfile.Profile | None = None

    async def signalling(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=LINE_LIMIT)
        await ws.prepare(request)
        key = request.query["key"]

        async def send(message: dict[str, Any]) -> None:
            await ws.send_json(message)

        await server.join(key, request.query.get("chair") == "1", send)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if data.get("op") == "answer":
                try:
                    await server.answer(key, data["sdp"])
                except Exception:
                    log.exception("answer from %s refused", key)
            elif data.get("op") == "state":
                server.report(key, bool(data["audio"]), bool(data["camera"]))
        return ws

    app = web.Application()
    app.router.add_get("/ws", signalling)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def write(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    write({"op": "listening", "port": port})
    while line := await reader.readline():
        op = json.loads(line).get("op")
        if op == "stats":
            counts = server.stats()
            write({"op": "stats", "at": time.monotonic(), **counts, "loop_lag": lag.take()})
            if profile_path:
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(profile_path)
                profiler = cProfile.Profile(time.thread_time)  # the event loop's CPU
                profiler.enable()
        elif op == "quit":
            break
    lag_task.cancel()
    await server.close()
    await runner.cleanup()


# --- the benchmark ----------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system time of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def udp_drops(pid: int) -> int:
    """Datagrams dropped so far by the process's UDP sockets (full receive buffers)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    drops = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    drops += int(fields[-1])
    return drops


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs together."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already in user
    return total - idle, total


async def wait_quiet(below: float, at_most: float) -> float:
    """Wait until the machine's busy time over 2 s is under ``below`` % of a core (other
    work sharing it), or ``at_most`` seconds passed; the busy % last seen."""
    deadline = time.monotonic() + at_most
    while True:
        before = machine_ticks()[0]
        await asyncio.sleep(2)
        busy = 100 * (machine_ticks()[0] - before) / TICK / 2
        if busy < below or time.monotonic() >= deadline:
            return round(busy, 1)


class Process:
    """A child speaking JSON lines on its stdin and stdout."""

    def __init__(self, name: str, *argv: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.joined: set[str] = set()
        self.errors: list[str] = []
        self.changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
            env=self.env,
        )
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            message = json.loads(line)
            op = message["op"]
            if op == "joined":
                self.joined.add(message["key"])
                self.changed.set()
            elif op == "error":
                self.errors.append(f"{message['key']}: {message['error']}")
                print(f"  {self.name}: {self.errors[-1]}", file=sys.stderr)
            else:
                await self.replies.put(message)
        await self.replies.put({"op": "exited"})

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc is not None
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())

    async def ask(self, op: str) -> dict[str, Any]:
        self.send({"op": op})
        reply = await asyncio.wait_for(self.replies.get(), REPLY_SECONDS)
        if reply["op"] == "exited":
            raise RuntimeError(f"{self.name} exited")
        return reply

    async def stop(self, grace: float = 20) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(ConnectionError):
                self.send({"op": "quit"})
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()


class Case:
    """One mode at one size."""

    def __init__(self, mode: str, size: int, cameras: int) -> None:
        self.mode = mode
        self.size = size
        self.keys = [f"m{n}" for n in range(1, size + 1)]
        self.cameras = set(self.keys[: min(cameras, size)])
        others = size - 1
        self.audio_each = min(AUDIO_SLOTS, others) if mode == "sfu" else others

    def video_for(self, key: str) -> int:
        return len(self.cameras - {key})

    @property
    def expected(self) -> dict[str, int]:
        return {
            "audio": self.audio_each * self.size,
            "video": sum(self.video_for(k) for k in self.keys),
        }


class Snapshot:
    def __init__(self) -> None:
        self.at = 0.0
        self.cpu: dict[str, float] = {}
        self.drops: dict[str, int] = {}
        self.machine = (0, 0)
        self.server: dict[str, Any] = {}
        self.clients: dict[str, dict[str, Any]] = {}


async def snapshot(server: Process, clients: list[Process]) -> Snapshot:
    shot = Snapshot()
    shot.at = time.monotonic()
    shot.machine = machine_ticks()
    shot.cpu = {p.name: cpu_seconds(p.pid) for p in [server, *clients]}
    shot.drops = {p.name: udp_drops(p.pid) for p in [server, *clients]}
    replies = await asyncio.gather(server.ask("stats"), *(c.ask("stats") for c in clients))
    shot.server = replies[0]
    for reply in replies[1:]:
        # each process's own time of counting: a busy one may answer late
        shot.clients.update({k: {**p, "at": reply["at"]} for k, p in reply["peers"].items()})
    return shot


def received(shot: Snapshot) -> dict[tuple[str, str], tuple[str, int, int]]:
    """(participant, mid) → (kind, frames, packets) for every stream received."""
    return {
        (key, mid): (kind, frames, packets)
        for key, peer in shot.clients.items()
        for mid, kind, frames, packets in peer["received"]
    }


def flowing(before: Snapshot, after: Snapshot) -> dict[str, dict[str, int]]:
    """Per participant, how many audio and video streams the server sent frames on in
    between (its count: a participant's receiver may be stalled behind a lost packet)."""
    old = {sid: frames for sid, _, _, frames, _ in before.server["streams"]}
    out: dict[str, dict[str, int]] = {}
    for sid, kind, _, frames, _ in after.server["streams"]:
        counts = out.setdefault(sid.split("/")[0], {"audio": 0, "video": 0})
        if frames > old.get(sid, 0):
            counts[kind] += 1
    return out


def _rate(value: float, seconds: float) -> float:
    return value / seconds if seconds > 0 else 0.0


def measure(case: Case, a: Snapshot, b: Snapshot, ready: bool, setup: float) -> dict[str, Any]:
    """The window's figures. CPU is over the benchmark's own window; the counts over the
    window between each process's own times of counting."""
    seconds = b.at - a.at
    server_cpu = (b.cpu["server"] - a.cpu["server"]) / seconds
    clients_cpu = sum(b.cpu[n] - a.cpu[n] for n in b.cpu if n != "server") / seconds
    busy = (b.machine[0] - a.machine[0]) / TICK / seconds
    # what the server sent, stream by stream
    server_seconds = b.server["at"] - a.server["at"]
    before = {s[0]: s for s in a.server["streams"]}
    streams = {"audio": 0, "video": 0}
    sent = {"audio": 0.0, "video": 0.0, "packets": 0.0}
    for sid, kind, _, frames, packets in b.server["streams"]:
        _, _, _, frames0, packets0 = before.get(sid, (sid, kind, False, 0, 0))
        if frames > frames0:
            streams[kind] += 1
        sent[kind] += _rate(frames - frames0, server_seconds)
        sent["packets"] += _rate(packets - packets0, server_seconds)
    slots = sum(1 for s in b.server["streams"] if s[2])
    # what the participants sent and received
    published = {"audio": 0.0, "video": 0.0}
    for key, peer in b.clients.items():
        elapsed = peer["at"] - a.clients[key]["at"]
        for kind in published:
            published[kind] += _rate(peer[f"sent_{kind}"] - a.clients[key][f"sent_{kind}"], elapsed)
    # Frames the participants' receivers completed. Not the measure of delivery: after a
    # packet is lost for good, aiortc's jitter buffer holds the frames behind it until it
    # overflows (512 packets) and then releases them one per packet that arrives, so a
    # window can count frames sent before it. Packets are counted as they arrive.
    old = received(a)
    got = {"audio": 0.0, "video": 0.0, "packets": 0.0}
    for (key, mid), (kind, frames, packets) in received(b).items():
        elapsed = b.clients[key]["at"] - a.clients[key]["at"]
        _, frames0, packets0 = old.get((key, mid), (kind, 0, 0))
        got[kind] += _rate(frames - frames0, elapsed)
        got["packets"] += _rate(packets - packets0, elapsed)
    total_streams = streams["audio"] + streams["video"]
    # the streams' worth of media actually sent: a stream at its full rate counts 1
    delivered = sent["audio"] / AUDIO_RATE + sent["video"] / FPS
    per_delivered = 100 * server_cpu / delivered if delivered else None
    expected = case.expected
    expected_video_fps = expected["video"] * FPS
    return {
        "mode": case.mode,
        "participants": case.size,
        "cameras": len(case.cameras),
        "ready": ready,
        "setup_seconds": round(setup, 1),
        "window_seconds": round(seconds, 2),
        "server_cpu_pct": round(100 * server_cpu, 1),
        "streams": {**streams, "total": total_streams, "slots_with_source": slots},
        "expected_streams": expected,
        "pct_core_per_stream": round(100 * server_cpu / total_streams, 3)
        if total_streams
        else None,
        "delivered_streams": round(delivered, 1),
        "pct_core_per_delivered_stream": round(per_delivered, 3) if per_delivered else None,
        # a projection, not a measurement: the cost per delivered stream times the
        # streams the case should carry
        "projected_full_rate_cpu_pct": round(per_delivered * sum(expected.values()), 1)
        if per_delivered
        else None,
        "sent_per_s": {
            "audio_frames": round(sent["audio"]),
            "video_frames": round(sent["video"]),
            "rtp_packets": round(sent["packets"]),
        },
        "cpu_us_per_packet": round(1e6 * server_cpu / sent["packets"], 1)
        if sent["packets"]
        else None,
        "published_per_s": {
            "audio_frames": round(published["audio"]),
            "video_frames": round(published["video"]),
            "video_frames_expected": len(case.cameras) * FPS,
        },
        "expected_per_s": {
            "audio_frames": expected["audio"] * AUDIO_RATE,
            "video_frames": expected_video_fps,
        },
        "video_sent_pct": round(100 * sent["video"] / expected_video_fps, 1)
        if expected_video_fps
        else None,
        "audio_sent_pct": round(100 * sent["audio"] / (expected["audio"] * AUDIO_RATE), 1)
        if expected["audio"]
        else None,
        "received_per_s": {
            "audio_frames": round(got["audio"]),
            "video_frames": round(got["video"]),
            "rtp_packets": round(got["packets"]),  # retransmissions included
        },
        "received_packets_pct": round(100 * got["packets"] / sent["packets"], 1)
        if sent["packets"]
        else None,
        "clients_cpu_pct": round(100 * clients_cpu, 1),
        "machine_busy_pct": round(100 * busy, 1),
        "other_cpu_pct": round(100 * (busy - server_cpu - clients_cpu), 1),
        "server_loop_lag": b.server["loop_lag"],
        "udp_drops": {
            "server": b.drops["server"] - a.drops["server"],
            "clients": sum(b.drops[n] - a.drops[n] for n in b.drops if n != "server"),
        },
        "server_totals": b.server["totals"],
    }


async def run_case(case: Case, args: argparse.Namespace, media: Path) -> dict[str, Any]:
    print(f"{case.mode} × {case.size} participants ({len(case.cameras)} cameras) …", flush=True)
    busy_before = await wait_quiet(args.quiet_below or math.inf, args.quiet_wait)
    env = dict(os.environ)
    client_env = dict(os.environ)
    cpus = sorted(os.sched_getaffinity(0))
    if args.pin and len(cpus) > 1:
        # the server alone on the first CPU, the participants on the others
        env["KVORUM_SFU_BENCH_CPUS"] = str(cpus[0])
        client_env["KVORUM_SFU_BENCH_CPUS"] = ",".join(map(str, cpus[1:]))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        path = args.profile / f"{case.mode}-{case.size}.prof"
        env["KVORUM_SFU_BENCH_PROFILE"] = str(path)
    server = Process(
        "server", __file__, "--serve", case.mode, "--participants", str(case.size), env=env
    )
    clients: list[Process] = []
    try:
        await server.start()
        listening = await asyncio.wait_for(server.replies.get(), 30)
        if listening["op"] != "listening":
            raise RuntimeError("the server did not start")
        url = f"ws://127.0.0.1:{listening['port']}/ws"
        clients = [
            Process(f"clients{i}", str(PEER), "--url", url, "--media", str(media), env=client_env)
            for i in range(min(args.client_procs, case.size))
        ]
        await asyncio.gather(*(c.start() for c in clients))
        started = time.monotonic()
        deadline = started + args.setup_timeout + 2 * case.size

        def join(i: int, key: str) -> Process:
            client = clients[i % len(clients)]
            client.send({"op": "join", "key": key, "chair": i == 0, "camera": key in case.cameras})
            return client

        # the chair opens the room; the others then come in together
        chair = join(0, case.keys[0])
        while case.keys[0] not in chair.joined and time.monotonic() < deadline:
            chair.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(chair.changed.wait(), 1)
        for i, key in enumerate(case.keys[1:], 1):
            join(i, key)
        # until the server sends everyone all they should, or that stops growing
        # (an overloaded machine: it is measured as it is)
        ready = False
        best, best_at = -1, time.monotonic()
        previous = await snapshot(server, clients)
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            current = await snapshot(server, clients)
            flows = flowing(previous, current)
            previous = current
            ready = len(flows) == case.size and all(
                f["audio"] >= case.audio_each and f["video"] >= case.video_for(k)
                for k, f in flows.items()
            )
            if ready:
                break
            score = sum(
                min(f["audio"], case.audio_each) + min(f["video"], case.video_for(k))
                for k, f in flows.items()
            )
            if score > best:
                best, best_at = score, time.monotonic()
            elif len(flows) == case.size and time.monotonic() - best_at > PLATEAU_SECONDS:
                break
        setup = time.monotonic() - started
        if not ready:
            print(f"  not every stream flows after {setup:.0f} s: measuring anyway", flush=True)
        await asyncio.sleep(args.warmup)
        first = await snapshot(server, clients)
        await asyncio.sleep(args.seconds)
        last = await snapshot(server, clients)
        result = measure(case, first, last, ready, setup)
        result["client_errors"] = [e for c in clients for e in c.errors]
        result["machine_busy_before_pct"] = busy_before
        return result
    finally:
        await asyncio.gather(*(c.stop() for c in clients), server.stop(30))


def _pct(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f} %"


def print_table(results: list[dict[str, Any]]) -> None:
    head = (
        "mode",
        "n",
        "cams",
        "streams a+v",
        "server CPU",
        "per stream",
        "per delivered",
        "µs/pkt",
        "sent pkt/s",
        "video fps sent (of expected)",
        "rx pkts",
        "clients CPU",
        "other CPU",
    )
    rows = [head]
    for r in results:
        s = r["streams"]
        rows.append(
            (
                r["mode"] + ("" if r["ready"] else "*"),
                str(r["participants"]),
                str(r["cameras"]),
                f"{s['audio']}+{s['video']}={s['total']}",
                _pct(r["server_cpu_pct"], 1),
                _pct(r["pct_core_per_stream"], 3),
                _pct(r["pct_core_per_delivered_stream"], 3),
                str(r["cpu_us_per_packet"] or "-"),
                str(r["sent_per_s"]["rtp_packets"]),
                f"{r['sent_per_s']['video_frames']} / {r['expected_per_s']['video_frames']}"
                f" ({r['video_sent_pct']} %)",
                _pct(r["received_packets_pct"], 0),
                _pct(r["clients_cpu_pct"], 0),
                _pct(r["other_cpu_pct"], 0),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(
        "per stream: server CPU / streams with frames in the window; per delivered: server"
        " CPU / streams' worth of frames sent (frames/s over 50 for audio, 20 for video);"
        " rx pkts: RTP packets the participants received / the server sent"
    )
    if any(not r["ready"] for r in results):
        print("* not every stream was flowing when the window started")


def comparisons(results: list[dict[str, Any]]) -> dict[str, Any]:
    sfu = {r["participants"]: r for r in results if r["mode"] == "sfu"}
    relay = {r["participants"]: r for r in results if r["mode"] == "relay"}
    out: dict[str, Any] = {}
    for name, field in (
        ("relay_over_sfu_per_stream", "pct_core_per_stream"),
        ("relay_over_sfu_per_delivered_stream", "pct_core_per_delivered_stream"),
    ):
        out[name] = {
            str(n): round(relay[n][field] / sfu[n][field], 1)
            for n in sorted(set(sfu) & set(relay))
            if relay[n][field] and sfu[n][field]
        }
    if 30 in sfu:
        out["sfu_30_server_cpu_pct"] = sfu[30]["server_cpu_pct"]
        out["sfu_30_video_sent_pct"] = sfu[30]["video_sent_pct"]
        out["sfu_30_projected_full_rate_cpu_pct"] = sfu[30]["projected_full_rate_cpu_pct"]
        out["sfu_30_under_one_core"] = (
            sfu[30]["server_cpu_pct"] < 100 and (sfu[30]["video_sent_pct"] or 0) >= 95
        )
    return out


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kvorum-sfu-bench-") as tmp:
        media_path = Path(tmp) / "media.json"
        media = make_media(media_path)
        print(
            f"media: {media['video']}, {media['video_kbps']} kbit/s (keyframe"
            f" {media['keyframe_bytes']} B); Opus {media['audio_kbps']} kbit/s at"
            f" {media['audio_dbov']} dBov; {os.cpu_count()} CPUs shared by everything",
            flush=True,
        )
        cases = [Case("relay", n, args.cameras) for n in args.relay_sizes]
        cases += [Case("sfu", n, args.cameras) for n in args.sizes]
        results = []
        failed = []
        for case in cases:
            try:
                results.append(await run_case(case, args, media_path))
            except (RuntimeError, TimeoutError, KeyError) as exc:
                print(f"  {case.mode} × {case.size} failed: {exc!r}", file=sys.stderr)
                failed.append({"mode": case.mode, "participants": case.size, "error": repr(exc)})
            await asyncio.sleep(2)  # let the sockets and processes go
    print()
    print_table(results)
    summary = comparisons(results)
    for n, ratio in summary["relay_over_sfu_per_stream"].items():
        delivered = summary["relay_over_sfu_per_delivered_stream"].get(n)
        print(
            f"relay / SFU, CPU per forwarded stream at {n} participants: {ratio}×"
            f" (per delivered stream: {delivered}×)"
        )
    if "sfu_30_server_cpu_pct" in summary:
        verdict = "met" if summary["sfu_30_under_one_core"] else "missed"
        print(
            f"30 participants, {args.cameras} cameras: SFU server at"
            f" {summary['sfu_30_server_cpu_pct']} % of a core, sending"
            f" {summary['sfu_30_video_sent_pct']} % of the video frames due"
            f" (target: all of them on under one core: {verdict}; at full rate, by its cost"
            f" per delivered stream: {summary['sfu_30_projected_full_rate_cpu_pct']} %)"
        )
    return {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {
            "seconds": args.seconds,
            "warmup": args.warmup,
            "cameras": args.cameras,
            "client_procs": args.client_procs,
            "pinned": args.pin,
            "audio_slots": AUDIO_SLOTS,
        },
        "media": media,
        "results": results,
        "failed": failed,
        "summary": summary,
    }


def _sizes(text: str) -> list[int]:
    return [int(n) for n in text.split(",") if n.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=[5, 10, 20, 30])
    parser.add_argument("--relay-sizes", type=_sizes, default=[5, 10])
    parser.add_argument("--cameras", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=4)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument(
        "--setup-timeout",
        type=float,
        default=40,
        help="seconds (plus 2 per participant) to wait for every stream to flow",
    )
    parser.add_argument(
        "--quiet-below",
        type=float,
        help="before each case, wait until the machine is busy under this %% of a core"
        " (other work on it), for at most --quiet-wait seconds",
    )
    parser.add_argument("--quiet-wait", type=float, default=300)
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run the server alone on the first CPU and the participants on the others",
    )
    parser.add_argument("--json", type=Path, help="write the results here (else to stdout)")
    parser.add_argument(
        "--profile",
        type=Path,
        help="profile each server over the window (cProfile, MODE-N.prof in this directory;"
        " it slows the server: not for the figures)",
    )
    parser.add_argument("--serve", choices=("sfu", "relay"), help=argparse.SUPPRESS)
    parser.add_argument("--participants", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.participants))
        return
    results = asyncio.run(bench(args))
    text = json.dumps(results, indent=2, ensure_ascii=False)
    if args.json:
        args.json.write_text(text + "\n")
        print(f"results: {args.json}")
    else:
        print(text)


if __name__ == "__main__":
    main()
