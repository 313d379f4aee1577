/* The web chat page. No framework, no inline script (CSP: script-src 'self').
 *
 * The session id is 24 random bytes kept in localStorage: it is the only
 * key to this conversation, so it is sent in a header (never in the URL,
 * where logs and referrers would keep it). Text is always inserted as text
 * nodes, never as HTML.
 */
(function () {
  "use strict";

  var API = "chat/api/messages"; // relative to /chat, so the app may live under a path prefix
  var STORE_KEY = "seguro-bot.chat.session";
  var POLL_MS = 3000;
  var POLL_HIDDEN_MS = 15000;
  var MAX_TEXT = 4000;

  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var sendButton = document.getElementById("send");
  var agent = document.getElementById("agent");
  var restart = document.getElementById("restart");

  var session = null;
  var lastId = 0;
  var seen = {};
  var busy = 0;
  var typing = null;
  var pollTimer = null;
  var memory = {};

  if (/[?&]embed=1\b/.test(location.search)) document.body.classList.add("embedded");

  // --- storage (localStorage may be blocked in a third-party iframe) -------

  function load(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return memory[key] || null; }
  }
  function save(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { memory[key] = value; }
  }

  function randomId(bytes) {
    var buf = new Uint8Array(bytes);
    window.crypto.getRandomValues(buf);
    var s = "";
    for (var i = 0; i < buf.length; i++) s += String.fromCharCode(buf[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function currentSession() {
    var sid = load(STORE_KEY);
    if (!sid || !/^[A-Za-z0-9_-]{22,128}$/.test(sid)) {
      sid = randomId(24);
      save(STORE_KEY, sid);
    }
    return sid;
  }

  // --- rendering -----------------------------------------------------------

  var LINK = /(https?:\/\/[^\s<>()]+[^\s<>().,;:!?])|(\*[^*\n]+\*)/g;

  /* Append ``text`` to ``el``: WhatsApp-style *bold* and bare links, as nodes. */
  function appendFormatted(el, text) {
    var last = 0;
    var match;
    LINK.lastIndex = 0;
    while ((match = LINK.exec(text)) !== null) {
      if (match.index > last) el.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (match[1]) {
        var a = document.createElement("a");
        a.href = match[1];
        a.textContent = match[1];
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        el.appendChild(a);
      } else {
        var b = document.createElement("strong");
        b.textContent = match[2].slice(1, -1);
        el.appendChild(b);
      }
      last = LINK.lastIndex;
    }
    if (last < text.length) el.appendChild(document.createTextNode(text.slice(last)));
  }

  function time(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) d = new Date();
    return d.toLocaleTimeString("es-MX", { hour: "2-digit", minute: "2-digit" });
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function disableOldOptions() {
    var old = log.querySelectorAll(".option");
    for (var i = 0; i < old.length; i++) old[i].disabled = true;
  }

  function bubble(kind, text, at) {
    var el = document.createElement("div");
    el.className = "msg " + kind;
    if (kind === "staff") {
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = "Mesa de ayuda";
      el.appendChild(who);
    }
    appendFormatted(el, text);
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = time(at);
    el.appendChild(meta);
    return el;
  }

  function render(message) {
    if (message.id != null) {
      if (seen[message.id]) return;
      seen[message.id] = true;
      if (message.id > lastId) lastId = message.id;
    }
    var kind = message.from === "student" ? "student" : (message.from === "staff" ? "staff" : "bot");
    if (kind !== "student") disableOldOptions();
    var el = bubble(kind, message.text || "", message.at);
    if (message.options && message.options.length) {
      var box = document.createElement("div");
      box.className = "options";
      message.options.forEach(function (option) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "option";
        var key = document.createElement("span");
        key.className = "key";
        key.textContent = option.key + ".";
        button.appendChild(key);
        button.appendChild(document.createTextNode(option.label));
        button.addEventListener("click", function () {
          send(option.key, option.key + ". " + option.label);
        });
        box.appendChild(button);
      });
      el.insertBefore(box, el.lastChild);
    }
    insert(el);
  }

  function insert(el) {
    if (typing && typing.parentNode) log.insertBefore(el, typing); else log.appendChild(el);
    scrollDown();
  }

  function showTyping(on) {
    if (on && !typing) {
      typing = document.createElement("div");
      typing.className = "typing";
      typing.setAttribute("aria-label", "El asistente está escribiendo");
      for (var i = 0; i < 3; i++) typing.appendChild(document.createElement("span"));
      log.appendChild(typing);
      scrollDown();
    } else if (!on && typing) {
      typing.remove();
      typing = null;
    }
  }

  function showAgent(holder) {
    agent.textContent = holder === "staff"
      ? "Te atiende una persona de la mesa de ayuda"
      : "Asistente de la mesa de ayuda · ITSON";
  }

  function welcome() {
    var el = bubble("bot", "¡Hola! 👋 Soy el asistente del Seguro Facultativo del ITSON. " +
      "Escríbeme tu duda con tus palabras o toca «Empezar».");
    var box = document.createElement("div");
    box.className = "options";
    var start = document.createElement("button");
    start.type = "button";
    start.className = "option";
    start.textContent = "Empezar";
    start.addEventListener("click", function () { send("hola", "Hola"); });
    box.appendChild(start);
    el.insertBefore(box, el.lastChild);
    log.appendChild(el);
  }

  function notice(text) {
    var p = document.createElement("p");
    p.className = "notice";
    p.textContent = text;
    insert(p);
  }

  // --- talking to the server -------------------------------------------------

  function request(method, body) {
    var url = API + (method === "GET" ? "?after=" + encodeURIComponent(lastId) : "");
    var headers = { "X-Chat-Session": session, "Accept": "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 429) {
        // Too many messages from this connection: the server says what to do, in Spanish.
        return response.json().catch(function () { return {}; }).then(function (data) {
          var error = new Error("HTTP 429");
          error.notice = typeof data.detail === "string" ? data.detail
            : "Se recibieron demasiados mensajes desde tu conexión. Espera un minuto y vuelve a intentarlo.";
          throw error;
        });
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  function accept(data) {
    if (data.agent) showAgent(data.agent);
    (data.messages || []).forEach(render);
  }

  function send(text, shown) {
    text = (text || "").trim();
    if (!text) return;
    if (text.length > MAX_TEXT) {
      notice("Tu mensaje es muy largo (máximo " + MAX_TEXT + " caracteres).");
      return;
    }
    var clientId = randomId(12);
    var mine = bubble("student", shown || text);
    mine.classList.add("pending");
    insert(mine);
    busy++;
    showTyping(true);
    var attempt = function () {
      return request("POST", { session: session, text: text, after: lastId, client_id: clientId });
    };
    attempt()
      .catch(function (error) {
        if (error && error.notice) throw error;  // a retry in 1.5 s would be refused too
        return new Promise(function (r) { setTimeout(r, 1500); }).then(attempt);
      })
      .then(function (data) {
        mine.classList.remove("pending");
        if (data.id != null) seen[data.id] = true;
        accept(data);
      })
      .catch(function (error) {
        if (error && error.notice) notice(error.notice);
        mine.classList.remove("pending");
        mine.classList.add("failed");
        var retry = document.createElement("button");
        retry.type = "button";
        retry.className = "retry";
        retry.textContent = "No se envió. Reintentar";
        retry.addEventListener("click", function () { mine.remove(); send(text, shown); });
        mine.appendChild(retry);
      })
      .then(function () {
        busy--;
        if (!busy) showTyping(false);
      });
  }

  function poll() {
    clearTimeout(pollTimer);
    var next = document.hidden ? POLL_HIDDEN_MS : POLL_MS;
    if (busy) { pollTimer = setTimeout(poll, next); return; }
    request("GET")
      .then(accept)
      .catch(function () { /* offline for a moment: the next poll catches up */ })
      .then(function () { pollTimer = setTimeout(poll, next); });
  }

  function start() {
    session = currentSession();
    lastId = 0;
    seen = {};
    while (log.firstChild) log.removeChild(log.firstChild);
    showAgent("bot");
    request("GET")
      .then(function (data) {
        if (!data.messages || !data.messages.length) welcome();
        accept(data);
      })
      .catch(function () { welcome(); })
      .then(function () { pollTimer = setTimeout(poll, POLL_MS); });
  }

  // --- wiring ----------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    grow();
    send(text);
    input.focus();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : sendButton.click();
    }
  });

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  }
  input.addEventListener("input", grow);

  restart.addEventListener("click", function () {
    if (!window.confirm("¿Empezar una conversación nueva? La actual dejará de verse aquí.")) return;
    clearTimeout(pollTimer);
    save(STORE_KEY, randomId(24));
    start();
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) poll();
  });

  start();
})();
