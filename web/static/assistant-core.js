/*
 * Clinic assistant: the engine shared by the chat widget (widget.js) and the kiosk (kiosk.js).
 *
 * - reads the reply contract (../../shared/reply-contract.md): groups a turn's messages,
 *   takes the highest escalation of the turn, renders text, buttons, sources, follow-ups
 *   and the emergency / urgent banners;
 * - renders every piece of text with textContent / createElement only: message text can
 *   never run script or inject markup (there is no innerHTML anywhere in this code);
 * - talks to Rasa over the REST channel or socket.io, with a time-out and a fallback
 *   message carrying the clinic's phone and the emergency number from the settings;
 * - keeps the conversation in sessionStorage (widget) or nowhere at all (kiosk).
 *
 * Plain ES2019, no build step, no framework. Exposes window.ClinicAssistantCore.
 */
(function (global) {
  "use strict";
  if (global.ClinicAssistantCore) return;

  var TIER_RANK = { none: 0, routine: 1, urgent: 2, emergency: 3 };

  // Topic titles and red-flag labels come from the server (/assistant.json, built from
  // content/catalogue.yml and content/red_flags.yml) and from the replies' own `title`.
  var LABELS = { topics: {}, flags: {} };
  // Topics that are small talk: not worth listing at the front desk.
  var QUIET_TOPICS = { greet: 1, goodbye: 1, thanks: 1, capabilities: 1, clarify: 1 };

  // The start-screen topics (kiosk) and first suggestions (widget): short button titles of
  // their own; tests/browser/test_serve.py checks every payload is a catalogue topic.
  var STARTER_TOPICS = [
    { title: "What is it?", payload: "/gluteus_medius" },
    { title: "Symptoms", payload: "/symptoms" },
    { title: "Exercises", payload: "/exercises" },
    { title: "Treatments", payload: "/treatment" },
    { title: "When to see someone", payload: "/when_to_see_clinician" },
    { title: "Book", payload: "/appointment" }
  ];

  // ------------------------------------------------------------------ small helpers
  function uuid() {
    var c = global.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    var b = new Uint8Array(16);
    c.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = [];
    for (var i = 0; i < 16; i++) h.push((b[i] + 0x100).toString(16).slice(1));
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  /** el("p", {class: "x", text: "hi", attrs: {...}, on: {click: fn}}, [children]) */
  function el(tag, opts, children) {
    var node = document.createElement(tag);
    opts = opts || {};
    if (opts.class) node.className = opts.class;
    if (opts.text != null) node.textContent = String(opts.text);
    if (opts.attrs) {
      Object.keys(opts.attrs).forEach(function (k) {
        var v = opts.attrs[k];
        if (v === false || v == null) return;
        node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    if (opts.on) {
      Object.keys(opts.on).forEach(function (k) { node.addEventListener(k, opts.on[k]); });
    }
    (children || []).forEach(function (c) {
      if (c == null || c === false) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    send: "M4 12l16-8-6 16-2.5-6.5z",
    phone: "M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.46.57 3.6a1 1 0 0 1-.25 1z",
    speaker: "M4 9v6h4l5 4V5L8 9zM16 8.5a5 5 0 0 1 0 7M18.5 6a8.5 8.5 0 0 1 0 12",
    restart: "M4 12a8 8 0 1 0 2.3-5.6M4 4v4h4",
    alert: "M12 3l10 18H2zM12 10v5M12 18v.01",
    desk: "M4 10h16v10H4zM8 10V6h8v4M9 15h6"
  };
  function icon(name, cls) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "ca-icon" + (cls ? " " + cls : ""));
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name] || "");
    svg.appendChild(path);
    return svg;
  }

  /** A URL we are willing to link to, or null (no javascript:, data:, ...). */
  function safeUrl(url, protocols) {
    if (typeof url !== "string" || !url.trim()) return null;
    protocols = protocols || ["http:", "https:", "tel:", "mailto:"];
    try {
      var u = new URL(url.trim(), global.location.href);
      return protocols.indexOf(u.protocol) >= 0 ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  /** "tel:" href from a phone-ish string ("healthdirect 1800 022 222" -> tel:1800022222). */
  function telHref(number) {
    if (typeof number !== "string") number = number == null ? "" : String(number);
    var m = number.match(/\+?\d[\d\s().-]{1,}\d|\d{2,}/);
    if (!m) return null;
    return "tel:" + m[0].replace(/[^\d+]/g, "");
  }

  function str(v) {
    return typeof v === "string" ? v : v == null ? "" : typeof v === "number" ? String(v) : "";
  }

  // ------------------------------------------------------------------ safe rich text
  // Supports what bot answers use: paragraphs, line breaks, "- " / "1. " lists,
  // **bold**, [label](https://...) links and bare https:// links. Everything else is text.
  var INLINE_RE = /\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

  function appendInline(parent, text) {
    var last = 0;
    var m;
    INLINE_RE.lastIndex = 0;
    while ((m = INLINE_RE.exec(text)) !== null) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      if (m[1] != null) {
        parent.appendChild(el("strong", { text: m[1] }));
      } else {
        var label = m[2] != null ? m[2] : m[4];
        var href = webLinks ? safeUrl(m[2] != null ? m[3] : m[4]) : null;
        if (!webLinks && m[2] != null) label = m[2] + " (" + m[3] + ")";
        if (href) {
          var a = el("a", { text: label, attrs: { href: href } });
          if (/^https?:/.test(href)) {
            a.setAttribute("target", "_blank");
            a.setAttribute("rel", "noopener noreferrer");
          }
          parent.appendChild(a);
        } else {
          parent.appendChild(document.createTextNode(webLinks ? m[0] : label));
        }
      }
      last = INLINE_RE.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  var BULLET_RE = /^\s*(?:[-*\u2022])\s+/;
  var NUMBER_RE = /^\s*\d+[.)]\s+/;

  /** Blocks: consecutive "- "/"\u2022 " lines -> <ul>, "1. " lines -> <ol>, other lines -> <p>. */
  function renderRichText(text) {
    var frag = document.createDocumentFragment();
    str(text).replace(/\r\n?/g, "\n").split(/\n\s*\n/).forEach(function (block) {
      var current = null;
      var kind = null;
      block.split("\n").forEach(function (line) {
        if (!line.trim()) return;
        var k = BULLET_RE.test(line) ? "ul" : NUMBER_RE.test(line) ? "ol" : "p";
        if (k !== kind || !current) {
          current = el(k);
          frag.appendChild(current);
          kind = k;
        } else if (k === "p") {
          current.appendChild(el("br"));
        }
        if (k === "p") {
          appendInline(current, line);
        } else {
          var li = el("li");
          appendInline(li, line.replace(k === "ul" ? BULLET_RE : NUMBER_RE, ""));
          current.appendChild(li);
        }
      });
    });
    return frag;
  }

  /** Plain text for speech and live regions (markdown marks dropped). */
  function plainText(text) {
    return str(text)
      .replace(/\*\*([^*]+)\*\*/g, "$1")
      .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, "$1")
      .replace(/^\s*(?:[-*\u2022]|\d+[.)])\s+/gm, "")
      .replace(/\s*\n+\s*/g, " ")
      .trim();
  }

  // ------------------------------------------------------------------ reading a turn
  function normaliseButtons(list) {
    if (!Array.isArray(list)) return [];
    return list.map(function (b) {
      if (typeof b === "string") return { title: b, payload: b };
      if (!b || typeof b !== "object") return null;
      var title = str(b.title) || str(b.label) || str(b.text);
      var payload = str(b.payload) || str(b.value) || title;
      var url = str(b.url);
      if (!title) return null;
      return { title: title, payload: payload, url: url };
    }).filter(Boolean);
  }

  var ENVELOPE_KEYS = { recipient_id: 1, room: 1, text: 1, buttons: 1, quick_replies: 1,
    image: 1, attachment: 1, elements: 1, custom: 1 };

  /** One bot message in any of the shapes Rasa's REST and socket.io channels produce. */
  function normaliseMessage(raw) {
    if (raw == null) return null;
    if (typeof raw === "string") raw = { text: raw };
    if (typeof raw !== "object") return null;
    var custom = raw.custom && typeof raw.custom === "object" ? raw.custom : null;
    if (!custom && raw.data && typeof raw.data === "object" &&
        (raw.data.topic || raw.data.escalation)) custom = raw.data;
    if (!custom && (raw.topic != null || raw.escalation != null)) {
      // socket.io's stock send_custom_json spreads the custom object into the event
      custom = {};
      Object.keys(raw).forEach(function (k) { if (!ENVELOPE_KEYS[k]) custom[k] = raw[k]; });
    }
    var image = str(raw.image) ||
      (raw.attachment && raw.attachment.payload && str(raw.attachment.payload.src)) || "";
    return {
      text: str(raw.text),
      buttons: normaliseButtons(raw.buttons || raw.quick_replies),
      custom: custom,
      image: image
    };
  }

  function isBanner(custom) {
    var t = tierOf(custom);
    return !!custom && (str(custom.topic) === "red_flag" || t === "emergency" || t === "urgent");
  }

  function tierOf(custom) {
    var t = custom && str(custom.escalation).toLowerCase();
    return TIER_RANK.hasOwnProperty(t) ? t : "none";
  }

  /**
   * Group a turn's messages into segments, one per `custom` object: the text before a
   * custom (Rasa sends text first, then the custom) or after a leading custom belongs to it.
   */
  function analyseTurn(rawMessages) {
    var messages = (rawMessages || []).map(normaliseMessage).filter(Boolean);
    var segments = [];
    var cur = { items: [], custom: null, open: false };
    messages.forEach(function (m) {
      var content = m.text || m.buttons.length || m.image;
      if (m.custom) {
        if (cur.custom) {               // a second custom starts a new segment
          segments.push(cur);
          cur = { items: [], custom: null, open: false };
        }
        if (content) cur.items.push(m);
        cur.custom = m.custom;
        if (cur.items.length) {         // text came first: this custom closes it
          segments.push(cur);
          cur = { items: [], custom: null, open: false };
        } else {
          cur.open = true;              // custom first: the following text belongs to it
        }
      } else if (content) {
        cur.items.push(m);
      }
    });
    if (cur.items.length || cur.custom) {
      var last = segments[segments.length - 1];
      if (!cur.custom && last && !isBanner(last.custom)) {
        // trailing text after the last answer (e.g. the see-a-clinician line) joins it;
        // after a red-flag banner it stays outside the banner (e.g. the disclaimer)
        last.items = last.items.concat(cur.items);
      } else {
        segments.push(cur);
      }
    }
    var escalation = "none";
    var topics = [];
    var flags = [];
    var emergencyNumber = "";
    var urgentLine = "";
    var emergencyDepartment = "";
    segments.forEach(function (s) {
      var tier = tierOf(s.custom);
      s.tier = tier;
      s.topic = s.custom ? str(s.custom.topic) : "";
      if (TIER_RANK[tier] > TIER_RANK[escalation]) escalation = tier;
      if (s.topic && topics.indexOf(s.topic) < 0) topics.push(s.topic);
      if (s.custom) {
        (Array.isArray(s.custom.flags) ? s.custom.flags : []).forEach(function (f) {
          f = str(f) || (f && str(f.id));
          if (f && flags.indexOf(f) < 0) flags.push(f);
        });
        emergencyNumber = emergencyNumber || str(s.custom.emergency_number);
        urgentLine = urgentLine || str(s.custom.urgent_line);
        emergencyDepartment = emergencyDepartment || str(s.custom.emergency_department);
      }
      delete s.open;
    });
    return {
      messages: messages,
      segments: segments,
      escalation: escalation,
      topics: topics,
      flags: flags,
      emergencyNumber: emergencyNumber,
      urgentLine: urgentLine,
      emergencyDepartment: emergencyDepartment,
      empty: !messages.some(function (m) { return m.text || m.buttons.length || m.image; })
    };
  }

  function turnPlainText(turn) {
    return turn.messages.map(function (m) { return plainText(m.text); })
      .filter(Boolean).join(" ");
  }

  // ------------------------------------------------------------------ settings
  var DEFAULTS = {
    serverUrl: "",
    transport: "rest",
    socketPath: "/socket.io",
    clinicName: "",
    clinicPhone: "",
    bookingUrl: "",
    emergencyNumber: "",
    emergencyDepartment: "",
    urgentLine: "",
    crisisLine: "",
    settingsUrl: "",
    title: "",
    primaryColor: "",
    theme: "auto",
    position: "right",
    timeoutMs: 25000,
    slowMs: 8000,
    socketQuietMs: 900,
    storageKey: "clinic-assistant:v1",
    client: "widget",
    readAloud: false,
    open: false
  };

  function camel(name) {
    return name.replace(/-([a-z])/g, function (_, c) { return c.toUpperCase(); });
  }

  /** Settings from data-* attributes (data-clinic-phone -> clinicPhone), then overrides. */
  function readConfig(node, overrides) {
    var cfg = {};
    var given = {};
    Object.keys(DEFAULTS).forEach(function (k) { cfg[k] = DEFAULTS[k]; });
    var aliases = { server: "serverUrl", rasaUrl: "serverUrl" };
    if (node && node.attributes) {
      Array.prototype.forEach.call(node.attributes, function (a) {
        if (a.name.indexOf("data-") !== 0) return;
        var key = camel(a.name.slice(5));
        key = aliases[key] || key;
        var def = DEFAULTS[key];
        var v = a.value;
        if (typeof def === "number") v = Number(v) > 0 ? Number(v) : def;
        else if (typeof def === "boolean") v = v === "" || v === "true" || v === "1";
        cfg[key] = v;
        if (v !== "") given[key] = true;
      });
    }
    if (overrides && typeof overrides === "object") {
      Object.keys(overrides).forEach(function (k) {
        cfg[aliases[k] || k] = overrides[k];
        given[aliases[k] || k] = true;
      });
    }
    cfg._given = given;
    cfg.serverUrl = str(cfg.serverUrl).replace(/\/+$/, "");
    if (cfg.telLinks === false || cfg.telLinks === "false") telLinks = false;
    if (cfg.webLinks === false || cfg.webLinks === "false") webLinks = false;
    return cfg;
  }

  // ------------------------------------------------------------------ transports
  function TransportError(kind, detail) {
    this.kind = kind; // "timeout" | "network" | "http" | "empty" | "bad"
    this.message = detail || kind;
  }

  function RestTransport(cfg) { this.cfg = cfg; }
  RestTransport.prototype.send = function (sender, text, signal) {
    var url = this.cfg.serverUrl + "/webhooks/rest/webhook";
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, message: text, metadata: { client: this.cfg.client } }),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      signal: signal
    }).then(function (res) {
      if (res.status === 429) throw new TransportError("busy", "HTTP 429");
      if (!res.ok) throw new TransportError("http", "HTTP " + res.status);
      return res.json().catch(function () { throw new TransportError("bad"); });
    }, function (err) {
      if (signal && signal.aborted) throw new TransportError("timeout");
      throw new TransportError("network", String(err && err.message));
    }).then(function (data) {
      if (!Array.isArray(data)) throw new TransportError("bad");
      return data;
    });
  };
  RestTransport.prototype.close = function () {};

  /**
   * socket.io channel (Rasa's `socketio` input with session_persistence: true). Uses the
   * vendored socket.io client (static/vendor/socket.io.min.js), websocket transport only
   * so that no sticky sessions are needed behind a load balancer. socket.io has no "end
   * of turn": a turn is the bot messages that arrive until `socketQuietMs` of quiet.
   */
  function SocketTransport(cfg, baseUrl) {
    this.cfg = cfg;
    this.baseUrl = baseUrl;
    this.socket = null;
    this.sessionId = null;
    this.pending = null;
  }
  SocketTransport.prototype._load = function () {
    if (global.io) return Promise.resolve(global.io);
    var self = this;
    if (!SocketTransport._loading) {
      SocketTransport._loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = self.baseUrl + "vendor/socket.io.min.js";
        s.async = true;
        s.onload = function () { global.io ? resolve(global.io) : reject(new Error("no io")); };
        s.onerror = function () { SocketTransport._loading = null; reject(new Error("load")); };
        document.head.appendChild(s);
      });
    }
    return SocketTransport._loading;
  };
  SocketTransport.prototype._connect = function (sessionId) {
    var self = this;
    if (this.socket && this.sessionId === sessionId) return Promise.resolve(this.socket);
    this.close();
    this.sessionId = sessionId;
    return this._load().then(function (io) {
      var u = new URL(self.cfg.serverUrl || global.location.origin, global.location.href);
      var socket = io(u.origin, {
        path: self.cfg.socketPath || "/socket.io",
        transports: ["websocket"],
        reconnection: true,
        reconnectionDelay: 1000,
        reconnectionDelayMax: 5000,
        timeout: 8000
      });
      self.socket = socket;
      self.confirmed = false;
      // (Re)join the conversation on every (re)connection, possibly to another instance;
      // a message is sent only once the server confirmed the session.
      // The server issues the session id (and binds it to this socket); it is kept in
      // the conversation's state so a reload asks for the same one again.
      socket.on("connect", function () {
        self.confirmed = false;
        var known = self.convo && self.convo.state.id === self.sessionId ? self.convo.state.socketSession : null;
        socket.emit("session_request", { session_id: known || null });
      });
      socket.on("session_confirm", function (data) {
        var id = data && typeof data === "object" ? data.session_id : data;
        if (self.convo && self.convo.state.id === self.sessionId && typeof id === "string") {
          self.convo.state.socketSession = id;
          self.convo.save();
        }
        self.confirmed = true;
        self._flush();
      });
      socket.on("connect_error", function () {
        if (self.pending && !self.pending.sent) self.pending.fail(new TransportError("network", "refused"));
      });
      socket.on("disconnect", function () { self.confirmed = false; });
      socket.on("bot_uttered", function (msg) { self._onBot(msg); });
      return socket;
    });
  };
  SocketTransport.prototype._flush = function () {
    var p = this.pending;
    if (!p || p.sent || !this.confirmed || !this.socket) return;
    p.sent = true;
    this.socket.emit("user_uttered", { message: p.text,
      session_id: (this.convo && this.convo.state.socketSession) || this.sessionId,
      customData: { client: this.cfg.client } });
  };
  SocketTransport.prototype._onBot = function (msg) {
    var p = this.pending;
    if (!p || !p.sent) return;
    p.messages.push(msg);
    clearTimeout(p.quiet);
    p.quiet = setTimeout(function () { p.done(); }, this.cfg.socketQuietMs);
  };
  SocketTransport.prototype.send = function (sender, text, signal) {
    var self = this;
    return this._connect(sender).then(function () {
      return new Promise(function (resolve, reject) {
        var p = { text: text, messages: [], quiet: null, sent: false };
        function finish(err) {
          clearTimeout(p.quiet);
          if (self.pending === p) self.pending = null; // never sent later
          if (signal) signal.removeEventListener("abort", onAbort);
          if (err) reject(err); else resolve(p.messages);
        }
        function onAbort() { finish(new TransportError("timeout")); }
        p.done = function () { finish(null); };
        p.fail = function (err) { finish(err); };
        if (self.pending) self.pending.done();
        self.pending = p;
        if (signal) signal.addEventListener("abort", onAbort);
        self._flush();
      });
    }, function () {
      throw new TransportError("network", "socket.io client unavailable");
    });
  };
  SocketTransport.prototype.close = function () {
    if (this.socket) { this.socket.close(); this.socket = null; }
  };

  function createTransport(cfg, baseUrl) {
    return cfg.transport === "socketio" ? new SocketTransport(cfg, baseUrl) : new RestTransport(cfg);
  }

  // ------------------------------------------------------------------ rendering
  // cfg.telLinks === false (the kiosk: nobody can dial from it) shows numbers as big text;
  // cfg.webLinks === false (the kiosk: nobody may leave the page) shows addresses as text.
  var telLinks = true;
  var webLinks = true;
  function numberLink(number, label, cls) {
    var href = telLinks ? telHref(number) : null;
    if (!href) return el("strong", { class: cls, text: label });
    return el("a", { class: cls, attrs: { href: href } }, [icon("phone"), el("span", { text: label })]);
  }

  function emergencyLine(cfg, turn, prefix) {
    var number = (turn && turn.emergencyNumber) || cfg.emergencyNumber;
    var p = el("p", { class: "ca-emergency-line" });
    p.appendChild(document.createTextNode(prefix || "In an emergency, call "));
    if (number) p.appendChild(numberLink(number, number, "ca-tel"));
    else p.appendChild(el("strong", { text: "your local emergency number" }));
    p.appendChild(document.createTextNode("."));
    return p;
  }

  function renderSources(sources) {
    if (!Array.isArray(sources) || !sources.length) return null;
    var items = sources.map(function (s) {
      if (typeof s === "string") s = { title: s };
      if (!s || typeof s !== "object") return null;
      var title = str(s.title) || str(s.name);
      var url = webLinks ? safeUrl(str(s.url) || str(s.link), ["http:", "https:"]) : null;
      if (!title && !url) return null;
      var li = el("li", { class: "ca-source" });
      if (url) {
        li.appendChild(el("a", { text: title || url,
          attrs: { href: url, target: "_blank", rel: "noopener noreferrer" } }));
      } else {
        li.appendChild(el("cite", { text: title }));
      }
      var meta = [str(s.publisher), str(s.author), str(s.date)].filter(Boolean).join(" \u00b7 ");
      if (meta) li.appendChild(el("span", { class: "ca-source-meta", text: meta }));
      return li;
    }).filter(Boolean);
    if (!items.length) return null;
    var label = items.length > 1 ? "Sources" : "Source";
    return el("div", { class: "ca-sources" }, [
      el("p", { class: "ca-sources-label", text: label }),
      el("ul", { class: "ca-source-list" }, items)
    ]);
  }

  function followUpsOf(custom) {
    if (!custom) return [];
    // Only objects with a title are shown: the contract's follow_ups are topic ids, already
    // rendered as the message's buttons.
    var raw = custom.suggestions || custom.follow_ups;
    return normaliseButtons((Array.isArray(raw) ? raw : []).filter(function (b) {
      return b && typeof b === "object";
    }));
  }

  function renderButtons(buttons, onChoose, label) {
    if (!buttons.length) return null;
    var group = el("div", { class: "ca-chips", attrs: { role: "group", "aria-label": label } });
    buttons.forEach(function (b) {
      var url = b.url && safeUrl(b.url, ["http:", "https:", "tel:"]);
      if (b.url && !webLinks && !b.payload) return;
      if (url && webLinks) {
        group.appendChild(el("a", { class: "ca-chip ca-chip--link", text: b.title,
          attrs: { href: url, target: "_blank", rel: "noopener noreferrer" } }));
        return;
      }
      group.appendChild(el("button", {
        class: "ca-chip",
        text: b.title,
        attrs: { type: "button", "data-payload": b.payload },
        on: { click: function () { onChoose(b); } }
      }));
    });
    return group;
  }

  function renderMessages(items, onChoose) {
    var frag = document.createDocumentFragment();
    var buttons = [];
    items.forEach(function (m) {
      if (m.text) frag.appendChild(el("div", { class: "ca-text" }, [renderRichText(m.text)]));
      if (m.image) {
        var href = safeUrl(m.image, ["http:", "https:"]);
        if (href && webLinks) {
          frag.appendChild(el("p", {}, [el("a", { text: "Open the picture",
            attrs: { href: href, target: "_blank", rel: "noopener noreferrer" } })]));
        }
      }
      buttons = buttons.concat(m.buttons);
    });
    return { frag: frag, buttons: buttons };
  }

  /** The bot's turn as DOM: banners for red flags, bubbles, sources, buttons. */
  function renderBotTurn(turn, cfg, handlers) {
    var li = el("li", {
      class: "ca-turn ca-turn--bot",
      attrs: {
        "data-escalation": turn.escalation,
        "data-topics": turn.topics.join(" ")
      }
    });
    li.appendChild(el("span", { class: "ca-sr-only", text: "Assistant said:" }));
    var seenButtons = {};
    turn.segments.forEach(function (seg) {
      var r = renderMessages(seg.items, handlers.onChoose);
      var extra = followUpsOf(seg.custom).filter(function (b) {
        return !r.buttons.some(function (x) { return x.title === b.title; });
      });
      var buttons = r.buttons.concat(extra).filter(function (b) {
        if (seenButtons[b.title + "\u0000" + b.payload]) return false;
        seenButtons[b.title + "\u0000" + b.payload] = 1;
        return true;
      });
      var banner = seg.topic === "red_flag" || seg.tier === "emergency" || seg.tier === "urgent";
      if (banner) {
        var tier = seg.tier === "urgent" ? "urgent" : "emergency";
        var box = el("div", {
          class: "ca-banner ca-banner--" + tier,
          attrs: { "data-flags": (Array.isArray(seg.custom && seg.custom.flags) ? seg.custom.flags : []).join(" ") }
        });
        box.appendChild(el("p", { class: "ca-banner-title" }, [
          icon("alert"),
          el("span", { text: tier === "emergency" ? "Emergency: act now" : "Urgent: see a doctor today" })
        ]));
        box.appendChild(r.frag);
        var actions = el("div", { class: "ca-banner-actions" });
        if (tier === "emergency") {
          var number = str(seg.custom && seg.custom.emergency_number) || cfg.emergencyNumber;
          if (number) {
            actions.appendChild(numberLink(number, "Call " + number, "ca-call ca-call--emergency"));
          } else {
            actions.appendChild(el("p", { class: "ca-call-text",
              text: "Call your local emergency number now." }));
          }
        } else {
          var line = str(seg.custom && seg.custom.urgent_line) || cfg.urgentLine;
          if (line && telHref(line)) actions.appendChild(numberLink(line, "Call " + line, "ca-call ca-call--urgent"));
        }
        if (actions.childNodes.length) box.appendChild(actions);
        if (cfg.bannerNote) box.appendChild(el("p", { class: "ca-banner-note", text: cfg.bannerNote }));
        var bb = renderButtons(buttons, handlers.onChoose, "Suggested replies");
        if (bb) box.appendChild(bb);
        li.appendChild(box);
        return;
      }
      if (r.frag.childNodes.length) {
        var bubble = el("div", { class: "ca-bubble ca-bubble--bot", attrs: { "data-topic": seg.topic } });
        bubble.appendChild(r.frag);
        var src = renderSources(seg.custom && seg.custom.sources);
        if (src) bubble.appendChild(src);
        li.appendChild(bubble);
      } else {
        var src2 = renderSources(seg.custom && seg.custom.sources);
        if (src2) li.appendChild(el("div", { class: "ca-bubble ca-bubble--bot" }, [src2]));
      }
      var b = renderButtons(buttons, handlers.onChoose, "Suggested replies");
      if (b) li.appendChild(b);
    });
    if (handlers.readAloud && speechAvailable()) {
      var text = turnPlainText(turn);
      if (text) li.appendChild(readAloudButton(text));
    }
    return li;
  }

  function renderUserTurn(text) {
    return el("li", { class: "ca-turn ca-turn--user" }, [
      el("span", { class: "ca-sr-only", text: "You said:" }),
      el("p", { class: "ca-bubble ca-bubble--user", text: text })
    ]);
  }

  // ------------------------------------------------------------------ speech
  function speechAvailable() {
    return typeof global.speechSynthesis !== "undefined" &&
      typeof global.SpeechSynthesisUtterance === "function";
  }
  var speaking = null;
  function stopSpeaking() {
    if (!speechAvailable()) return;
    global.speechSynthesis.cancel();
    if (speaking) { setReadLabel(speaking, false); speaking = null; }
  }
  function setReadLabel(btn, on) {
    // a toggle button keeps its name; aria-pressed (and the inverted style) tells the state
    btn.setAttribute("aria-pressed", on ? "true" : "false");
  }
  function readAloudButton(text) {
    var btn = el("button", { class: "ca-read", attrs: { type: "button", "aria-pressed": "false" } },
      [icon("speaker"), el("span", { text: "Read aloud" })]);
    btn.addEventListener("click", function () {
      if (speaking === btn) { stopSpeaking(); return; }
      stopSpeaking();
      var u = new global.SpeechSynthesisUtterance(text);
      u.lang = document.documentElement.lang || "en";
      u.rate = 0.9;
      u.onend = u.onerror = function () { if (speaking === btn) { setReadLabel(btn, false); speaking = null; } };
      speaking = btn;
      setReadLabel(btn, true);
      global.speechSynthesis.speak(u);
    });
    return btn;
  }

  // ------------------------------------------------------------------ the conversation
  /**
   * Conversation(cfg, ui, options)
   *   ui: { list (<ol>), typing (element), slow (element), live (polite), alert (assertive),
   *         scroller (element) }
   *   options: { storage: Storage|null, transport, readAloud, onTurn(turn), onChange(),
   *              onBusy(bool) }
   */
  function Conversation(cfg, ui, options) {
    this.cfg = cfg;
    this.ui = ui;
    this.opts = options || {};
    this.transport = this.opts.transport;
    this.storage = this.opts.storage || null;
    this.busy = false;
    this.lastSent = null;
    this.state = this._load() || { id: uuid(), items: [], open: false };
    this.turns = [];
    if (this.transport) this.transport.convo = this;
  }

  Conversation.prototype._load = function () {
    if (!this.storage) return null;
    try {
      var s = JSON.parse(this.storage.getItem(this.cfg.storageKey) || "null");
      if (s && typeof s.id === "string" && Array.isArray(s.items)) return s;
    } catch (e) { /* corrupt or blocked storage: start fresh */ }
    return null;
  };

  Conversation.prototype.save = function () {
    if (!this.storage) return;
    try {
      this.state.items = this.state.items.slice(-120);
      this.storage.setItem(this.cfg.storageKey, JSON.stringify(this.state));
    } catch (e) { /* storage full or blocked: the conversation still works */ }
  };

  Conversation.prototype.restore = function () {
    var self = this;
    this.state.items.forEach(function (item) {
      if (item.role === "user") self._appendUser(item.text, false);
      else if (item.role === "bot") self._appendBot(item.messages, false);
    });
    this._scroll(null);
  };

  Conversation.prototype.isEmpty = function () { return this.state.items.length === 0; };

  Conversation.prototype._appendUser = function (text) {
    this.ui.list.appendChild(renderUserTurn(text));
  };

  Conversation.prototype._appendBot = function (messages, live) {
    var self = this;
    (messages || []).forEach(function (raw) {  // the reply's own topic title wins
      var m = normaliseMessage(raw);
      if (m && m.custom && str(m.custom.topic) && str(m.custom.title)) {
        LABELS.topics[str(m.custom.topic)] = str(m.custom.title);
      }
    });
    var turn = analyseTurn(messages);
    this.turns.push(turn);
    var node = renderBotTurn(turn, this.cfg, {
      onChoose: function (b) { self.send(b.payload, b.title); },
      readAloud: this.opts.readAloud
    });
    this.ui.list.appendChild(node);
    if (live) this._announce(turn);
    if (this.opts.onTurn) this.opts.onTurn(turn, live);
    return node;
  };

  Conversation.prototype._announce = function (turn) {
    var text = turnPlainText(turn);
    var region = turn.escalation === "emergency" ? this.ui.alert : this.ui.live;
    var prefix = turn.escalation === "emergency" ? "Emergency. " :
      turn.escalation === "urgent" ? "Urgent. " : "Assistant: ";
    announce(region, prefix + text);
  };

  /** Show a new answer from its start (with the question above it when it fits). */
  Conversation.prototype._scroll = function (node) {
    var sc = this.ui.scroller;
    if (!sc) return;
    sc.scrollTop = sc.scrollHeight;
    if (!node) return;
    var prev = node.previousElementSibling;
    var first = prev && prev.classList.contains("ca-turn--user") ? prev : node;
    var top = offsetWithin(first, sc);
    if (offsetWithin(node, sc) + node.offsetHeight - top > sc.clientHeight) {
      if (first !== node && node.offsetHeight > sc.clientHeight - 60) top = offsetWithin(node, sc);
      sc.scrollTop = Math.max(0, top - 12);
    }
  };

  function offsetWithin(node, container) {
    return node.getBoundingClientRect().top - container.getBoundingClientRect().top + container.scrollTop;
  }

  Conversation.prototype._setBusy = function (busy) {
    this.busy = busy;
    if (this.ui.typing) this.ui.typing.hidden = !busy;
    if (!busy && this.ui.slow) this.ui.slow.hidden = true;
    if (this.opts.onBusy) this.opts.onBusy(busy);
  };

  /** Send `text` (a typed message or a button payload); show `display` as the user's words. */
  Conversation.prototype.send = function (text, display) {
    text = str(text).trim();
    if (!text || this.busy) return Promise.resolve(false);
    display = str(display) || text;
    this._removeFallback();
    this.lastSent = { text: text, display: display };
    this.state.items.push({ role: "user", text: display });
    this.save();
    this._appendUser(display);
    this._scroll(null);
    if (this.opts.onChange) this.opts.onChange();
    return this._request(text);
  };

  Conversation.prototype._request = function (text) {
    var self = this;
    var id = this.state.id;
    this._setBusy(true);
    this._scroll(null);
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    var slowTimer = setTimeout(function () {
      if (self.ui.slow) { self.ui.slow.hidden = false; self._scroll(null); }
    }, this.cfg.slowMs);
    var timer;
    var timeout = new Promise(function (_, reject) {
      timer = setTimeout(function () {
        if (ctrl) ctrl.abort();
        reject(new TransportError("timeout"));
      }, self.cfg.timeoutMs);
    });
    return Promise.race([this.transport.send(id, text, ctrl && ctrl.signal), timeout])
      .then(function (messages) {
        if (id !== self.state.id) return false;  // started over meanwhile
        var turn = analyseTurn(messages);
        if (turn.empty) throw new TransportError("empty");
        self.state.items.push({ role: "bot", messages: messages });
        self.save();
        self._setBusy(false);
        var node = self._appendBot(messages, true);
        self._scroll(node);
        if (self.opts.onChange) self.opts.onChange();
        return true;
      })
      .catch(function (err) {
        if (id !== self.state.id) return false;
        self._setBusy(false);
        self._showFallback(err && err.kind);
        return false;
      })
      .then(function (ok) {
        clearTimeout(timer);
        clearTimeout(slowTimer);
        return ok;
      });
  };

  Conversation.prototype._removeFallback = function () {
    var old = this.ui.list.querySelectorAll(".ca-fallback");
    Array.prototype.forEach.call(old, function (n) { n.remove(); });
  };

  /** The "can't answer right now" message: clinic phone and emergency number, and retry. */
  Conversation.prototype._showFallback = function (kind) {
    var self = this;
    var cfg = this.cfg;
    var lead = kind === "empty" ? "Sorry, I didn't get an answer to that."
      : kind === "timeout" ? "Sorry, the assistant is taking too long to answer."
        : kind === "busy" ? "Sorry, that was too many messages at once."
          : "Sorry, I can't reach the assistant right now.";
    var box = el("li", { class: "ca-turn ca-turn--system ca-fallback", attrs: { "data-kind": kind || "error" } });
    var inner = el("div", { class: "ca-bubble ca-bubble--system" });
    inner.appendChild(el("p", { class: "ca-fallback-title", text: lead }));
    var p = el("p");
    p.appendChild(document.createTextNode("Please try again in a moment"));
    if (cfg.clinicPhone) {
      p.appendChild(document.createTextNode(", or call " + (cfg.clinicName || "the clinic") + " on "));
      p.appendChild(numberLink(cfg.clinicPhone, cfg.clinicPhone, "ca-tel"));
    }
    p.appendChild(document.createTextNode("."));
    inner.appendChild(p);
    inner.appendChild(emergencyLine(cfg, null, "If this is an emergency, call "));
    if (this.lastSent) {
      inner.appendChild(el("button", {
        class: "ca-chip ca-retry", text: "Try again", attrs: { type: "button" },
        on: { click: function () {
          box.remove();
          self._request(self.lastSent.text);
        } }
      }));
    }
    box.appendChild(inner);
    this.ui.list.appendChild(box);
    announce(this.ui.alert, lead + " " + plainText(inner.textContent.replace(lead, "")));
    this._scroll(box);
  };

  /** Forget everything: new conversation id (the old one is never continued). */
  Conversation.prototype.reset = function () {
    stopSpeaking();
    this.state = { id: uuid(), items: [], open: this.state.open };
    this.turns = [];
    this.lastSent = null;
    this._setBusy(false);
    while (this.ui.list.firstChild) this.ui.list.removeChild(this.ui.list.firstChild);
    if (this.storage) {
      try { this.storage.removeItem(this.cfg.storageKey); } catch (e) { /* ignore */ }
      this.save();
    }
    if (this.transport && this.transport.close) this.transport.close();
    if (this.opts.onChange) this.opts.onChange();
  };

  /** Topics and the highest escalation so far (front-desk summary). No user text. */
  Conversation.prototype.summary = function () {
    var topics = [];
    var flags = [];
    var escalation = "none";
    this.turns.forEach(function (t) {
      t.topics.forEach(function (id) {
        if (QUIET_TOPICS[id] || id === "red_flag" || !id) return;
        if (topics.indexOf(id) < 0) topics.push(id);
      });
      t.flags.forEach(function (f) { if (flags.indexOf(f) < 0) flags.push(f); });
      if (TIER_RANK[t.escalation] > TIER_RANK[escalation]) escalation = t.escalation;
    });
    return { topics: topics, flags: flags, escalation: escalation };
  };

  function announce(region, text) {
    if (!region) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text.slice(0, 1200); }, 60);
  }

  function topicLabel(id) {
    return LABELS.topics[id] || (id.charAt(0).toUpperCase() + id.slice(1)).replace(/_/g, " ");
  }
  function flagLabel(id) {
    return LABELS.flags[id] || id.replace(/_/g, " ");
  }

  var SETTING_KEYS = { clinic_name: "clinicName", clinic_phone: "clinicPhone",
    booking_url: "bookingUrl", emergency_number: "emergencyNumber",
    emergency_department: "emergencyDepartment", urgent_line: "urgentLine",
    crisis_line: "crisisLine" };

  /**
   * The clinic's numbers and the labels, from the server that serves the scripts
   * (GET <base>/../assistant.json, i.e. web/serve.py's /assistant.json). Settings given as
   * data- attributes (cfg._given) win; anything the server lacks stays as it was. Resolves
   * with cfg either way, so a missing endpoint never stops the assistant.
   */
  function loadServerSettings(cfg, url) {
    if (!url || typeof fetch !== "function") return Promise.resolve(cfg);
    var late = new Promise(function (resolve) { setTimeout(function () { resolve(cfg); }, 3000); });
    return Promise.race([late, fetchSettings(cfg, url)]);
  }
  function fetchSettings(cfg, url) {
    return fetch(url, { credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) {
        if (!data || typeof data !== "object") return cfg;
        var clinic = data.clinic && typeof data.clinic === "object" ? data.clinic : {};
        Object.keys(SETTING_KEYS).forEach(function (k) {
          var key = SETTING_KEYS[k];
          if (!(cfg._given && cfg._given[key]) && str(clinic[k])) cfg[key] = str(clinic[k]);
        });
        if (data.topics && typeof data.topics === "object") LABELS.topics = data.topics;
        if (data.flags && typeof data.flags === "object") LABELS.flags = data.flags;
        return cfg;
      })
      .catch(function () { return cfg; });
  }

  /** Colour helpers: readable text colour for a custom primary colour. */
  function luminance(hex) {
    var m = /^#?([0-9a-f]{6}|[0-9a-f]{3})$/i.exec(str(hex).trim());
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    var rgb = [0, 2, 4].map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  }
  function applyColours(target, cfg) {
    var L = luminance(cfg.primaryColor);
    if (L == null) return;
    target.style.setProperty("--ca-primary", cfg.primaryColor);
    target.style.setProperty("--ca-on-primary", (1.05) / (L + 0.05) >= (L + 0.05) / 0.05 ? "#ffffff" : "#111111");
  }

  global.ClinicAssistantCore = {
    version: "1.0.0",
    TIER_RANK: TIER_RANK,
    STARTER_TOPICS: STARTER_TOPICS,
    uuid: uuid,
    el: el,
    icon: icon,
    safeUrl: safeUrl,
    telHref: telHref,
    renderRichText: renderRichText,
    plainText: plainText,
    normaliseMessage: normaliseMessage,
    analyseTurn: analyseTurn,
    readConfig: readConfig,
    createTransport: createTransport,
    renderBotTurn: renderBotTurn,
    renderUserTurn: renderUserTurn,
    numberLink: numberLink,
    emergencyLine: emergencyLine,
    renderButtons: renderButtons,
    Conversation: Conversation,
    announce: announce,
    topicLabel: topicLabel,
    flagLabel: flagLabel,
    loadServerSettings: loadServerSettings,
    sessionId: function (convo) { return convo.state.socketSession || convo.state.id; },
    applyColours: applyColours,
    speechAvailable: speechAvailable,
    stopSpeaking: stopSpeaking
  };
})(window);
