"""The hook that lets aiortc forward encoded media: no decoder, no encoder.

aiortc's receiver reassembles each incoming RTP stream into encoded frames (its jitter
buffer) and hands them to a decoder thread through a queue; its sender takes either raw
frames, which it encodes, or pre-encoded ``av.Packet``\\ s, which it only packetises.
Kvorum's SFU stands between the two:

* :func:`tap_receiver` replaces the receiver's decoder queue with a :class:`FrameTap`.
  Complete encoded frames go to a callback on the event loop instead of to a decoder;
  the decoder thread aiortc starts finds nothing to decode and waits until the
  receiver stops. It also wraps the receiver's packet handler to read, per RTP
  packet, the audio level header extension (RFC 6464) and the stream's SSRC, which
  keyframe requests (PLI) to the publisher name; and for video it puts a
  :class:`ForwardingJitterBuffer` in place of aiortc's, which gives up on a packet
  that stays lost instead of holding every later frame back.
* :class:`ForwardedTrack` is a track whose ``recv`` returns ``av.Packet``\\ s.
* :func:`prepare_sender` gives the sender a packetiser in place of an encoder (VP8:
  aiortc's own encoder object, which opens no codec until asked to encode; Opus: the
  one-line packetiser below, since aiortc's Opus encoder opens libopus when made), and
  routes the keyframe requests (PLI/FIR) that a subscriber's browser sends to a
  callback, which forwards them to the publisher.

The hook reaches into attributes of aiortc that are not its public API: the receiver's
``_RTCRtpReceiver__decoder_queue``, ``_RTCRtpReceiver__jitter_buffer`` and
``_handle_rtp_packet``, the sender's ``_RTCRtpSender__encoder`` and ``_send_keyframe``.
It is tested with :data:`AIORTC_VERSION` (pinned in ``pyproject.toml``);
``tests/meetings/test_sfu.py`` counts the codecs opened while media is forwarded and
fails if a newer aiortc no longer lets the hook keep that count at zero, and
``tests/meetings/test_forwarding.py`` tests the jitter buffer against aiortc's.
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import threading
import time
from collections.abc import Callable
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add

__all__ = [
    "AIORTC_VERSION",
    "AUDIO_CLOCK",
    "LOSS_WAIT",
    "MAX_FRAME_AGE",
    "VIDEO_CLOCK",
    "ForwardedTrack",
    "ForwardingJitterBuffer",
    "FrameTap",
    "is_vp8_keyframe",
    "prepare_sender",
    "tap_receiver",
]

AIORTC_VERSION = "1.16.0"
VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000
_TIME_BASE = {
    "video": fractions.Fraction(1, VIDEO_CLOCK),
    "audio": fractions.Fraction(1, AUDIO_CLOCK),
}

#: How long a video stream waits for a lost packet to be retransmitted (a NACK and its
#: answer take one round trip) before the frames after it go on without it.
LOSS_WAIT = 0.5
#: How old a frame may be when a sender comes for it, in seconds: older ones are
#: dropped. A browser's audio buffer copes with a short burst, and a video frame dropped
#: costs a keyframe, so video gets longer.
MAX_FRAME_AGE = {"audio": 0.3, "video": 0.5}
#: aiortc's capacity for a video jitter buffer, in packets.
VIDEO_BUFFER = 512

FrameCallback = Callable[[JitterFrame], None]
LevelCallback = Callable[[int, bool], None]


def is_vp8_keyframe(data: bytes) -> bool:
    """Whether a VP8 frame (RFC 6386 §9.1: bit 0 of the first byte clear) is a keyframe."""
    return bool(data) and not data[0] & 0x01


def starts_vp8_frame(payload: bytes) -> bool:
    """Whether an RTP payload is the first packet of a VP8 frame: its payload descriptor
    (RFC 7741 §4.2) has the start bit set and partition index 0."""
    return bool(payload) and payload[0] & 0x10 != 0 and payload[0] & 0x07 == 0


class ForwardingJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, made to give up on a packet that stays lost.

    aiortc's buffer hands out a frame only once every packet before it has come, and
    asks for a lost packet again (NACK) only when another is lost: a packet whose
    retransmission is lost too holds every later frame back until 512 more packets
    have come, which freezes that camera for every subscriber for seconds. This one
    waits :data:`LOSS_WAIT` for the hole to fill; then it drops what it holds, starts
    again at the next packet that begins a frame, and calls ``on_skip``, so that the
    subscribers wait for a keyframe (the frames in between refer to what was lost)
    and one is asked of the publisher."""

    def __init__(
        self,
        on_skip: Callable[[], None],
        *,
        capacity: int = VIDEO_BUFFER,
        wait: float = LOSS_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity=capacity, is_video=True)
        self.on_skip = on_skip
        self.wait = wait
        self.clock = clock
        self.skips = 0
        self._hole_since: float | None = None
        self._resync = False

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self._resync:
            if not starts_vp8_frame(packet.payload):
                return False, None
            self._resync = False
        pli, frame = super().add(packet)
        if frame is not None or not self._held_back(packet):
            self._hole_since = None
            return pli, frame
        now = self.clock()
        if self._hole_since is None:
            self._hole_since = now
        elif now - self._hole_since >= self.wait:
            self.skip()
        return pli, frame

    def _held_back(self, packet: RtpPacket) -> bool:
        """Whether a packet of a later frame than the oldest one held has come, while
        that frame could not be handed out: some packet between them is missing."""
        if self._origin is None:
            return False
        ahead = uint16_add(packet.sequence_number, -self._origin)
        behind = uint16_add(self._origin, -packet.sequence_number)
        if behind < ahead:
            return False  # a late or repeated packet of a frame already handed out
        first = self._packets[self._origin % self.capacity]
        return first is None or first.timestamp != packet.timestamp

    def skip(self) -> None:
        """Drop every packet held, and start again with the next frame's first."""
        self._packets = [None] * self.capacity
        self._origin = None
        self._hole_since = None
        self._resync = True
        self.skips += 1
        self.on_skip()


class FrameTap:
    """Stands in for a receiver's decoder queue (the two methods aiortc calls on it)."""

    def __init__(self, on_frame: FrameCallback) -> None:
        self.on_frame = on_frame
        self.frames = 0
        self._stopped = threading.Event()

    def put(self, item: tuple[Any, JitterFrame] | None) -> None:
        # Called on the event loop: with a frame by the packet handler, with None when
        # the receiver stops.
        if item is None:
            self._stopped.set()
            return
        self.frames += 1
        self.on_frame(item[1])

    def get(self) -> None:
        # Called by aiortc's decoder thread: there is never anything to decode, so it
        # waits for the receiver to stop, and then ends.
        self._stopped.wait()


class ReceiverTap:
    """What :func:`tap_receiver` installed (the queue in the decoder's place, the video
    jitter buffer), and what it counted: packets, and the stream's SSRC."""

    def __init__(self, queue: FrameTap, buffer: ForwardingJitterBuffer | None) -> None:
        self.queue = queue
        self.buffer = buffer
        self.ssrc: int | None = None
        self.packets = 0


def tap_receiver(
    receiver: RTCRtpReceiver,
    on_frame: FrameCallback,
    on_level: LevelCallback | None = None,
    on_skip: Callable[[], None] | None = None,
) -> ReceiverTap:
    """Send the receiver's encoded frames to ``on_frame`` and no decoder.

    For a video receiver, ``on_skip`` is called when frames were lost for good (see
    :class:`ForwardingJitterBuffer`). Must be called before the receiver starts (before
    the description that makes it receive is applied), since aiortc hands the queue to
    its thread on start."""
    queue = FrameTap(on_frame)
    buffer = ForwardingJitterBuffer(on_skip) if on_skip is not None else None
    tap = ReceiverTap(queue, buffer)
    receiver._RTCRtpReceiver__decoder_queue = queue  # type: ignore[attr-defined]
    if buffer is not None:
        receiver._RTCRtpReceiver__jitter_buffer = buffer  # type: ignore[attr-defined]
    handle = receiver._handle_rtp_packet

    async def handle_packet(packet: Any, arrival_time_ms: int) -> None:
        tap.packets += 1
        if tap.ssrc is None:
            # The first packet is media: retransmissions (RTX, another SSRC) only
            # follow a NACK, which follows media.
            tap.ssrc = packet.ssrc
        level = packet.extensions.audio_level
        if on_level is not None and level is not None:
            on_level(level[1], level[0])
        await handle(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle_packet  # type: ignore[method-assign]
    return tap


class _OpusPacketiser:
    """An Opus frame is one RTP payload; its timestamp is in the 48 kHz clock."""

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int]:  # type: ignore[type-arg]
        return [bytes(packet)], int(packet.pts or 0)


def prepare_sender(sender: RTCRtpSender, on_keyframe_request: Callable[[], None]) -> None:
    """Make the sender packetise what its track gives and pass keyframe requests on.

    Call it right after the sender is made, before it starts sending."""
    packetiser = Vp8Encoder() if sender.kind == "video" else _OpusPacketiser()
    sender._RTCRtpSender__encoder = packetiser  # type: ignore[attr-defined]
    sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]


class ForwardedTrack(MediaStreamTrack):
    """A track of encoded frames put in by the SFU and taken out by one sender.

    It holds at most ``capacity`` frames: if the sender falls behind, the oldest are
    dropped. A frame older than ``max_age`` seconds (:data:`MAX_FRAME_AGE`) when the
    sender comes for it is dropped too: frames pile up before the sender starts (until
    the connection is up) and would otherwise go out as a burst of the past. Both count
    in ``dropped``. A video frame dropped breaks the ones after it, which refer to it:
    the track then passes nothing until a keyframe, and sets ``broken`` so that the SFU
    asks for one."""

    def __init__(
        self,
        kind: str,
        capacity: int = 32,
        max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.time_base = _TIME_BASE[kind]
        self.capacity = capacity
        self.max_age = MAX_FRAME_AGE[kind] if max_age is None else max_age
        self.clock = clock
        self.dropped = 0
        self.sent = 0
        self.broken = False  # a video frame was dropped and no keyframe followed yet
        self._frames: collections.deque[tuple[Any, bool, float]] = collections.deque()
        self._ready = asyncio.Event()

    def push(self, data: bytes, timestamp: int, keyframe: bool = False) -> None:
        """Queue one encoded frame (``keyframe``: a video frame that refers to no other)."""
        if self.readyState != "live":
            return
        packet = av.Packet(data)
        packet.pts = timestamp
        packet.time_base = self.time_base
        if len(self._frames) >= self.capacity:
            self._frames.popleft()
            self._drop()
        self._frames.append((packet, keyframe, self.clock()))
        self._ready.set()

    def _drop(self) -> None:
        self.dropped += 1
        if self.kind == "video":
            self.broken = True

    def clear(self) -> None:
        self._frames.clear()

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        while True:
            while not self._frames:
                if self.readyState != "live":
                    raise MediaStreamError
                self._ready.clear()
                await self._ready.wait()
            packet, keyframe, queued = self._frames.popleft()
            if self.clock() - queued > self.max_age:
                self._drop()
                continue
            if self.broken:
                if not keyframe:
                    self.dropped += 1  # it refers to a frame that was dropped
                    continue
                self.broken = False
            self.sent += 1
            frame: av.Packet = packet  # type: ignore[type-arg]
            return frame

    def stop(self) -> None:
        super().stop()
        self._ready.set()
