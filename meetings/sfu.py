"""The meeting's video room: a selective forwarding unit on aiortc.

Each participant has one peer connection to the server. On it they publish a
microphone, a camera and a screen (three receive-only transceivers on the server), and
they receive:

* the camera of every other participant while it is on (and a screen while it is
  shared), one send-only video transceiver each — a *video slot*;
* the few loudest other speakers, in :data:`AUDIO_SLOTS` send-only audio transceivers —
  *audio slots* whose source changes as the speakers change, so that the audio a large
  body costs is fixed per participant.

Nothing is decoded or encoded: encoded frames go from a publisher's receiver to the
subscribers' senders (:mod:`meetings.forwarding`). The server always makes the offer
(one side negotiates, so offers never cross); a slot freed by someone leaving is reused
for the next one to arrive, so renegotiation is needed only when a participant needs
more slots than they have. Which transceiver (``mid``) carries whom is told with each
offer and whenever it changes (``streams``).

A slot that starts forwarding a video source waits for a keyframe and asks the
publisher for one (PLI), at most once per :data:`KEYFRAME_INTERVAL`; keyframe requests
a subscriber's browser sends (PLI/FIR) reach the publisher the same way.

The room knows people by a *key* (``m<member id>`` or ``g<guest id>``); who may join,
and who must wait in the lobby, is decided by the caller
(:mod:`server.views.meeting_media`) from the meeting's roster. Moderation is enforced
here: a participant whose microphone or camera the chair turned off is not forwarded,
whatever their browser sends.

Messages to a participant's client (``send``), all ``{"type": "media", "op": ...}``:
``offer`` {sdp, mids}, ``streams`` {mids}, ``room`` {...}, ``speaking`` {keys},
``lobby`` (you wait), ``removed``, ``closed`` {reason}.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterFrame

from meetings.forwarding import (
    AUDIO_CLOCK,
    VIDEO_CLOCK,
    ForwardedTrack,
    ReceiverTap,
    is_vp8_keyframe,
    prepare_sender,
    tap_receiver,
)
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied

__all__ = [
    "AUDIO_SLOTS",
    "Identity",
    "MediaRoom",
    "Moderated",
    "Participant",
]

log = logging.getLogger("kvorum.sfu")

#: Audio slots per participant: how many other speakers each hears at once.
AUDIO_SLOTS = 3
#: The least time between two keyframe requests to one publisher.
KEYFRAME_INTERVAL = 0.25
#: How long the server waits for the browser's answer to its offer.
ANSWER_TIMEOUT = 20.0
#: How often the loudest speakers are chosen again.
SELECT_INTERVAL = 0.2
#: dBov (RFC 6464: 0 loudest, 127 silence) under which a packet counts as speech.
SPEECH_DBOV = 55
#: How long after their last speech a speaker keeps their audio slot.
HOLD_SECONDS = 1.5
#: How long after their last speech a participant is shown as speaking.
SPEAKING_SECONDS = 0.6

Send = Callable[[dict[str, Any]], Awaitable[None]]
Source = Literal["audio", "camera", "screen"]
Moderated = Literal["audio", "video"]
SOURCES: tuple[Source, ...] = ("audio", "camera", "screen")


def _codecs(kind: str, name: str) -> list[Any]:
    """The codec the room forwards, with RTX for video retransmissions."""
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    chosen = [c for c in capabilities if c.mimeType.lower() == f"{kind}/{name}"]
    if kind == "video":
        chosen += [c for c in capabilities if c.mimeType.lower() == "video/rtx"]
    return chosen


@dataclass(frozen=True)
class Identity:
    """Who a participant is, as the roster says."""

    key: str
    name: str
    member_id: int | None = None
    guest_id: int | None = None
    chair: bool = False
    secretary: bool = False

    @property
    def guest(self) -> bool:
        return self.guest_id is not None


class Publication:
    """One stream a participant sends: microphone, camera or screen."""

    def __init__(self, owner: Participant, source: Source, transceiver: RTCRtpTransceiver):
        self.owner = owner
        self.source = source
        self.kind = "audio" if source == "audio" else "video"
        self.transceiver = transceiver
        self.slots: set[Slot] = set()
        self.frames = 0
        self.last_keyframe_request = 0.0
        # audio: a smoothed loudness (127 − dBov) and the last time it was speech
        self.loudness = 0.0
        self.last_speech = 0.0
        self.losses = 0
        self.tap: ReceiverTap = tap_receiver(
            transceiver.receiver,
            self._on_frame,
            on_level=self._on_level if self.kind == "audio" else None,
            on_skip=self._on_loss if self.kind == "video" else None,
        )

    @property
    def allowed(self) -> bool:
        """Whether the room forwards it: the chair has not turned it off."""
        return self.kind not in self.owner.blocked

    def _on_frame(self, frame: JitterFrame) -> None:
        self.frames += 1
        if not self.allowed or not self.slots:
            return
        key = self.kind == "video" and is_vp8_keyframe(frame.data)
        for slot in tuple(self.slots):
            slot.feed(frame, key)

    def _on_loss(self) -> None:
        # Frames were lost for good: the ones after them refer to what is missing, so
        # every subscriber waits for the keyframe this asks for.
        self.losses += 1
        for slot in self.slots:
            slot.need_key = True
        self.request_keyframe()

    def _on_level(self, dbov: int, voice: bool) -> None:
        loudness = 127 - dbov
        self.loudness += 0.2 * (loudness - self.loudness)
        if dbov <= SPEECH_DBOV:
            self.last_speech = time.monotonic()

    def request_keyframe(self) -> None:
        """Ask the publisher's browser for a keyframe (PLI), at most so often."""
        now = time.monotonic()
        if now - self.last_keyframe_request < KEYFRAME_INTERVAL or self.tap.ssrc is None:
            return
        self.last_keyframe_request = now
        self.owner.room.keyframe_requests += 1
        receiver: RTCRtpReceiver = self.transceiver.receiver
        task = asyncio.ensure_future(receiver._send_rtcp_pli(self.tap.ssrc))
        self.owner.room.keep(task)


class Slot:
    """One stream the server sends a participant, and the publication it carries."""

    def __init__(self, subscriber: Participant, kind: str, transceiver: RTCRtpTransceiver):
        self.subscriber = subscriber
        self.kind = kind
        self.transceiver = transceiver
        track = transceiver.sender.track
        assert isinstance(track, ForwardedTrack)
        self.track = track
        self.source: Publication | None = None
        self.clock = VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK
        self.step = 3000 if kind == "video" else 960
        self.offset = 0
        self.last_ts: int | None = None
        self.last_at = 0.0
        self.rebase = True
        self.need_key = kind == "video"
        self.forwarded = 0
        prepare_sender(transceiver.sender, self._keyframe_wanted)

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid

    def attach(self, source: Publication | None) -> None:
        if source is self.source:
            return
        if self.source is not None:
            self.source.slots.discard(self)
        self.source = source
        self.track.clear()
        self.rebase = True
        if source is not None:
            source.slots.add(self)
            if self.kind == "video":
                self.need_key = True
                source.request_keyframe()

    def _keyframe_wanted(self) -> None:
        if self.source is not None:
            self.source.request_keyframe()

    def feed(self, frame: JitterFrame, keyframe: bool) -> None:
        if self.kind == "video":
            if self.subscriber.audio_only:
                self.need_key = True
                return
            if self.need_key:
                if not keyframe:
                    assert self.source is not None
                    self.source.request_keyframe()
                    return
                self.need_key = False
        now = time.monotonic()
        if self.rebase:
            if self.last_ts is None:
                self.offset = -frame.timestamp
            else:
                # continue the outgoing clock from where it was, by the time that passed
                gap = max(self.step, int((now - self.last_at) * self.clock))
                self.offset = self.last_ts + gap - frame.timestamp
            self.rebase = False
        timestamp = frame.timestamp + self.offset
        if self.last_ts is not None and timestamp <= self.last_ts:
            return  # a frame from before a switch
        self.last_ts = timestamp
        self.last_at = now
        if self.track.broken and not keyframe:
            # The track dropped a frame (the sender fell behind, or was not yet going):
            # it passes nothing until a keyframe, which the publisher is asked for.
            assert self.source is not None
            self.source.request_keyframe()
            return
        self.track.push(frame.data, timestamp, keyframe)
        self.forwarded += 1


class Participant:
    def __init__(self, room: MediaRoom, identity: Identity, send: Send) -> None:
        self.room = room
        self.identity = identity
        self.send = send
        self.pc = RTCPeerConnection(room.configuration)
        self.publications: dict[Source, Publication] = {}
        self.audio_slots: list[Slot] = []
        self.video_slots: list[Slot] = []
        # what the participant says their browser sends
        self.sending: dict[Source, bool] = {"audio": False, "camera": False, "screen": False}
        self.blocked: set[Moderated] = set()
        self.audio_only = False
        self.closed = False
        self._answer: asyncio.Future[None] | None = None
        self._dirty = False
        self._negotiating = False
        self.negotiations = 0

        for source in SOURCES:
            kind = "audio" if source == "audio" else "video"
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(room.codecs[kind])
            self.publications[source] = Publication(self, source, transceiver)
        for _ in range(AUDIO_SLOTS):
            self.audio_slots.append(self._add_slot("audio"))

        @self.pc.on("connectionstatechange")
        async def _state() -> None:
            if self.pc.connectionState in ("failed", "closed") and not self.closed:
                await room.drop(self.identity.key, "connection_lost", participant=self)

    @property
    def key(self) -> str:
        return self.identity.key

    def _add_slot(self, kind: str) -> Slot:
        transceiver = self.pc.addTransceiver(ForwardedTrack(kind), direction="sendonly")
        transceiver.setCodecPreferences(self.room.codecs[kind])
        return Slot(self, kind, transceiver)

    # --- what goes to this participant ----------------------------------------------------

    def wanted_video(self) -> list[Publication]:
        """The other participants' cameras that are on, and the screens being shared.

        A camera that is off gets no slot: an idle slot costs the server its share of
        every RTCP round and the subscriber's browser a receiver, for nothing."""
        wanted = []
        for other in self.room.participants.values():
            if other is self:
                continue
            for source in ("camera", "screen"):
                if other.sending[source]:
                    wanted.append(other.publications[source])
        return wanted

    def place_video(self) -> bool:
        """Give each wanted video a slot (keeping the ones it has); True if new slots
        were made and the connection must be renegotiated."""
        wanted = self.wanted_video()
        keep = set(wanted)
        placed = {s.source for s in self.video_slots if s.source in keep}
        for slot in self.video_slots:
            if slot.source is not None and slot.source not in keep:
                slot.attach(None)
        free = [s for s in self.video_slots if s.source is None]
        grew = False
        for publication in wanted:
            if publication in placed:
                continue
            if free:
                slot = free.pop(0)
            else:
                slot = self._add_slot("video")
                self.video_slots.append(slot)
                grew = True
            slot.attach(publication)
        return grew

    def place_audio(self, loudest: list[Publication]) -> None:
        chosen = [p for p in loudest if p.owner is not self][:AUDIO_SLOTS]
        current = {s.source for s in self.audio_slots}
        for slot in self.audio_slots:
            if slot.source is not None and slot.source not in chosen:
                slot.attach(None)
        free = [s for s in self.audio_slots if s.source is None]
        for publication in chosen:
            if publication not in current and free:
                free.pop(0).attach(publication)

    def mids(self) -> dict[str, dict[str, Any]]:
        """Which transceiver carries what, for the client."""
        out: dict[str, dict[str, Any]] = {}
        for source, publication in self.publications.items():
            if publication.transceiver.mid is not None:
                out[publication.transceiver.mid] = {"role": "publish", "source": source}
        for slot in self.audio_slots:
            if slot.mid is not None:
                owner = slot.source.owner.key if slot.source else None
                out[slot.mid] = {"role": "audio", "participant": owner}
        for slot in self.video_slots:
            if slot.mid is not None:
                src = slot.source
                out[slot.mid] = {
                    "role": "video",
                    "participant": src.owner.key if src else None,
                    "source": src.source if src else None,
                }
        return out

    # --- negotiation ----------------------------------------------------------------------

    async def negotiate(self) -> None:
        """Offer the current transceivers, and again while more changes came meanwhile.
        One negotiation at a time: offers never cross."""
        self._dirty = True
        if self._negotiating:
            return
        self._negotiating = True
        try:
            while self._dirty and not self.closed:
                self._dirty = False
                offer = await self.pc.createOffer()
                await self.pc.setLocalDescription(offer)
                self._answer = asyncio.get_running_loop().create_future()
                self.negotiations += 1
                await self.send(
                    {"op": "offer", "sdp": self.pc.localDescription.sdp, "mids": self.mids()}
                )
                await asyncio.wait_for(asyncio.shield(self._answer), ANSWER_TIMEOUT)
        except TimeoutError:
            await self.room.drop(self.key, "no_answer", participant=self)
        except (ConnectionError, RuntimeError):
            await self.room.drop(self.key, "connection_lost", participant=self)
        finally:
            self._negotiating = False
            self._answer = None

    @property
    def negotiating(self) -> bool:
        """Whether an offer of the room's is waiting for this participant's answer."""
        return self._negotiating

    def offer_again(self) -> None:
        """Have the negotiation in progress make one more offer once it is answered."""
        self._dirty = True

    async def answer(self, sdp: str) -> None:
        if self._answer is None or self._answer.done():
            raise Conflict("no offer is waiting for an answer", code="no_offer")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:  # aiortc raises ValueError, OperationError, …
            raise InvalidInput(f"sdp: the answer could not be applied: {exc}") from exc
        self._answer.set_result(None)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()
        for slot in self.audio_slots + self.video_slots:
            slot.attach(None)
            slot.track.stop()
        for publication in self.publications.values():
            for slot in tuple(publication.slots):
                slot.attach(None)
        with contextlib.suppress(Exception):
            await self.pc.close()


@dataclass
class Waiting:
    identity: Identity
    send: Send
    since: float = field(default_factory=time.monotonic)


class MediaRoom:
    """The video room of one meeting, in the process its media is pinned to."""

    def __init__(
        self,
        meeting_id: int,
        *,
        ice_servers: list[RTCIceServer] | None = None,
        on_change: Callable[[MediaRoom], None] | None = None,
    ) -> None:
        self.meeting_id = meeting_id
        # One transport for everything: with aiortc's default (one per kind) a video
        # transceiver after the first is never moved onto the bundle's transport.
        self.configuration = RTCConfiguration(
            iceServers=ice_servers or [], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        self.codecs = {"audio": _codecs("audio", "opus"), "video": _codecs("video", "vp8")}
        self.participants: dict[str, Participant] = {}
        self.lobby: dict[str, Waiting] = {}
        self.open = False
        self.admitted: set[str] = set()  # may come back without the lobby
        self.removed: set[str] = set()  # must be admitted again
        self.floor: str | None = None  # the key of whoever has the floor
        self.keyframe_requests = 0
        self.on_change = on_change
        self._tasks: set[asyncio.Future[Any]] = set()
        self._selector: asyncio.Task[None] | None = None
        self._speaking: list[str] = []
        self._loudest: list[Publication] = []

    def keep(self, task: asyncio.Future[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- arriving and leaving -------------------------------------------------------------

    async def join(self, identity: Identity, send: Send) -> str:
        """A participant asks to come in: ``"in"`` (an offer follows) or ``"lobby"``."""
        key = identity.key
        if identity.chair and not self.open:
            self.open = True
            # members waiting for the room to open come in with the chair
            for waiting in [w for w in self.lobby.values() if not w.identity.guest]:
                if waiting.identity.key not in self.removed:
                    self.admitted.add(waiting.identity.key)
        if identity.chair:
            self.admitted.add(key)
            self.removed.discard(key)
        elif self.open and not identity.guest and key not in self.removed:
            self.admitted.add(key)
        if key not in self.admitted:
            self.lobby[key] = Waiting(identity, send)
            await send({"op": "lobby", "open": self.open})
            self.changed()
            return "lobby"
        self.lobby.pop(key, None)
        await self._enter(identity, send)
        for waiting in [w for w in self.lobby.values() if w.identity.key in self.admitted]:
            del self.lobby[waiting.identity.key]
            await self._enter(waiting.identity, waiting.send)
        return "in"

    async def _enter(self, identity: Identity, send: Send) -> None:
        previous = self.participants.pop(identity.key, None)
        if previous is not None:  # the same person again, from another tab or a reconnect
            await previous.close()
            if previous.send != send:  # the page that rejoins knows its old media is gone
                await _quietly(previous.send({"op": "closed", "reason": "replaced"}))
        participant = Participant(self, identity, send)
        self.participants[identity.key] = participant
        self._start_selector()
        await self._replace_all()

    async def admit(self, actor: Identity, key: str) -> None:
        self._require_chair(actor)
        waiting = self.lobby.pop(key, None)
        if waiting is None:
            raise NotFound("no one with that key is waiting in the lobby")
        self.admitted.add(key)
        self.removed.discard(key)
        await self._enter(waiting.identity, waiting.send)

    async def remove(self, actor: Identity, key: str) -> None:
        """The chair sends someone out: their connection closes now, and they need to be
        admitted again to come back."""
        self._require_chair(actor)
        if key == actor.key:
            raise Conflict("the chair cannot remove themselves", code="conflict")
        self.admitted.discard(key)
        self.removed.add(key)
        waiting = self.lobby.pop(key, None)
        if waiting is not None:
            await _quietly(waiting.send({"op": "removed"}))
            self.changed()
            return
        participant = self.participants.pop(key, None)
        if participant is None:
            raise NotFound("no such participant in the room")
        await participant.close()
        await _quietly(participant.send({"op": "removed"}))
        await self._replace_all()

    async def leave(self, key: str, participant: Participant | None = None) -> None:
        """A participant's page went away (their meeting connection closed)."""
        if self.lobby.pop(key, None) is not None:
            self.changed()
        current = self.participants.get(key)
        if current is None or (participant is not None and current is not participant):
            return
        del self.participants[key]
        await current.close()
        await self._replace_all()

    async def drop(self, key: str, reason: str, *, participant: Participant) -> None:
        """The connection failed or stopped answering: close it and tell the client, which
        joins again."""
        if self.participants.get(key) is not participant:
            return
        await self.leave(key, participant)
        await _quietly(participant.send({"op": "closed", "reason": reason}))

    async def close(self) -> None:
        if self._selector is not None:
            self._selector.cancel()
        for participant in list(self.participants.values()):
            await participant.close()
        self.participants.clear()
        self.lobby.clear()
        for task in tuple(self._tasks):
            task.cancel()

    # --- signalling from a participant ----------------------------------------------------

    def participant(self, key: str) -> Participant:
        participant = self.participants.get(key)
        if participant is None:
            if key in self.lobby:
                raise PermissionDenied(
                    "you are waiting in the lobby: the chair has not admitted you yet"
                )
            raise Conflict("you are not in the video room: join it first", code="not_joined")
        return participant

    async def answer(self, key: str, sdp: str) -> None:
        await self.participant(key).answer(sdp)

    def report(self, key: str, *, audio: bool, camera: bool, screen: bool) -> None:
        """What the participant's browser says it is sending now."""
        participant = self.participant(key)
        if "audio" in participant.blocked and audio:
            raise PermissionDenied("the chair has turned your microphone off")
        if "video" in participant.blocked and (camera or screen):
            raise PermissionDenied("the chair has turned your video off")
        video_changed = participant.sending["camera"] != camera or (
            participant.sending["screen"] != screen
        )
        participant.sending.update({"audio": audio, "camera": camera, "screen": screen})
        if video_changed:
            self.keep(asyncio.ensure_future(self._replace_all()))
        else:
            self.changed()

    def weak_link(self, key: str, audio_only: bool) -> None:
        """The participant's link is weak: send them audio only (or video again)."""
        participant = self.participant(key)
        participant.audio_only = audio_only
        if not audio_only:
            for slot in participant.video_slots:
                if slot.source is not None:
                    slot.need_key = True
                    slot.source.request_keyframe()
        self.changed()

    # --- moderation -----------------------------------------------------------------------

    def mute(self, actor: Identity, key: str, what: Moderated) -> None:
        """The chair turns a participant's microphone or video off, at the server."""
        self._require_chair(actor)
        participant = self.participants.get(key)
        if participant is None:
            raise NotFound("no such participant in the room")
        participant.blocked.add(what)
        if what == "audio":
            participant.sending["audio"] = False
            self.changed()
        else:
            participant.sending["camera"] = participant.sending["screen"] = False
            self.keep(asyncio.ensure_future(self._replace_all()))

    def release(self, actor: Identity, key: str, what: Moderated) -> None:
        """The chair lets a participant turn their microphone or video on again."""
        self._require_chair(actor)
        participant = self.participants.get(key)
        if participant is None:
            raise NotFound("no such participant in the room")
        participant.blocked.discard(what)
        self.changed()

    def mute_all(self, actor: Identity) -> list[str]:
        """Every microphone off but the chair's and the speaker's."""
        self._require_chair(actor)
        muted = []
        for key, participant in self.participants.items():
            if key in (actor.key, self.floor):
                continue
            participant.blocked.add("audio")
            participant.sending["audio"] = False
            muted.append(key)
        self.changed()
        return muted

    def give_floor(self, key: str | None) -> None:
        """Whoever has the floor may speak: their microphone is released."""
        self.floor = key
        if key is not None and key in self.participants:
            self.participants[key].blocked.discard("audio")
        self.changed()

    @staticmethod
    def _require_chair(actor: Identity) -> None:
        if not actor.chair:
            raise PermissionDenied("only the chair of the meeting may")

    # --- the picture ----------------------------------------------------------------------

    def changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def state(self, viewer: str | None) -> dict[str, Any]:
        """The room as ``viewer`` is shown it (the lobby only to the chair)."""
        you = "in" if viewer in self.participants else "lobby" if viewer in self.lobby else "out"
        chair = any(p.identity.chair and p.key == viewer for p in self.participants.values())
        people = [
            {
                "key": p.key,
                "name": p.identity.name,
                "member": p.identity.member_id,
                "guest": p.identity.guest,
                "chair": p.identity.chair,
                "audio": p.sending["audio"],
                "camera": p.sending["camera"],
                "screen": p.sending["screen"],
                "blocked": sorted(p.blocked),
            }
            for p in sorted(self.participants.values(), key=lambda p: p.identity.name)
        ]
        out: dict[str, Any] = {
            "op": "room",
            "open": self.open,
            "you": you,
            "floor": self.floor,
            "participants": people,
            "lobby": len(self.lobby),
        }
        if chair:
            out["waiting"] = [
                {"key": w.identity.key, "name": w.identity.name, "guest": w.identity.guest}
                for w in sorted(self.lobby.values(), key=lambda w: w.since)
            ]
        if viewer in self.participants:
            out["mine"] = {
                "blocked": sorted(self.participants[viewer].blocked),
                "audio_only": self.participants[viewer].audio_only,
            }
        return out

    async def _replace_all(self) -> None:
        """Someone came or left, or a camera or screen went on or off: place the videos
        again, renegotiate where slots were added, and tell each client its streams."""
        for participant in list(self.participants.values()):
            if participant.closed:
                continue
            grew = participant.place_video()
            if grew or participant.negotiations == 0:
                self.keep(asyncio.ensure_future(participant.negotiate()))
            elif participant.pc.signalingState == "stable":
                await _quietly(participant.send({"op": "streams", "mids": participant.mids()}))
            else:
                participant.offer_again()
        self._select()
        self.changed()

    # --- the loudest speakers -------------------------------------------------------------

    def _start_selector(self) -> None:
        if self._selector is None or self._selector.done():
            self._selector = asyncio.ensure_future(self._select_forever())

    async def _select_forever(self) -> None:
        while self.participants:
            await asyncio.sleep(SELECT_INTERVAL)
            try:
                self._select()
            except Exception:
                log.exception("choosing the speakers failed", extra={"meeting": self.meeting_id})

    def _select(self) -> None:
        now = time.monotonic()
        audible = [
            p.publications["audio"]
            for p in self.participants.values()
            if p.publications["audio"].allowed
            and now - p.publications["audio"].last_speech < HOLD_SECONDS
        ]
        # whoever has the floor first, then by loudness; the ones already chosen keep
        # their place over a newcomer equally loud
        previous = set(self._loudest)
        audible.sort(
            key=lambda p: (p.owner.key != self.floor, -(p.loudness + (3 if p in previous else 0)))
        )
        self._loudest = audible[: AUDIO_SLOTS + 1]
        changed_mids = []
        for participant in self.participants.values():
            before = [s.source for s in participant.audio_slots]
            participant.place_audio(self._loudest)
            if before != [s.source for s in participant.audio_slots]:
                changed_mids.append(participant)
        for participant in changed_mids:
            if participant.pc.signalingState == "stable" and participant.negotiations:
                self.keep(
                    asyncio.ensure_future(
                        _later(participant.send, {"op": "streams", "mids": participant.mids()})
                    )
                )
        speaking = sorted(p.owner.key for p in audible if now - p.last_speech < SPEAKING_SECONDS)
        if speaking != self._speaking:
            self._speaking = speaking
            for participant in list(self.participants.values()):
                self.keep(
                    asyncio.ensure_future(
                        _later(participant.send, {"op": "speaking", "keys": speaking})
                    )
                )

    # --- numbers --------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        slots = [s for p in self.participants.values() for s in p.audio_slots + p.video_slots]
        return {
            "participants": len(self.participants),
            "lobby": len(self.lobby),
            "frames_in": sum(
                pub.frames for p in self.participants.values() for pub in p.publications.values()
            ),
            "frames_out": sum(s.forwarded for s in slots),
            "streams_out": sum(1 for s in slots if s.source is not None),
            "keyframe_requests": self.keyframe_requests,
            "losses": sum(
                pub.losses for p in self.participants.values() for pub in p.publications.values()
            ),
        }


async def _later(send: Send, message: dict[str, Any]) -> None:
    """Send from a task of its own: the coroutine is made only when the task runs, so a
    task cancelled before it starts (the room closing) leaves nothing unawaited."""
    await _quietly(send(message))


async def _quietly(coro: Awaitable[None]) -> None:
    """Send to a client that may have gone: a closed socket is not the room's problem."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        await coro
