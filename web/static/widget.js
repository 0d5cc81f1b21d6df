/*
 * Clinic assistant chat widget. A host page adds ONE tag:
 *
 *   <script src="https://assistant.example.org/static/widget.js" defer
 *           data-server="https://assistant.example.org:5005"></script>
 *
 * The clinic's name, phone, booking link and emergency / urgent numbers are fetched from
 * the same host (/assistant.json, from the clinic profile); data-clinic-phone="..." etc.
 * override them.
 * It loads assistant-core.js and its styles from the same folder, draws into a shadow root
 * (the host page's CSS cannot break it, and it cannot break the host page), and keeps the
 * conversation in sessionStorage so it survives navigation within the site.
 * All settings: see web/README.md.
 */
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector("script[src*='widget.js'][data-server], script[data-clinic-assistant]");
  if (!script || window.__clinicAssistantWidget) return;
  window.__clinicAssistantWidget = true;
  var BASE = script.src.replace(/[^/]*(?:[?#].*)?$/, "");

  function loadCore(cb) {
    if (window.ClinicAssistantCore) { cb(); return; }
    var s = document.createElement("script");
    s.src = BASE + "assistant-core.js";
    s.onload = cb;
    s.onerror = function () { console.error("clinic assistant: could not load assistant-core.js"); };
    document.head.appendChild(s);
  }

  function whenReady(cb) {
    if (document.body) cb();
    else document.addEventListener("DOMContentLoaded", cb);
  }

  function sessionStore() {
    try {
      var s = window.sessionStorage;
      s.setItem("clinic-assistant:probe", "1");
      s.removeItem("clinic-assistant:probe");
      return s;
    } catch (e) {
      return null;
    }
  }

  // The clinic's numbers and the labels come from the server that serves this script
  // (/assistant.json, from the clinic profile); data- attributes only override them.
  function start() {
    var C = window.ClinicAssistantCore;
    var cfg = C.readConfig(script, window.ClinicAssistantConfig);
    var url = cfg.settingsUrl || new URL("../assistant.json", BASE).href;
    C.loadServerSettings(cfg, url).then(function () { build(cfg); });
  }

  function build(cfg) {
    var C = window.ClinicAssistantCore;
    var el = C.el;
    var clinic = cfg.clinicName || "the clinic";

    var host = el("div", { attrs: { id: "clinic-assistant", "data-theme": cfg.theme,
      "data-position": cfg.position === "left" ? "left" : "right" } });
    C.applyColours(host, cfg);
    var root = host.attachShadow({ mode: "open" });
    var wrap = el("div", { class: "ca-widget" });
    wrap.style.visibility = "hidden";
    var pending = 2;
    function styleLoaded() { if (--pending === 0) wrap.style.visibility = ""; }
    ["assistant.css", "widget.css"].forEach(function (name) {
      var link = el("link", { attrs: { rel: "stylesheet", href: BASE + name } });
      link.addEventListener("load", styleLoaded);
      link.addEventListener("error", styleLoaded);
      root.appendChild(link);
    });

    // ---- launcher
    var launcherLabel = cfg.launcherLabel || "Ask about hip pain";
    var launcher = el("button", {
      class: "ca-launcher",
      attrs: { type: "button", "aria-expanded": "false", "aria-controls": "ca-panel",
        "aria-label": launcherLabel + " (chat with " + clinic + "'s assistant)" }
    }, [C.icon("chat"), el("span", { class: "ca-launcher-text", text: launcherLabel })]);

    // ---- panel
    var titleText = cfg.title || (cfg.clinicName ? cfg.clinicName + " assistant" : "Clinic assistant");
    var startOver = el("button", { class: "ca-head-btn", attrs: { type: "button" } },
      [C.icon("restart"), el("span", { text: "Start over" })]);
    var closeBtn = el("button", { class: "ca-head-btn ca-close",
      attrs: { type: "button", "aria-label": "Close chat" } }, [C.icon("close")]);
    var header = el("div", { class: "ca-header" }, [
      el("div", { class: "ca-heading" }, [
        el("h2", { class: "ca-title", text: titleText, attrs: { id: "ca-title" } }),
        el("p", { class: "ca-subtitle", text: "Hip and buttock pain \u00b7 general information, not a diagnosis" })
      ]),
      el("div", { class: "ca-head-actions" }, [startOver, closeBtn])
    ]);

    var list = el("ol", { class: "ca-log", attrs: { "aria-label": "Messages" } });
    var typing = el("div", { class: "ca-typing", attrs: { hidden: true } }, [
      el("span", { class: "ca-dots", attrs: { "aria-hidden": "true" } },
        [el("span"), el("span"), el("span")]),
      el("span", { class: "ca-typing-text", text: "The assistant is typing\u2026" })
    ]);
    var slow = el("p", { class: "ca-slow", attrs: { hidden: true } },
      ["Still working on it\u2026 this is taking longer than usual."]);
    var intro = renderIntro();
    var scroller = el("div", { class: "ca-scroller",
      attrs: { tabindex: "0", role: "region", "aria-label": "Conversation" } },
    [intro, list, typing, slow]);

    var input = el("textarea", { class: "ca-input", attrs: {
      id: "ca-input", rows: "1", maxlength: "1000", autocomplete: "off",
      placeholder: "Type your question\u2026", enterkeyhint: "send" } });
    var sendBtn = el("button", { class: "ca-send", attrs: { type: "submit", "aria-label": "Send" } },
      [C.icon("send")]);
    var form = el("form", { class: "ca-composer", attrs: { "aria-label": "Ask a question" } }, [
      el("label", { class: "ca-sr-only", text: "Your question", attrs: { for: "ca-input" } }),
      input, sendBtn
    ]);
    var footer = el("div", { class: "ca-footer" }, [
      C.emergencyLine(cfg, null, "Not for emergencies. In an emergency, call ")
    ]);
    var live = el("div", { class: "ca-sr-only", attrs: { "aria-live": "polite", "aria-atomic": "true" } });
    var alertRegion = el("div", { class: "ca-sr-only", attrs: { "aria-live": "assertive", "aria-atomic": "true" } });

    var panel = el("section", { class: "ca-panel", attrs: {
      id: "ca-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "ca-title", hidden: true } },
    [header, scroller, form, footer]);
    wrap.appendChild(panel);
    wrap.appendChild(launcher);
    wrap.appendChild(live);
    wrap.appendChild(alertRegion);
    root.appendChild(wrap);
    document.body.appendChild(host);

    var transport = C.createTransport(cfg, BASE);
    var convo = new C.Conversation(cfg, {
      list: list, typing: typing, slow: slow, live: live, alert: alertRegion, scroller: scroller
    }, {
      storage: sessionStore(),
      transport: transport,
      readAloud: cfg.readAloud,
      onBusy: function (busy) {
        sendBtn.setAttribute("aria-disabled", busy ? "true" : "false");
        host.setAttribute("data-busy", busy ? "true" : "false");
      },
      onChange: function () {
        host.setAttribute("data-conversation-id", convo.state.id);
        intro.classList.toggle("ca-intro--compact", !convo.isEmpty());
      }
    });
    host.setAttribute("data-conversation-id", convo.state.id);
    convo.restore();
    intro.classList.toggle("ca-intro--compact", !convo.isEmpty());

    function renderIntro() {
      var box = el("div", { class: "ca-intro" });
      var greeting = el("div", { class: "ca-bubble ca-bubble--bot" }, [
        el("p", { text: "Hello! I can answer questions about hip and buttock pain: what it is, " +
          "symptoms, exercises, treatments and when to see someone." }),
        el("p", { class: "ca-intro-note", text: "I give general information from trusted articles, " +
          "not a diagnosis. Please don't type your name or other personal details." })
      ]);
      box.appendChild(greeting);
      box.appendChild(C.renderButtons(C.STARTER_TOPICS, function (b) { convo.send(b.payload, b.title); },
        "Suggested topics"));
      return box;
    }

    // ---- behaviour
    function open(focusInput) {
      panel.hidden = false;
      host.setAttribute("data-open", "true");
      launcher.setAttribute("aria-expanded", "true");
      convo.state.open = true;
      convo.save();
      scroller.scrollTop = scroller.scrollHeight;
      if (focusInput !== false) input.focus();
    }
    function close() {
      panel.hidden = true;
      host.setAttribute("data-open", "false");
      launcher.setAttribute("aria-expanded", "false");
      convo.state.open = false;
      convo.save();
      C.stopSpeaking();
      launcher.focus();
    }
    launcher.addEventListener("click", function () { panel.hidden ? open() : close(); });
    closeBtn.addEventListener("click", close);
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); close(); }
    });
    startOver.addEventListener("click", function () {
      convo.reset();
      input.value = "";
      autosize();
      C.announce(live, "Conversation cleared. You can start a new one.");
      input.focus();
    });

    function submit() {
      var text = input.value;
      if (!text.trim() || convo.busy) return;
      input.value = "";
      autosize();
      convo.send(text);
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    });
    function autosize() {
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight, 140) + "px";
    }
    input.addEventListener("input", autosize);

    if (convo.state.open || cfg.open) open(false);

    // A small API for host pages: ClinicAssistant.open(), .close(), .startOver()
    window.ClinicAssistant = {
      open: open, close: close,
      startOver: function () { startOver.click(); },
      conversationId: function () { return convo.state.id; }
    };
  }

  loadCore(function () { whenReady(start); });
})();
