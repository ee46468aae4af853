"""The forwarding hook's video jitter buffer: RTP packets of VP8 frames go in, whole
frames come out, and a packet that stays lost holds the stream back only so long."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from meetings.forwarding import (
    LOSS_WAIT,
    MAX_FRAME_AGE,
    ForwardedTrack,
    ForwardingJitterBuffer,
    starts_vp8_frame,
)

START = 0x10  # the VP8 payload descriptor's start-of-partition bit, partition 0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Stream:
    """A publisher's video: frames of a few packets each, numbered on."""

    def __init__(self) -> None:
        self.seq = 65530  # the sequence numbers wrap round during the tests
        self.timestamp = 0

    def frame(self, packets: int, body: bytes = b"f") -> list[RtpPacket]:
        self.timestamp += 3000
        out = []
        for n in range(packets):
            descriptor = bytes([START if n == 0 else 0])
            out.append(
                RtpPacket(
                    payload_type=96,
                    sequence_number=self.seq,
                    timestamp=self.timestamp,
                    payload=descriptor + body + bytes([n]),
                )
            )
            self.seq = (self.seq + 1) & 0xFFFF
        return out


def feed(
    buffer: ForwardingJitterBuffer, packets: list[RtpPacket], clock: Clock | None = None
) -> list[int]:
    """Add the packets (each 10 ms after the last); the timestamps of the frames out."""
    frames = []
    for packet in packets:
        # as aiortc's receiver does: the depayloaded VP8 data beside the packet
        packet._data = packet.payload[1:]  # type: ignore[attr-defined]
        if clock is not None:
            clock.now += 0.01
        _pli, frame = buffer.add(packet)
        if frame is not None:
            frames.append(frame.timestamp)
    return frames


def make() -> tuple[ForwardingJitterBuffer, Clock, list[str]]:
    clock = Clock()
    skips: list[str] = []
    buffer = ForwardingJitterBuffer(lambda: skips.append("skip"), clock=clock)
    return buffer, clock, skips


def test_frames_come_out_whole_and_in_order() -> None:
    buffer, clock, skips = make()
    stream = Stream()
    frames = [stream.frame(3) for _ in range(5)]
    out = feed(buffer, [p for f in frames for p in f], clock)
    # a frame is known to be whole when the next one begins
    assert out == [3000, 6000, 9000, 12000]
    assert skips == []


def test_a_retransmission_in_time_fills_the_hole() -> None:
    buffer, clock, skips = make()
    stream = Stream()
    first, second, third, fourth = (stream.frame(3) for _ in range(4))
    lost = second[1]
    out = feed(buffer, [*first, second[0], second[2], *third], clock)
    assert out == [3000]  # the second frame waits for its middle packet
    out = feed(buffer, [lost, *fourth], clock)
    assert out == [6000, 9000]
    assert skips == []


def test_a_packet_lost_for_good_is_given_up_on() -> None:
    buffer, clock, skips = make()
    stream = Stream()
    before = stream.frame(2)  # timestamp 3000
    broken = stream.frame(3)  # 6000, its middle packet lost and never sent again
    del broken[1]
    assert feed(buffer, before + broken, clock) == [3000]
    after = [stream.frame(2) for _ in range(3)]  # 9000, 12000, 15000
    assert feed(buffer, after[0], clock) == []
    # the frames after the hole wait while a retransmission may still come …
    clock.now += LOSS_WAIT - 0.05
    assert feed(buffer, after[1]) == []
    assert skips == []
    # … and then the buffer drops what it holds and waits for a frame's first packet
    clock.now += 0.1
    assert feed(buffer, after[2][1:]) == []
    assert skips == ["skip"]
    assert buffer.skips == 1
    # the rest of a frame whose first packet went before is not taken for a frame
    torn = stream.frame(2)  # 18000
    assert feed(buffer, torn[1:], clock) == []
    later = [stream.frame(2) for _ in range(3)]  # 21000, 24000, 27000
    assert feed(buffer, [p for f in later for p in f], clock) == [21000, 24000]
    assert skips == ["skip"]


def test_a_late_packet_of_a_frame_handed_out_is_ignored() -> None:
    buffer, clock, skips = make()
    stream = Stream()
    first, second = stream.frame(2), stream.frame(2)
    assert feed(buffer, first + second, clock) == [3000]
    clock.now += 10 * LOSS_WAIT
    assert feed(buffer, [first[1]], clock) == []
    third = stream.frame(2)
    assert feed(buffer, third, clock) == [6000]
    assert skips == []


def test_a_pause_is_not_a_loss() -> None:
    # a camera turned off and on again: no packets for a long while, then more
    buffer, clock, skips = make()
    stream = Stream()
    assert feed(buffer, stream.frame(2) + stream.frame(2), clock) == [3000]
    clock.now += 60
    assert feed(buffer, stream.frame(2) + stream.frame(2), clock) == [6000, 9000]
    assert skips == []


def test_the_start_of_a_vp8_frame() -> None:
    assert starts_vp8_frame(bytes([0x10, 0]))
    assert starts_vp8_frame(bytes([0x90, 0x80, 0x12]))  # with extensions (X) set
    assert not starts_vp8_frame(bytes([0x00, 0]))  # a continuation
    assert not starts_vp8_frame(bytes([0x11, 0]))  # the start of partition 1
    assert not starts_vp8_frame(b"")


async def test_a_track_drops_frames_grown_stale_before_its_sender_came() -> None:
    clock = Clock()
    track = ForwardedTrack("audio", clock=clock)
    for n in range(20):  # 400 ms of audio while the connection was still coming up
        track.push(b"a", n * 960)
        clock.now += 0.02
    taken = [(await track.recv()).pts for _ in range(5)]
    # only what is younger than the limit goes out
    fresh = int(MAX_FRAME_AGE["audio"] / 0.02)
    assert taken == [n * 960 for n in range(20 - fresh, 20 - fresh + 5)]
    assert track.dropped == 20 - fresh
    assert not track.broken  # audio frames stand alone


async def test_a_video_track_waits_for_a_keyframe_after_a_drop() -> None:
    clock = Clock()
    track = ForwardedTrack("video", capacity=4, clock=clock)
    track.push(b"\x10key", 0, keyframe=True)
    for n in range(1, 6):  # the sender is behind: the oldest go
        track.push(b"\x11delta", n * 3000)
    assert track.dropped == 2
    assert track.broken
    # what is left refers to frames that went: nothing until the keyframe
    track.push(b"\x10key", 6 * 3000, keyframe=True)
    track.push(b"\x11delta", 7 * 3000)
    assert [(await track.recv()).pts for _ in range(2)] == [18000, 21000]
    assert not track.broken
    assert track.sent == 2
    assert track.dropped == 6  # four pushed out, two broken
    # a frame that waited too long is dropped as one the sender never took
    track.push(b"\x11delta", 8 * 3000)
    clock.now += MAX_FRAME_AGE["video"] + 0.01
    track.push(b"\x10key", 9 * 3000, keyframe=True)
    assert (await track.recv()).pts == 27000
    assert track.dropped == 7
    assert track.sent == 3
