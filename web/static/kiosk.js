/*
 * Front-desk kiosk: the same engine as the widget (assistant-core.js), for a touch screen
 * in a waiting room.
 *
 * Privacy first: nothing is written to localStorage, sessionStorage, cookies or IndexedDB.
 * After `idleSeconds` without a touch (default 90; ?idle=N overrides, for tests) a
 * "still there?" countdown appears (`countdownSeconds`, default 20; ?countdown=N), then the
 * screen is cleared and a new conversation id is used: the old one is never continued.
 */
(function () {
  "use strict";
  var C = window.ClinicAssistantCore;
  var el = C.el;
  var rootNode = document.getElementById("kiosk");
  var params = new URLSearchParams(window.location.search);
  var cfg = C.readConfig(rootNode, {
    storageKey: "",
    client: "kiosk",
    telLinks: false,
    webLinks: false,
    readAloud: true,
    bannerNote: "Please also tell the front desk now."
  });
  function seconds(param, attr, dflt) {
    var v = Number(params.get(param) || rootNode.getAttribute(attr));
    return v > 0 ? v : dflt;
  }
  var idleMs = seconds("idle", "data-idle-seconds", 90) * 1000;
  var countdownSeconds = Math.round(seconds("countdown", "data-countdown-seconds", 20));
  C.applyColours(document.body, cfg);
  // Labels (topic titles, red-flag wording) and any number the page lacks: /assistant.json.
  C.loadServerSettings(cfg, cfg.settingsUrl || "/assistant.json").then(showQrCodes);

  var $ = function (id) { return document.getElementById(id); };
  var startScreen = $("k-start");
  var chat = $("k-chat");
  var scroller = $("k-scroller");
  var list = $("k-log");
  var form = $("k-form");
  var input = $("k-input");
  var topicBar = $("k-topicbar");
  var idleDialog = $("k-idle");
  var idleCount = $("k-idle-count");
  var summaryDialog = $("k-summary");
  var live = $("k-live");
  var alertRegion = $("k-alert");

  // The topic buttons: big on the start screen, a compact row once a conversation is going.
  function topicButtons(container, cls) {
    C.STARTER_TOPICS.forEach(function (t) {
      container.appendChild(el("button", {
        class: cls, text: t.title, attrs: { type: "button", "data-payload": t.payload },
        on: { click: function () { ask(t.payload, t.title); } }
      }));
    });
  }
  topicButtons($("k-topics"), "k-topic");
  topicButtons($("k-topicbar-buttons"), "ca-chip k-topic-chip");

  var convo = new C.Conversation(cfg, {
    list: list, typing: $("k-typing"), slow: $("k-slow"), live: live, alert: alertRegion,
    scroller: scroller
  }, {
    storage: null, // never
    transport: C.createTransport(cfg, "/static/"),
    readAloud: true,
    onBusy: function (busy) {
      $("k-send").setAttribute("aria-disabled", busy ? "true" : "false");
      rootNode.setAttribute("data-busy", busy ? "true" : "false");
    },
    onChange: function () {
      rootNode.setAttribute("data-conversation-id", convo.state.id);
      showChat(!convo.isEmpty());
      armIdle();
    }
  });
  rootNode.setAttribute("data-conversation-id", convo.state.id);

  function showChat(on) {
    startScreen.hidden = on;
    chat.hidden = !on;
    topicBar.hidden = !on;
  }

  function ask(payload, title) {
    showChat(true);
    convo.send(payload, title);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    if (!text.trim() || convo.busy) return;
    input.value = "";
    ask(text);
  });

  // ---- QR codes: the booking link and the clinic's phone, for the patient's own phone
  // (rendered by the server from the clinic profile, web/serve.py /qr/*.svg)
  function showQrCodes() {
    var box = $("k-qr");
    if (!box || box.childElementCount) return;
    [[cfg.bookingUrl, "/qr/booking.svg", "Scan to book online", "k-qr-booking"],
      [cfg.clinicPhone, "/qr/phone.svg", "Scan to call " + cfg.clinicPhone, "k-qr-phone"]
    ].forEach(function (q) {
      if (!q[0]) return;
      box.appendChild(el("figure", { class: "k-qr-code", attrs: { id: q[3] } }, [
        el("img", { attrs: { src: q[1], alt: q[2] + " (QR code)", width: "132", height: "132" } }),
        el("figcaption", { text: q[2] })
      ]));
    });
    box.hidden = !box.childElementCount;
  }

  // ---- front-desk summary: topics and any red-flag escalation; no words the patient typed
  function fillSummary() {
    var s = convo.summary();
    var topics = $("k-summary-topics");
    topics.textContent = "";
    if (s.topics.length) {
      s.topics.forEach(function (id) {
        topics.appendChild(el("li", { text: C.topicLabel(id), attrs: { "data-topic": id } }));
      });
    } else {
      topics.appendChild(el("li", { class: "k-muted", text: "No topics yet." }));
    }
    var safety = $("k-summary-safety");
    safety.textContent = "";
    safety.setAttribute("data-escalation", s.escalation);
    safety.className = "k-summary-safety k-summary-safety--" + s.escalation;
    var flags = s.flags.map(C.flagLabel).join("; ");
    if (s.escalation === "emergency") {
      safety.appendChild(el("p", { class: "k-summary-tier", text: "EMERGENCY warning signs mentioned" }));
      if (flags) safety.appendChild(el("p", { text: "Signs: " + flags + "." }));
      safety.appendChild(el("p", { text: "The assistant advised emergency care now." }));
    } else if (s.escalation === "urgent") {
      safety.appendChild(el("p", { class: "k-summary-tier", text: "URGENT warning signs mentioned" }));
      if (flags) safety.appendChild(el("p", { text: "Signs: " + flags + "." }));
      safety.appendChild(el("p", { text: "The assistant advised seeing a doctor today." }));
    } else {
      safety.appendChild(el("p", { text: "No warning signs were mentioned." }));
    }
    var crisis = s.flags.indexOf("crisis") >= 0;
    safety.setAttribute("data-crisis", crisis ? "true" : "false");
    if (crisis) {
      safety.appendChild(el("p", { class: "k-summary-crisis",
        text: "A crisis support reply was shown (crisis line" +
          (cfg.crisisLine ? ": " + cfg.crisisLine : "") + "). Please check on the patient." }));
    }
  }
  $("k-desk").addEventListener("click", function () {
    fillSummary();
    summaryDialog.showModal();
    armIdle();
  });
  $("k-summary-close").addEventListener("click", function () { summaryDialog.close(); });

  // ---- start over (button, or idle)
  // Ask the server to forget the conversation too (POST /webhooks/rest/forget, see
  // channels/rest.py): best effort, the screen is cleared whatever the answer.
  function forgetOnServer() {
    if (convo.isEmpty() || typeof fetch !== "function") return;
    try {
      fetch(cfg.serverUrl + "/webhooks/rest/forget", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: C.sessionId(convo) }),
        credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer", keepalive: true
      }).catch(function () { /* retention removes it later */ });
    } catch (e) { /* retention removes it later */ }
  }

  function resetAll(reason) {
    forgetOnServer();
    if (idleDialog.open) idleDialog.close();
    if (summaryDialog.open) summaryDialog.close();
    clearTimeout(idleTimer);
    clearInterval(countdownTimer);
    convo.reset();
    input.value = "";
    showChat(false);
    window.scrollTo(0, 0);
    rootNode.setAttribute("data-conversation-id", convo.state.id);
    rootNode.setAttribute("data-reset-reason", reason);
    C.announce(live, "The screen has been cleared. Tap a topic to start.");
    $("k-start-title").focus();
  }
  $("k-restart").addEventListener("click", function () { resetAll("button"); });

  // ---- idle handling
  var idleTimer = null;
  var countdownTimer = null;
  function dirty() {
    return !convo.isEmpty() || input.value.trim() !== "" || summaryDialog.open;
  }
  function armIdle() {
    clearTimeout(idleTimer);
    if (idleDialog.open) return;
    if (dirty()) idleTimer = setTimeout(showIdle, idleMs);
  }
  function showIdle() {
    if (!dirty()) return;
    if (summaryDialog.open) summaryDialog.close();
    C.stopSpeaking();
    var left = countdownSeconds;
    idleCount.textContent = String(left);
    idleDialog.showModal();
    $("k-idle-stay").focus();
    countdownTimer = setInterval(function () {
      left -= 1;
      idleCount.textContent = String(Math.max(left, 0));
      if (left <= 0) resetAll("idle");
    }, 1000);
  }
  function stay() {
    clearInterval(countdownTimer);
    if (idleDialog.open) idleDialog.close();
    armIdle();
  }
  $("k-idle-stay").addEventListener("click", stay);
  $("k-idle-clear").addEventListener("click", function () { resetAll("button"); });
  idleDialog.addEventListener("cancel", function (e) { e.preventDefault(); stay(); });
  ["pointerdown", "keydown", "input", "wheel", "touchstart"].forEach(function (type) {
    document.addEventListener(type, function () { if (!idleDialog.open) armIdle(); },
      { passive: true, capture: true });
  });

  showChat(false);
  rootNode.setAttribute("data-ready", "true");
  window.ClinicKiosk = {
    conversationId: function () { return convo.state.id; },
    reset: function () { resetAll("api"); }
  };
})();
