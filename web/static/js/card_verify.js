// Checking a union card: read its QR code with the camera into the text field.
// Progressive enhancement: only where the browser has BarcodeDetector with QR support;
// everywhere else the page is a plain form to paste the card's text into.

const PREFIX = "KVC1.";
const SCAN_INTERVAL_MS = 250;

const panel = document.getElementById("card-verify");
const form = panel.querySelector("form");
const field = form.querySelector('textarea[name="card"]');
const scanButton = form.querySelector('[data-action="scan"]');
const stopButton = form.querySelector('[data-action="stop"]');
const scanner = form.querySelector('[data-role="scanner"]');
const video = form.querySelector('[data-role="video"]');
const message = form.querySelector('[data-role="scan-message"]');

let stream = null;
let timer = null;

async function qrSupported() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) {
    return false;
  }
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code");
  } catch {
    return false;
  }
}

function stop() {
  if (timer !== null) {
    clearTimeout(timer);
    timer = null;
  }
  if (stream !== null) {
    for (const track of stream.getTracks()) {
      track.stop();
    }
    stream = null;
  }
  video.srcObject = null;
  scanner.hidden = true;
  stopButton.hidden = true;
  scanButton.hidden = false;
}

async function start(detector) {
  message.textContent = "";
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment" },
      audio: false,
    });
  } catch (error) {
    message.textContent = panel.dataset.scanFailed.replace("{reason}", error.name);
    return;
  }
  video.srcObject = stream;
  scanner.hidden = false;
  scanButton.hidden = true;
  stopButton.hidden = false;
  // A refused or interrupted play() (autoplay policy, a slow camera) must not stop the
  // scan: the detector reads whatever frame the element holds.
  video.play().catch(() => {});

  const tick = async () => {
    if (stream === null) {
      return;
    }
    try {
      const codes = await detector.detect(video);
      const card = codes.map((code) => code.rawValue.trim()).find((v) => v.startsWith(PREFIX));
      if (card) {
        field.value = card;
        stop();
        form.requestSubmit();
        return;
      }
      if (codes.length > 0) {
        message.textContent = panel.dataset.scanNone;
      }
    } catch {
      // A frame that is not ready yet: try the next one.
    }
    timer = setTimeout(tick, SCAN_INTERVAL_MS);
  };
  tick();
}

if (await qrSupported()) {
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  scanButton.hidden = false;
  scanButton.addEventListener("click", () => start(detector));
  stopButton.addEventListener("click", stop);
  window.addEventListener("pagehide", stop);
}
