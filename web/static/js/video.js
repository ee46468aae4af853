// The meeting's video room in the browser: one RTCPeerConnection to the server's
// forwarding unit (meetings/sfu.py), signalled over the meeting's WebSocket, which
// room.js owns and hands us (its send function and the {"type": "media"} frames).
//
// The server always makes the offer; this page only answers. Which transceiver (mid)
// carries what is told with every offer and again by "streams" when a slot changes
// source without renegotiation:
//   {role: "publish", source: "audio" | "camera" | "screen"}  what this page sends;
//   {role: "audio", participant}                               one of the loudest others;
//   {role: "video", participant, source: "camera" | "screen"}  someone's camera or screen.
//
// For tests and diagnostics (no inline script; the CSP forbids it) the section carries
// data-status ("out" | "joining" | "lobby" | "in"), each tile data-key, data-video,
// data-speaking, data-hand, and window.kvorumVideo.stats() reads the receivers' stats.

const CAMERA = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 20, max: 24 } };
const CAMERA_MAX_BITRATE = 400_000;
const GATHER_MS = 2000;
const QUALITY_MS = 2000;
const FRAMES_MS = 1000;
// A weak link: this many poor readings in a row (or a low outgoing estimate) turns the
// room to audio only for this page.
const WEAK_READINGS = 3;
const WEAK_LOSS = 0.08;
const WEAK_RTT = 0.8; // seconds
const WEAK_OUTGOING = 150_000; // bits per second
const FAIR_LOSS = 0.02;
const FAIR_RTT = 0.3;
// After video is tried again, the link gets this long before it is judged weak again.
const WEAK_GRACE_MS = 10_000;
// The outgoing estimate starts low and climbs while the browser probes the link: it is
// only believed this long after the connection came up.
const ESTIMATE_WARMUP_MS = 15_000;
// Requests whose possible refusal is still told apart from room.js's own.
const PENDING_KEPT = 64;

function format(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  return words
    .slice(0, 2)
    .map((w) => w[0].toUpperCase())
    .join("");
}

function element(tag, className, textContent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (textContent !== undefined) node.textContent = textContent;
  return node;
}

const SVG = "http://www.w3.org/2000/svg";
// Small drawn icons (no icon font, no emoji: both may be missing on a member's computer).
const ICONS = {
  micOff: [
    ["rect", { x: 9, y: 2, width: 6, height: 12, rx: 3, fill: "currentColor" }],
    [
      "path",
      { d: "M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8 21h8", fill: "none", stroke: "currentColor", "stroke-width": 2 },
    ],
    ["path", { d: "M3.5 3.5l17 17", stroke: "currentColor", "stroke-width": 2.5, "stroke-linecap": "round" }],
  ],
  hand: [
    [
      "path",
      {
        d:
          "M7 12V5.5a1.5 1.5 0 0 1 3 0V11V3.5a1.5 1.5 0 0 1 3 0V11V4.5a1.5 1.5 0 0 1 3 0V12" +
          "V7.5a1.5 1.5 0 0 1 3 0V15a7 7 0 0 1-7 7h-.5a7 7 0 0 1-5.6-2.8L3.3 15.4" +
          "a1.5 1.5 0 0 1 2.4-1.8L7 15.3z",
        fill: "currentColor",
      },
    ],
  ],
};

function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const [tag, attributes] of ICONS[name]) {
    const shape = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) shape.setAttribute(key, String(value));
    svg.append(shape);
  }
  return svg;
}

function button(label, action, className = "btn btn-secondary btn-small") {
  const node = element("button", className, label);
  node.type = "button";
  node.dataset.videoAction = action;
  return node;
}

// Resolves once ICE gathering is complete, or after `ms` whatever it is: the server
// takes no trickled candidates, so the answer carries what was gathered.
function gathered(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    let timer = null;
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    timer = setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/**
 * The video panel of the room page.
 * @param {HTMLElement | null} section  the #video section (null: no panel, no-op)
 * @param {{send: (action: string, fields?: object) => number | undefined,
 *          roles: Set<string>, me: number}} options
 */
export function createVideoRoom(section, { send, roles, me }) {
  if (!section) return null;
  const text = JSON.parse(section.dataset.texts);
  const chair = roles.has("chair");
  // this page's key in the room: "m<member id>", or "g<guest id>" for an invited guest
  const myKey = section.dataset.key || (me ? `m${me}` : null);
  const part = (role) => section.querySelector(`[data-video-role="${role}"]`);
  const media = navigator.mediaDevices;
  const canShare = Boolean(media && typeof media.getDisplayMedia === "function");

  const v = {
    wanted: false, // the user is in the video room, or asked to be
    status: "out",
    config: { ice_servers: [] },
    pc: null,
    mids: {}, // mid -> role, as the server last said
    answered: false, // the current peer connection has answered an offer
    awaitingConfig: false, // a join was sent: what comes before its "config" is about the last one
    awaitingOffer: false, // … and a "closed" before its first offer too
    offers: Promise.resolve(),
    room: null, // the last "room" picture
    lobbyOpen: false,
    speaking: new Set(),
    hands: new Set(), // keys with a raised hand (room.js's floor queue)
    queueFloor: null, // who speaks by the meeting's floor queue
    mic: null,
    camera: null,
    screen: null,
    micOn: true,
    cameraOn: true,
    blocked: new Set(),
    weak: false, // we asked the server for audio only
    weakSince: 0,
    view: null, // "grid" | "speaker" | null: chosen automatically
    lastFloor: null,
    streams: new Map(), // mid -> MediaStream of its receiver's track
    sounds: new Map(), // mid -> <audio>
    tiles: new Map(), // tile key -> tile
    pending: new Map(), // request id -> action
    rejoinTimer: null,
    retry: 0,
    quality: { poor: 0, lost: 0, received: 0, timer: null, level: "", last: null, since: 0 },
    framesTimer: null,
    notice: "",
    joins: 0, // media_join sent, for diagnostics
  };

  // --- talking to the server ------------------------------------------------------------

  function request(action, fields = {}) {
    const id = send(action, fields);
    if (id !== undefined && id !== null) {
      v.pending.set(id, action);
      // acks are not handed to us: forget the oldest requests, whose answers came long ago
      while (v.pending.size > PENDING_KEPT) v.pending.delete(v.pending.keys().next().value);
    }
    return id;
  }

  function say(message) {
    v.notice = message || "";
    part("message").textContent = v.notice;
  }

  function setStatus(status) {
    v.status = status;
    section.dataset.status = status;
    draw();
  }

  // --- local media ----------------------------------------------------------------------------

  function chosen(role) {
    const select = part(role);
    return select && select.value ? select.value : null;
  }

  function micConstraints() {
    const id = chosen("mic-select");
    return id ? { deviceId: { ideal: id } } : true;
  }

  function cameraConstraints() {
    const id = chosen("camera-select");
    return id ? { ...CAMERA, deviceId: { ideal: id } } : { ...CAMERA };
  }

  async function capture(constraints) {
    try {
      return await media.getUserMedia(constraints);
    } catch {
      return null;
    }
  }

  // Whatever can be had: camera and microphone, one of them, or nothing (then this page
  // only watches and listens). Never throws: joining is never blocked by a device.
  async function acquire() {
    if (!media || typeof media.getUserMedia !== "function") return;
    const wantAudio = !v.mic;
    const wantVideo = !v.camera && v.cameraOn;
    if (!wantAudio && !wantVideo) return;
    let stream = await capture({
      audio: wantAudio ? micConstraints() : false,
      video: wantVideo ? cameraConstraints() : false,
    });
    if (!stream && wantAudio && wantVideo) {
      stream = (await capture({ audio: micConstraints() })) || (await capture({ video: cameraConstraints() }));
    }
    if (!stream) return;
    const audio = stream.getAudioTracks()[0];
    const video = stream.getVideoTracks()[0];
    if (audio) {
      v.mic = audio;
      audio.enabled = v.micOn && !v.blocked.has("audio");
    }
    if (video) {
      v.camera = video;
      video.addEventListener("ended", () => {
        if (v.camera === video) cameraOff();
      });
    }
    // Fills the pickers; not awaited, since Firefox lists devices only to a page that has
    // the focus, and joining must not wait for that.
    listDevices();
  }

  function stopLocal() {
    for (const track of [v.mic, v.camera, v.screen]) if (track) track.stop();
    v.mic = v.camera = v.screen = null;
  }

  async function listDevices() {
    if (!media || typeof media.enumerateDevices !== "function") return;
    let devices = [];
    try {
      devices = await media.enumerateDevices();
    } catch {
      return;
    }
    // Before the first permission the labels are empty: nothing useful to offer yet.
    if (!devices.some((d) => d.label)) return;
    fill(part("camera-select"), devices.filter((d) => d.kind === "videoinput"), v.camera, text.camera_n);
    fill(part("mic-select"), devices.filter((d) => d.kind === "audioinput"), v.mic, text.mic_n);
    part("devices").hidden = false;
  }

  function fill(select, devices, track, fallback) {
    if (!select) return;
    const current = (track && track.getSettings().deviceId) || select.value;
    select.replaceChildren(
      ...devices.map((d, n) => {
        const option = element("option", "", d.label || format(fallback, { n: n + 1 }));
        option.value = d.deviceId;
        option.selected = d.deviceId === current;
        return option;
      }),
    );
    if (!devices.length) {
      const none = element("option", "", text.no_device);
      none.value = "";
      select.append(none);
    }
    select.disabled = devices.length < 2;
  }

  function publisher(source) {
    if (!v.pc) return null;
    for (const t of v.pc.getTransceivers()) {
      const role = v.mids[t.mid];
      if (role && role.role === "publish" && role.source === source) return t;
    }
    return null;
  }

  // The track this page sends for a source now (null: nothing).
  function outgoing(source) {
    if (source === "audio") return v.mic;
    if (v.blocked.has("video")) return null;
    if (source === "camera") return v.cameraOn && !v.weak ? v.camera : null;
    return v.screen;
  }

  async function publish(source) {
    const t = publisher(source);
    if (!t) return;
    try {
      await t.sender.replaceTrack(outgoing(source));
    } catch {
      // the connection closed meanwhile
    }
    if (source === "camera") await limitCamera();
  }

  // Caps the camera's bitrate: a large body must fit on a modest uplink.
  async function limitCamera() {
    const t = publisher("camera");
    if (!t || !t.sender.track) return;
    try {
      const parameters = t.sender.getParameters();
      if (!parameters.encodings || !parameters.encodings.length) return;
      if (parameters.encodings[0].maxBitrate === CAMERA_MAX_BITRATE) return;
      parameters.encodings[0].maxBitrate = CAMERA_MAX_BITRATE;
      await t.sender.setParameters(parameters);
    } catch {
      // not every browser lets it be set before the first negotiation completes
    }
  }

  function report() {
    if (v.status !== "in" || !v.answered) return;
    request("media_state", {
      audio: Boolean(v.mic && v.micOn && !v.blocked.has("audio")),
      camera: Boolean(outgoing("camera")),
      screen: Boolean(outgoing("screen")),
    });
  }

  // --- the peer connection ------------------------------------------------------------------

  function makePeer() {
    const pc = new RTCPeerConnection({ iceServers: v.config.ice_servers || [], bundlePolicy: "max-bundle" });
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== v.pc) return;
      if (pc.connectionState === "connected") {
        v.retry = 0;
        if (!v.quality.since) v.quality.since = Date.now();
        if (v.notice === text.reconnecting) say("");
      }
      if (pc.connectionState === "failed" && v.wanted) {
        say(text.reconnecting);
        rejoin(0);
      }
    });
    v.answered = false;
    return pc;
  }

  function closePeer() {
    const pc = v.pc;
    v.pc = null;
    v.answered = false;
    v.mids = {};
    for (const sound of v.sounds.values()) sound.remove();
    v.sounds.clear();
    v.streams.clear();
    v.speaking.clear();
    if (pc) {
      try {
        pc.close();
      } catch {
        // already closed
      }
    }
    clearInterval(v.quality.timer);
    v.quality = { poor: 0, lost: 0, received: 0, timer: null, level: "", last: null, since: 0 };
    section.dataset.quality = "";
    part("quality").textContent = "";
  }

  function streamOf(mid) {
    return v.streams.get(mid) || null;
  }

  // Gives each receiving slot its stream, and each audio slot a hidden player.
  function attachReceivers() {
    if (!v.pc) return;
    for (const t of v.pc.getTransceivers()) {
      const role = v.mids[t.mid];
      if (!role || role.role === "publish" || !t.receiver.track) continue;
      if (!v.streams.has(t.mid)) v.streams.set(t.mid, new MediaStream([t.receiver.track]));
      if (role.role === "audio" && !v.sounds.has(t.mid)) {
        const sound = element("audio");
        sound.autoplay = true;
        sound.srcObject = v.streams.get(t.mid);
        part("audio").append(sound);
        sound.play().catch(() => {});
        v.sounds.set(t.mid, sound);
      }
    }
  }

  async function answerOffer(message) {
    if (!v.wanted) return;
    v.awaitingOffer = false;
    if (!v.pc) v.pc = makePeer();
    const pc = v.pc;
    try {
      await negotiate(pc, message);
    } catch {
      // a broken negotiation: start again with a new connection (unless one already is)
      if (pc === v.pc && v.wanted) rejoin(1000);
    }
  }

  async function negotiate(pc, message) {
    v.mids = message.mids || {};
    await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
    for (const t of pc.getTransceivers()) {
      const role = v.mids[t.mid];
      if (!role || t.currentDirection === "stopped") continue;
      if (role.role === "publish") {
        t.direction = "sendonly";
        await t.sender.replaceTrack(outgoing(role.source));
      } else {
        t.direction = "recvonly";
      }
    }
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc, GATHER_MS);
    if (pc !== v.pc) return; // replaced while gathering
    request("media_answer", { sdp: pc.localDescription.sdp });
    const first = !v.answered;
    v.answered = true;
    attachReceivers();
    await limitCamera();
    if (first) {
      if (v.status !== "in") setStatus("in");
      report();
      if (v.weak) request("media_weak", { audio_only: true });
      startMonitors();
    }
    draw();
  }

  // The user asks to enter: with the microphone and camera on, as far as they work.
  function join() {
    v.wanted = true;
    v.micOn = true;
    v.cameraOn = true;
    say("");
    setStatus("joining");
    acquire().then(() => {
      if (v.wanted) startJoin();
      else stopLocal(); // left while the devices were being opened
    });
  }

  function startJoin() {
    clearTimeout(v.rejoinTimer);
    v.rejoinTimer = null;
    closePeer();
    v.awaitingConfig = true;
    v.awaitingOffer = true;
    if (v.status !== "joining") setStatus("joining");
    // Sent when the socket is open; if not, room.js calls connected() once it is.
    if (request("media_join") !== undefined) v.joins += 1;
  }

  function rejoin(delay) {
    if (v.rejoinTimer) return;
    closePeer();
    if (v.status !== "joining") setStatus("joining");
    v.rejoinTimer = setTimeout(() => {
      v.rejoinTimer = null;
      if (v.wanted) startJoin();
    }, delay);
  }

  function leave() {
    request("media_leave");
    out("");
  }

  function out(message) {
    v.wanted = false;
    v.awaitingConfig = false;
    v.awaitingOffer = false;
    clearTimeout(v.rejoinTimer);
    v.rejoinTimer = null;
    closePeer();
    stopLocal();
    v.room = null;
    v.weak = false;
    section.dataset.weak = "no";
    v.blocked.clear();
    say(message);
    setStatus("out");
  }

  // --- controls ---------------------------------------------------------------------------

  function toggleMic() {
    if (!v.mic || v.blocked.has("audio")) return;
    v.micOn = !v.micOn;
    v.mic.enabled = v.micOn;
    report();
    draw();
  }

  async function cameraOff() {
    v.cameraOn = false;
    if (v.camera) v.camera.stop();
    v.camera = null;
    await publish("camera");
    report();
    draw();
  }

  async function cameraOn() {
    if (v.blocked.has("video")) return;
    v.cameraOn = true;
    if (!v.camera) {
      const stream = await capture({ video: cameraConstraints() });
      const track = stream && stream.getVideoTracks()[0];
      if (!track) {
        v.cameraOn = false;
        say(text.camera_failed);
        draw();
        return;
      }
      v.camera = track;
      track.addEventListener("ended", () => {
        if (v.camera === track) cameraOff();
      });
    }
    await publish("camera");
    report();
    draw();
  }

  async function startScreen() {
    if (!canShare || v.blocked.has("video") || v.screen) return;
    let stream;
    try {
      stream = await media.getDisplayMedia({ video: true, audio: false });
    } catch {
      return; // the user said no
    }
    const track = stream.getVideoTracks()[0];
    if (!track) return;
    v.screen = track;
    track.addEventListener("ended", () => {
      if (v.screen === track) stopScreen();
    });
    await publish("screen");
    report();
    draw();
  }

  async function stopScreen() {
    const track = v.screen;
    v.screen = null;
    if (track) track.stop();
    await publish("screen");
    report();
    draw();
  }

  async function replaceDevice(kind) {
    if (kind === "mic" && v.mic) {
      const stream = await capture({ audio: micConstraints() });
      const track = stream && stream.getAudioTracks()[0];
      if (!track) return;
      track.enabled = v.mic.enabled;
      v.mic.stop();
      v.mic = track;
      await publish("audio");
    } else if (kind === "camera" && v.camera) {
      const stream = await capture({ video: cameraConstraints() });
      const track = stream && stream.getVideoTracks()[0];
      if (!track) return;
      v.camera.stop();
      v.camera = track;
      track.addEventListener("ended", () => {
        if (v.camera === track) cameraOff();
      });
      await publish("camera");
    }
    draw();
  }

  // The chair turned something off (or allowed it again).
  async function moderate(blocked) {
    const before = v.blocked;
    v.blocked = new Set(blocked);
    if (v.blocked.has("audio") && !before.has("audio")) {
      v.micOn = false;
      if (v.mic) v.mic.enabled = false;
    }
    if (v.blocked.has("video") && !before.has("video")) {
      v.cameraOn = false;
      if (v.camera) v.camera.stop();
      v.camera = null;
      if (v.screen) v.screen.stop();
      v.screen = null;
      await publish("camera");
      await publish("screen");
    }
  }

  // --- the weak link ------------------------------------------------------------------------

  async function weaken() {
    v.weak = true;
    section.dataset.weak = "yes";
    await publish("camera");
    report();
    request("media_weak", { audio_only: true });
    draw();
  }

  async function tryVideo() {
    v.weak = false;
    section.dataset.weak = "no";
    v.weakSince = Date.now();
    v.quality.poor = 0;
    request("media_weak", { audio_only: false });
    await publish("camera");
    report();
    draw();
  }

  async function measure() {
    const pc = v.pc;
    if (!pc || !v.answered) return;
    let readings;
    try {
      readings = await pc.getStats();
    } catch {
      return;
    }
    if (pc !== v.pc) return;
    let selected = null;
    const pairs = [];
    let lost = 0;
    let received = 0;
    let limitation; // why the video encoder holds back, where the browser says
    readings.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) selected = s.selectedCandidatePairId;
      else if (s.type === "candidate-pair") pairs.push(s);
      else if (s.type === "inbound-rtp") {
        lost += Math.max(0, s.packetsLost || 0);
        received += s.packetsReceived || 0;
      } else if (s.type === "outbound-rtp" && s.kind === "video" && s.qualityLimitationReason) {
        if (limitation !== "bandwidth") limitation = s.qualityLimitationReason;
      }
    });
    const pair =
      pairs.find((p) => p.id === selected) ||
      pairs.find((p) => p.selected) ||
      pairs.find((p) => p.nominated && p.state === "succeeded");
    const rtt = pair && typeof pair.currentRoundTripTime === "number" ? pair.currentRoundTripTime : null;
    const outgoingRate =
      pair && typeof pair.availableOutgoingBitrate === "number" ? pair.availableOutgoingBitrate : null;
    const q = v.quality;
    const newLost = lost - q.lost;
    const newReceived = received - q.received;
    q.lost = lost;
    q.received = received;
    const loss = newLost + newReceived > 0 ? newLost / (newLost + newReceived) : 0;
    // A low estimate alone may only mean that little is sent (a still picture) or that
    // the link is still being probed: it counts once warmed up, and when the encoder says
    // bandwidth holds it back (or where the browser does not say).
    const sendingVideo = Boolean(outgoing("camera"));
    const warm = q.since > 0 && Date.now() - q.since > ESTIMATE_WARMUP_MS;
    const starved =
      sendingVideo &&
      warm &&
      outgoingRate !== null &&
      outgoingRate < WEAK_OUTGOING &&
      (limitation === undefined || limitation === "bandwidth");
    let level = "good";
    if (loss > WEAK_LOSS || (rtt !== null && rtt > WEAK_RTT) || starved) level = "poor";
    else if (loss > FAIR_LOSS || (rtt !== null && rtt > FAIR_RTT)) level = "fair";
    if (pc.connectionState === "disconnected") level = "poor";
    q.last = { rtt, loss, outgoing: outgoingRate, limitation: limitation || null, level };
    q.poor = level === "poor" ? q.poor + 1 : 0;
    if (level !== q.level) {
      q.level = level;
      section.dataset.quality = level;
      part("quality").textContent = text[`quality_${level}`];
    }
    if (!v.weak && q.poor >= WEAK_READINGS && Date.now() - v.weakSince > WEAK_GRACE_MS) {
      q.poor = 0;
      await weaken();
    }
  }

  // Marks each tile whose video is showing moving pictures.
  function watchFrames() {
    const now = performance.now();
    for (const tile of v.tiles.values()) {
      const video = tile.video;
      const advanced = video.currentTime !== tile.lastTime && video.videoWidth > 0;
      tile.lastTime = video.currentTime;
      if (advanced) tile.frameAt = now;
      const playing = tile.showing && now - tile.frameAt < 2500;
      const mark = playing ? "yes" : "no";
      if (tile.node.dataset.video !== mark) {
        tile.node.dataset.video = mark;
        drawTile(tile);
      }
    }
  }

  function startMonitors() {
    clearInterval(v.quality.timer);
    v.quality.timer = setInterval(measure, QUALITY_MS);
    if (!v.framesTimer) v.framesTimer = setInterval(watchFrames, FRAMES_MS);
  }

  // --- messages from the server ---------------------------------------------------------

  function onRoom(room) {
    v.room = room;
    v.lobbyOpen = room.open;
    if (room.you === "lobby") setStatus("lobby");
    else if (room.you === "in" && v.answered) setStatus("in");
    const blocked = (room.mine && room.mine.blocked) || [];
    const changed = blocked.length !== v.blocked.size || blocked.some((b) => !v.blocked.has(b));
    if (changed) moderate(blocked).then(draw);
    if (room.floor !== v.lastFloor) {
      v.lastFloor = room.floor;
      if (room.floor) v.view = null; // someone has the floor: the speaker view, again
    }
    draw();
  }

  function message(frame) {
    if (frame.op === "config") {
      v.config = frame;
      v.awaitingConfig = false;
      return;
    }
    // An offer or a stream map sent before the server took our last join belongs to the
    // connection that join replaced.
    if (v.awaitingConfig && (frame.op === "offer" || frame.op === "streams")) return;
    switch (frame.op) {
      case "offer":
        v.offers = v.offers.then(() => answerOffer(frame));
        break;
      case "streams":
        v.mids = frame.mids || {};
        attachReceivers();
        draw();
        break;
      case "room":
        onRoom(frame);
        break;
      case "speaking":
        v.speaking = new Set(frame.keys || []);
        drawMarks();
        break;
      case "lobby":
        v.lobbyOpen = frame.open;
        setStatus("lobby");
        break;
      case "removed":
        out(text.removed);
        break;
      case "closed":
        if (v.awaitingOffer) break; // the session our last join replaced
        if (frame.reason === "replaced") {
          out(text.replaced);
        } else if (v.wanted) {
          say(text.reconnecting);
          rejoin(Math.min(10_000, 1000 * 2 ** v.retry++));
        }
        break;
      default:
        break;
    }
  }

  // An error frame: ours (true, shown here) or room.js's to show.
  function error(frame) {
    const action = v.pending.get(frame.id);
    if (!action) return false;
    v.pending.delete(frame.id);
    if (action === "media_join") {
      out(format(text.error, { detail: frame.message || frame.detail || frame.code }));
    } else if (action === "media_state" && frame.code === "forbidden") {
      // the chair turned it off meanwhile: the room's next picture says so
    } else if (action !== "media_answer") {
      // a refused answer is followed by the server closing the media: it rejoins then
      say(format(text.error, { detail: frame.message || frame.detail || frame.code }));
    }
    return true;
  }

  // --- drawing -----------------------------------------------------------------------------------

  function people() {
    return (v.room && v.status === "in" && v.room.participants) || [];
  }

  function floorKey() {
    return (v.room && v.room.floor) || v.queueFloor;
  }

  function videoMid(key, source) {
    for (const [mid, role] of Object.entries(v.mids)) {
      if (role.role === "video" && role.participant === key && role.source === source) return mid;
    }
    return null;
  }

  function makeTile(key) {
    const node = element("figure", "tile");
    node.dataset.key = key;
    node.dataset.video = "no";
    node.dataset.speaking = "no";
    node.dataset.hand = "no";
    const video = element("video", "tile-video");
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // the sound comes through the audio slots
    const face = element("div", "tile-initials");
    face.setAttribute("aria-hidden", "true");
    const caption = element("figcaption", "tile-caption");
    const name = element("span", "tile-name");
    const micOff = element("span", "tile-mic-off");
    micOff.append(icon("micOff"));
    micOff.setAttribute("role", "img");
    micOff.setAttribute("aria-label", text.mic_off_mark);
    micOff.title = text.mic_off_mark;
    const hand = element("span", "tile-hand");
    hand.append(icon("hand"));
    hand.setAttribute("role", "img");
    hand.setAttribute("aria-label", text.hand_mark);
    hand.title = text.hand_mark;
    caption.append(name, micOff, hand);
    const actions = element("div", "tile-actions");
    node.append(video, face, caption, actions);
    const tile = { key, node, video, face, name, micOff, hand, actions, showing: false, frameAt: 0, lastTime: -1 };
    video.addEventListener("resize", () => {
      tile.frameAt = performance.now();
    });
    if (typeof video.requestVideoFrameCallback === "function") {
      const onFrame = () => {
        tile.frameAt = performance.now();
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
    return tile;
  }

  function tileFor(key) {
    let tile = v.tiles.get(key);
    if (!tile) {
      tile = makeTile(key);
      v.tiles.set(key, tile);
    }
    return tile;
  }

  // A stream of one local track for a tile, made again only when the track changes.
  function localStream(tile, track) {
    if (!tile.localStream || tile.localStream.getVideoTracks()[0] !== track) {
      tile.localStream = new MediaStream([track]);
    }
    return tile.localStream;
  }

  function setStream(tile, stream) {
    if (tile.video.srcObject !== stream) {
      tile.video.srcObject = stream;
      tile.frameAt = 0;
      if (stream) tile.video.play().catch(() => {});
    }
  }

  function tileActions(tile, person) {
    if (!chair || person.key === myKey || tile.screen) {
      tile.actions.replaceChildren();
      return;
    }
    const blocked = new Set(person.blocked || []);
    const signature = [...blocked].sort().join(",");
    if (tile.actions.dataset.signature === signature && tile.actions.childElementCount) return;
    tile.actions.dataset.signature = signature;
    const labelled = (label, action) => {
      const b = button(label, action);
      b.setAttribute("aria-label", `${label}: ${person.name}`);
      b.addEventListener("click", () => {
        const [verb, what] = action.split("-");
        if (verb === "remove") request("media_remove", { participant: person.key });
        else request(`media_${verb}`, { participant: person.key, what });
      });
      return b;
    };
    tile.actions.replaceChildren(
      blocked.has("audio")
        ? labelled(text.release_audio, "release-audio")
        : labelled(text.mute_audio, "mute-audio"),
      blocked.has("video")
        ? labelled(text.release_video, "release-video")
        : labelled(text.mute_video, "mute-video"),
      labelled(text.remove, "remove"),
    );
  }

  function drawTile(tile) {
    const showing = tile.showing && tile.node.dataset.video === "yes";
    tile.video.hidden = !tile.showing;
    tile.face.hidden = showing;
    tile.node.classList.toggle("tile-has-video", showing);
  }

  function drawTiles() {
    const list = part("tiles");
    // this page's own preview first, then the others as the server orders them
    const everyone = [...people()].sort((a, b) => (b.key === myKey) - (a.key === myKey));
    const wanted = [];
    for (const person of everyone) {
      const self = person.key === myKey;
      const tile = tileFor(person.key);
      const blocked = new Set(person.blocked || []);
      tile.person = person;
      tile.name.textContent = self ? format(text.you, { name: person.name }) : person.name;
      tile.face.textContent = initials(person.name);
      let stream = null;
      if (self) {
        // the preview shows what is sent (nothing while weak or turned off)
        if (v.camera && outgoing("camera")) stream = localStream(tile, v.camera);
      } else {
        const mid = videoMid(person.key, "camera");
        stream = mid ? streamOf(mid) : null;
      }
      setStream(tile, stream);
      tile.showing = Boolean(stream) && (self || (person.camera && !blocked.has("video")));
      tile.muted = self ? !(v.mic && v.micOn && !v.blocked.has("audio")) : !person.audio || blocked.has("audio");
      tile.node.classList.toggle("tile-self", self);
      tileActions(tile, person);
      drawTile(tile);
      wanted.push(tile);

      // a shared screen: its own tile, beside its owner's
      const screenKey = `${person.key}:screen`;
      let screenStream = null;
      if (self && v.screen) {
        screenStream = localStream(tileFor(screenKey), v.screen);
      } else if (!self && person.screen) {
        const mid = videoMid(person.key, "screen");
        screenStream = mid ? streamOf(mid) : null;
      }
      if (screenStream) {
        const screen = tileFor(screenKey);
        screen.screen = true;
        screen.person = person;
        screen.node.classList.add("tile-screen");
        screen.node.dataset.source = "screen";
        screen.name.textContent = format(text.screen_of, { name: person.name });
        screen.face.textContent = initials(person.name);
        setStream(screen, screenStream);
        screen.showing = true;
        screen.muted = false;
        tileActions(screen, person);
        drawTile(screen);
        wanted.push(screen);
      }
    }
    const keep = new Set(wanted.map((t) => t.key));
    for (const [key, tile] of v.tiles) {
      if (!keep.has(key)) {
        tile.video.srcObject = null;
        tile.node.remove();
        v.tiles.delete(key);
      }
    }
    // in place, so that playing videos are not moved needlessly
    wanted.forEach((tile, n) => {
      if (list.children[n] !== tile.node) list.insertBefore(tile.node, list.children[n] || null);
    });
    const count = wanted.length;
    list.dataset.size = count <= 2 ? "few" : count <= 4 ? "some" : count <= 9 ? "many" : count <= 16 ? "lots" : "crowd";

    // the speaker view: a shared screen, or whoever has the floor, large
    const screen = wanted.find((t) => t.screen);
    const floor = floorKey();
    const auto = screen || (floor && v.tiles.has(floor)) ? "speaker" : "grid";
    const view = v.view || auto;
    list.dataset.view = view;
    section.dataset.view = view;
    let main = null;
    if (view === "speaker") {
      main =
        screen ||
        (floor && v.tiles.get(floor)) ||
        wanted.find((t) => v.speaking.has(t.key) && t.key !== myKey) ||
        wanted.find((t) => t.key !== myKey) ||
        wanted[0] ||
        null;
    }
    for (const tile of wanted) tile.node.classList.toggle("tile-main", tile === main);
    const viewButton = section.querySelector("[data-video-action=view]");
    viewButton.textContent = view === "speaker" ? text.view_grid : text.view_speaker;
    viewButton.dataset.view = view;
    drawMarks();
  }

  function drawMarks() {
    for (const tile of v.tiles.values()) {
      const key = tile.screen ? null : tile.key;
      tile.node.dataset.speaking = key && v.speaking.has(key) ? "yes" : "no";
      tile.node.dataset.hand = key && v.hands.has(key) ? "yes" : "no";
      tile.node.dataset.floor = key && key === floorKey() ? "yes" : "no";
      tile.hand.hidden = tile.node.dataset.hand !== "yes";
      tile.micOff.hidden = tile.screen || !tile.muted;
    }
  }

  function drawChair() {
    const panel = part("chair");
    if (!panel) return;
    panel.hidden = !chair || v.status !== "in";
    const waiting = (v.room && v.room.waiting) || [];
    part("waiting-title").hidden = !waiting.length;
    part("waiting").replaceChildren(
      ...waiting.map((w) => {
        const li = element("li", "", w.guest ? format(text.guest, { name: w.name }) : w.name);
        li.dataset.key = w.key;
        const admit = button(text.admit, "admit", "btn btn-primary btn-small");
        admit.setAttribute("aria-label", `${text.admit}: ${w.name}`);
        admit.addEventListener("click", () => request("media_admit", { participant: w.key }));
        li.append(" ", admit);
        return li;
      }),
    );
  }

  function draw() {
    const status = v.status;
    const inside = status === "in";
    part("setup").hidden = status !== "out";
    const join = section.querySelector("[data-video-action=join]");
    join.textContent = v.notice === text.removed ? text.ask_again : text.join;
    part("controls").hidden = !(inside || status === "joining" || status === "lobby");
    for (const role of ["mic", "camera", "screen", "view"]) {
      section.querySelector(`[data-video-action="${role}"]`).hidden = !inside;
    }
    part("lobby").hidden = status !== "lobby";
    part("lobby-text").textContent = v.lobbyOpen ? text.lobby_open : text.lobby_closed;

    const mic = section.querySelector("[data-video-action=mic]");
    const micBlocked = v.blocked.has("audio");
    const micLive = Boolean(v.mic && v.micOn && !micBlocked);
    mic.textContent = micLive ? text.mic_mute : text.mic_unmute;
    mic.disabled = !v.mic || micBlocked;
    mic.dataset.state = micLive ? "on" : "off";

    const camera = section.querySelector("[data-video-action=camera]");
    const videoBlocked = v.blocked.has("video");
    const cameraLive = Boolean(v.camera && v.cameraOn && !videoBlocked);
    camera.textContent = cameraLive ? text.camera_off : text.camera_on;
    camera.disabled = videoBlocked;
    camera.dataset.state = cameraLive ? "on" : "off";

    const screen = section.querySelector("[data-video-action=screen]");
    screen.hidden = !inside || !canShare;
    screen.textContent = v.screen ? text.screen_stop : text.screen_start;
    screen.disabled = videoBlocked;

    part("blocked-audio").hidden = !(inside && micBlocked);
    part("blocked-video").hidden = !(inside && videoBlocked);
    part("weak").hidden = !(inside && v.weak);
    let note = "";
    if (inside && !v.mic && !v.camera && v.cameraOn) note = text.no_media;
    else if (inside && !v.camera && v.cameraOn && !videoBlocked) note = text.no_camera;
    else if (inside && !v.mic) note = text.no_mic;
    part("local-note").textContent = note;
    part("local-note").hidden = !note;
    part("stage").hidden = !inside;
    drawChair();
    drawTiles();
  }

  // --- wiring ------------------------------------------------------------------------------------

  section.querySelector("[data-video-action=join]").addEventListener("click", join);
  section.querySelector("[data-video-action=leave]").addEventListener("click", leave);
  section.querySelector("[data-video-action=mic]").addEventListener("click", toggleMic);
  section.querySelector("[data-video-action=camera]").addEventListener("click", () => {
    if (v.camera && v.cameraOn) cameraOff();
    else cameraOn();
  });
  section.querySelector("[data-video-action=screen]").addEventListener("click", () => {
    if (v.screen) stopScreen();
    else startScreen();
  });
  section.querySelector("[data-video-action=view]").addEventListener("click", () => {
    const current = section.dataset.view;
    v.view = current === "speaker" ? "grid" : "speaker";
    draw();
  });
  section.querySelector("[data-video-action=try-video]").addEventListener("click", tryVideo);
  section.querySelector("[data-video-action=mute-all]")?.addEventListener("click", () => request("media_mute_all"));
  part("camera-select").addEventListener("change", () => replaceDevice("camera"));
  part("mic-select").addEventListener("change", () => replaceDevice("mic"));
  media?.addEventListener?.("devicechange", () => listDevices());
  listDevices();
  draw();

  // Read by the browser tests (and handy when diagnosing a member's connection).
  window.kvorumVideo = {
    status: () => v.status,
    async stats() {
      const out = {
        status: v.status,
        joins: v.joins,
        weak: v.weak,
        quality: v.quality.last,
        speaking: [...v.speaking],
        video: [],
        audio: [],
        sent: [],
      };
      const pc = v.pc;
      if (!pc) return out;
      for (const t of pc.getTransceivers()) {
        const role = v.mids[t.mid];
        if (!role) continue;
        let readings;
        try {
          readings = role.role === "publish" ? await t.sender.getStats() : await t.receiver.getStats();
        } catch {
          continue;
        }
        readings.forEach((s) => {
          if (s.type === "inbound-rtp" && role.role === "video") {
            out.video.push({
              mid: t.mid,
              participant: role.participant,
              source: role.source,
              framesDecoded: s.framesDecoded || 0,
              framesReceived: s.framesReceived || 0,
              packetsReceived: s.packetsReceived || 0,
            });
          } else if (s.type === "inbound-rtp" && role.role === "audio") {
            out.audio.push({
              mid: t.mid,
              participant: role.participant,
              packetsReceived: s.packetsReceived || 0,
              totalSamplesReceived: s.totalSamplesReceived || 0,
            });
          } else if (s.type === "outbound-rtp" && role.role === "publish") {
            out.sent.push({
              mid: t.mid,
              source: role.source,
              packetsSent: s.packetsSent || 0,
              framesEncoded: s.framesEncoded || 0,
            });
          }
        });
      }
      return out;
    },
  };

  return {
    message,
    error,
    // The meeting closed: its video ends for everyone and the panel goes.
    closed() {
      if (v.wanted || v.status !== "out") leave();
      section.hidden = true;
    },
    // room.js's socket (re)connected and said hello: a page in the video room joins again.
    connected() {
      if (v.wanted && v.status !== "out") {
        say("");
        startJoin();
      }
    },
    // room.js's socket closed: the server drops this page's media with it.
    disconnected() {
      if (!v.wanted) return;
      clearTimeout(v.rejoinTimer);
      v.rejoinTimer = null;
      closePeer();
      v.awaitingConfig = false;
      v.awaitingOffer = false;
      say(text.reconnecting);
      setStatus("joining");
    },
    // room.js's floor queue: raised hands, and who speaks.
    floorQueue(floor) {
      v.hands = new Set(floor.filter((r) => r.state === "waiting").map((r) => `m${r.member}`));
      const speaker = floor.find((r) => r.state === "speaking");
      const key = speaker ? `m${speaker.member}` : null;
      if (key !== v.queueFloor) {
        v.queueFloor = key;
        if (key) v.view = null;
        drawTiles();
      } else {
        drawMarks();
      }
    },
  };
}
