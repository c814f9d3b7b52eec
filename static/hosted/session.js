// Hosted verification page. Served by the portal (no CDN, no inline script: the page's CSP forbids both).
// The server decides everything: it issues each prompt, checks order and timing, and refuses what is
// late, repeated, reordered or extra. This script only shows the prompt and sends frames.
"use strict";

(function () {
  const app = document.getElementById("app");
  if (!app || !app.dataset.base) return;
  const base = app.dataset.base;
  const burst = parseInt(app.dataset.burst || "3", 10);
  const needsDocument = app.dataset.needsDocument === "1";
  let hasDocument = app.dataset.hasDocument === "1";
  const redirect = app.dataset.redirect || "";
  const HOLD_MS = 1500; // time to follow the instruction before the burst starts
  const BURST_GAP_MS = 250;

  const statusBox = document.getElementById("status");
  let stream = null;
  let busy = false;

  function text(name) {
    const el = document.querySelector('#texts [data-text="' + name + '"]');
    return el ? el.textContent : name;
  }
  function promptText(parameter) {
    const el = document.querySelector('#texts [data-parameter="' + parameter + '"]');
    return el ? el.textContent : parameter;
  }
  function say(message, isError) {
    statusBox.textContent = message || "";
    statusBox.classList.toggle("error", Boolean(isError));
  }
  function show(id) {
    document.querySelectorAll(".screen").forEach(function (s) { s.hidden = s.id !== id; });
    const heading = document.querySelector("#" + id + " h1");
    if (heading) heading.focus();
  }
  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  async function post(path, body) {
    let response;
    try {
      response = await fetch(base + path, { method: "POST", body: body || new FormData(), credentials: "same-origin" });
    } catch (err) {
      return { ok: false, status: 0, data: { code: "network", detail: text("network") } };
    }
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    return { ok: response.ok, status: response.status, data: data };
  }

  // --- camera ---------------------------------------------------------------------------------------
  async function openCamera(facingMode) {
    if (!window.isSecureContext) { show("screen-insecure"); return false; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { show("screen-nocamera"); return false; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: facingMode, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false,
      });
    } catch (err) {
      const name = err && err.name;
      if (name === "NotAllowedError" || name === "SecurityError") show("screen-denied");
      else show("screen-nocamera");
      return false;
    }
    return true;
  }
  async function attach(video) {
    video.srcObject = stream;
    await video.play().catch(function () {});
    for (let i = 0; i < 50 && !video.videoWidth; i++) await sleep(100);
  }
  function grab(video) {
    // The frame as the camera sees it (never the mirrored preview): the server reads "left" as the
    // applicant's own left in the un-mirrored image.
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.92); });
  }

  // --- steps ----------------------------------------------------------------------------------------
  async function afterConsent() {
    if (needsDocument && !hasDocument) {
      if (!(await openCamera("environment"))) return;
      show("screen-document");
      await attach(document.getElementById("document-video"));
      return;
    }
    await toChallenge();
  }

  async function toChallenge() {
    if (!(await openCamera("user"))) return;
    show("screen-challenge");
    await attach(document.getElementById("face-video"));
  }

  async function sendDocument(blob) {
    if (busy || !blob) return;
    busy = true;
    say(text("sending"));
    const form = new FormData();
    form.append("image", blob, "document.jpg");
    const result = await post("document", form);
    busy = false;
    if (!result.ok && result.data.code !== "repeated_document") { say(result.data.detail, true); return; }
    hasDocument = true;
    say(text("document-received"));
    await toChallenge();
  }

  function progress(done, total) {
    const bar = document.getElementById("progress");
    bar.max = total || 1;
    bar.value = done;
    document.getElementById("progress-text").textContent = total ? done + " / " + total : "";
  }

  async function runChallenge() {
    if (busy) return;
    busy = true;
    const startButton = document.getElementById("challenge-start");
    startButton.hidden = true;
    say("");
    let state = await post("start");
    if (!state.ok) { return stopWith(state.data.detail); }
    const video = document.getElementById("face-video");
    let data = state.data;
    while (data.prompt) {
      const prompt = data.prompt;
      const total = data.total;
      progress(prompt.index, total);
      document.getElementById("prompt").textContent =
        text("step") + " " + (prompt.index + 1) + " " + text("of") + " " + total + ": " + promptText(prompt.parameter);
      await sleep(HOLD_MS);
      for (let b = prompt.received; b < prompt.burst; b++) {
        const blob = await grab(video);
        const form = new FormData();
        form.append("prompt", String(prompt.index));
        form.append("burst", String(b));
        form.append("captured_at", String(Date.now()));
        form.append("image", blob, "frame.jpg");
        const result = await post("frames", form);
        if (!result.ok) { return stopWith(result.data.detail); }
        data = result.data;
        if (b + 1 < prompt.burst) await sleep(BURST_GAP_MS);
      }
    }
    progress(data.total, data.total);
    document.getElementById("prompt").textContent = text("sending");
    const done = await post("submit");
    if (!done.ok) { return stopWith(done.data.detail); }
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    show("screen-done");
    if (done.data.redirect) setTimeout(function () { window.location.assign(done.data.redirect); }, 4000);
  }

  function stopWith(message) {
    busy = false;
    say(message, true);
    document.getElementById("prompt").textContent = "";
    const startButton = document.getElementById("challenge-start");
    startButton.textContent = text("again");
    startButton.hidden = false;
    startButton.focus();
  }

  // --- wiring ---------------------------------------------------------------------------------------
  document.getElementById("consent-accept").addEventListener("click", async function () {
    if (busy) return;
    busy = true;
    const form = new FormData();
    form.append("version", app.dataset.consentVersion);
    const result = await post("consent", form);
    busy = false;
    if (!result.ok) { say(result.data.detail, true); return; }
    say("");
    await afterConsent();
  });
  document.querySelectorAll('[data-action="retry-camera"]').forEach(function (button) {
    button.addEventListener("click", afterConsent);
  });
  document.querySelectorAll('[data-action="document-file"]').forEach(function (input) {
    input.addEventListener("change", function () { if (input.files && input.files[0]) sendDocument(input.files[0]); });
  });
  document.getElementById("document-capture").addEventListener("click", async function () {
    sendDocument(await grab(document.getElementById("document-video")));
  });
  document.getElementById("challenge-start").addEventListener("click", runChallenge);

  if (app.dataset.consented === "1") afterConsent();
  else show("screen-consent");
})();
