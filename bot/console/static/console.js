// Staff console: live updates by polling, one-click canned responses, confirmations, reveal.
// No inline scripts anywhere (the CSP forbids them): everything is wired here.
(function () {
  "use strict";
  // The login page opened over http:// while the console's cookies are Secure (PUBLIC_BASE_URL is
  // https): the browser will not keep the session, so say where to open it before a try.
  var httpsNeeded = document.getElementById("https-needed");
  if (httpsNeeded && window.location.protocol === "http:") {
    httpsNeeded.hidden = false;
  }
  var body = document.body;
  var prefix = body.dataset.prefix || "/console";
  var csrf = body.dataset.csrf || "";
  var page = body.dataset.page || "";
  var baseTitle = document.title;
  var POLL_MS = 3000;

  function setUnread(n) {
    var badge = document.getElementById("unread-badge");
    if (badge) { badge.textContent = String(n); badge.hidden = !n; }
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
  }

  // Logged out under a half-written reply (idle too long, or logged out elsewhere): the drafts
  // are kept in this tab, and the login comes back to this very page.
  // Both of a ticket page's polls can see the 401: only the first navigates, since a second
  // location change aborts the first one's load (the browser shows a half-loaded login).
  var DRAFTS = ["reply-text", "note-text"];
  function loggedOut() {
    if (leaving) throw new Error("logged out");
    leaving = true;
    try {
      DRAFTS.forEach(function (id) {
        var el = document.getElementById(id);
        if (el && el.value.trim()) sessionStorage.setItem("draft:" + location.pathname + ":" + id, el.value);
      });
    } catch (e) { /* storage refused: the login still comes back here */ }
    window.location.href = prefix + "/login?ended=1&next=" + encodeURIComponent(location.pathname);
    throw new Error("logged out");
  }
  try {
    DRAFTS.forEach(function (id) {
      var el = document.getElementById(id), key = "draft:" + location.pathname + ":" + id;
      var kept = sessionStorage.getItem(key);
      if (el && kept && !el.value.trim()) el.value = kept;
      sessionStorage.removeItem(key);
    });
  } catch (e) { /* no storage: nothing was kept */ }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) loggedOut();
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
  }

  // A form on its way to the server means the page is leaving: live updates stop. Otherwise a
  // poll that sees the change this very form made (a ticket resolved, a chat taken) reloads the
  // page over the form's answer, and the confirmation ("Reporte resuelto…") never shows.
  var leaving = false;

  function every(fn) {
    var running = false;
    function tick() {
      if (running || leaving || document.hidden) return;
      running = true;
      fn().catch(function () {}).then(function () { running = false; });
    }
    setInterval(tick, POLL_MS);
    document.addEventListener("visibilitychange", tick);
  }

  // Confirmation on destructive or visible-to-student actions.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-confirm]");
    if (el && !window.confirm(el.dataset.confirm)) { ev.preventDefault(); }
  });

  // Canned responses: one click inserts the text at the cursor.
  document.addEventListener("click", function (ev) {
    var chip = ev.target.closest("[data-insert]");
    if (!chip) return;
    var area = document.getElementById("reply-text");
    if (!area) return;
    var text = chip.dataset.insert;
    // At the cursor (its start too: 0 is a position), set apart from the words around it.
    var start = area.selectionStart == null ? area.value.length : area.selectionStart;
    var end = area.selectionEnd == null ? start : area.selectionEnd;
    var before = area.value.slice(0, start), after = area.value.slice(end);
    if (before && !/\s$/.test(before)) text = " " + text;
    if (after && !/^\s/.test(after)) text = text + " ";
    area.value = before + text + after;
    area.focus();
    area.selectionStart = area.selectionEnd = before.length + text.length;
  });

  // Reveal NSS / CURP in place (recorded in the audit log by the server).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList.contains("reveal-form")) return;
    ev.preventDefault();
    fetch(form.action, { method: "POST", credentials: "same-origin", body: new FormData(form),
                         headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var span = document.querySelector('.masked[data-field="' + data.field + '"]');
        if (span && typeof data.value === "string") { span.textContent = data.value; span.classList.add("revealed"); }
        form.remove();
      }).catch(function () { form.submit(); });
  });

  // An internal note is saved in place: a refusal is said above the note box and the text stays
  // in it (never in the reply box, one click from the student); a session that ended meanwhile
  // keeps it, as the polls do, for after the login.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.id !== "note-form") return;
    ev.preventDefault();
    var error = document.getElementById("note-error");
    var button = form.querySelector("button");
    function refused(message) {
      error.textContent = message; error.hidden = false;
      document.getElementById("note-text").focus();
    }
    error.hidden = true;
    if (button) button.disabled = true;
    fetch(form.action, { method: "POST", credentials: "same-origin", body: new FormData(form),
                         headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
      .then(function (r) {
        if (r.status === 401) loggedOut();
        return r.json().catch(function () { return { error: "No se pudo guardar la nota (error " + r.status + ")." }; });
      })
      .then(function (data) {
        if (data.ok) {
          leaving = true;
          window.location.href = prefix + "/tickets/" + body.dataset.ticket + "?m=" + data.ok;
        } else {
          refused((data.error || "No se pudo guardar la nota.") + " Tu nota sigue aquí.");
        }
      })
      .catch(function (e) {
        if (!leaving) refused("No se pudo guardar la nota (¿sin conexión?). Tu nota sigue aquí; inténtalo otra vez.");
      })
      .then(function () { if (button) button.disabled = false; });
  });

  // After the handlers above, so a submission they took over (reveal, a note) does not count as leaving.
  document.addEventListener("submit", function (ev) { if (!ev.defaultPrevented) leaving = true; });

  // A table wider than its card (a phone) scrolls inside it: say so above it, since phones hide
  // scrollbars; the hint goes away when the table fits (a wider window, a phone turned).
  var wraps = document.querySelectorAll(".table-wrap");
  function scrollHints() {
    Array.prototype.forEach.call(wraps, function (wrap) {
      var hint = wrap.previousElementSibling;
      if (!hint || !hint.classList.contains("scroll-hint")) {
        hint = document.createElement("p");
        hint.className = "scroll-hint";
        hint.textContent = "Desliza la tabla hacia los lados para ver todas las columnas.";
        wrap.parentNode.insertBefore(hint, wrap);
      }
      hint.hidden = wrap.scrollWidth <= wrap.clientWidth + 1;
    });
  }
  if (wraps.length) { scrollHints(); window.addEventListener("resize", scrollHints); }

  // Send the reply with Ctrl/Cmd+Enter.
  var reply = document.getElementById("reply-text");
  if (reply) {
    reply.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); reply.form.requestSubmit(); }
    });
  }

  // Typing a reply (or a note) to a chat you hold is working on it: the hold, which goes back to
  // the bot after HOLD_TIMEOUT_MINUTES without activity, is kept alive. At most one ping every
  // 30 s, the first at once; nothing reaches the student.
  var PING_MS = 30000, lastPing = null;
  function keepHold() {
    var now = Date.now();
    if (leaving || (lastPing !== null && now - lastPing < PING_MS)) return;
    lastPing = now;
    fetch(prefix + "/api/tickets/" + body.dataset.ticket + "/typing", {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
    }).then(function (r) { if (r.status === 401) loggedOut(); }).catch(function () {});
  }
  if (reply && page === "ticket") {
    reply.addEventListener("input", keepHold);
    var noteBox = document.getElementById("note-text");
    if (noteBox) noteBox.addEventListener("input", keepHold);
  }

  if (page === "inbox") {
    var rows = document.getElementById("inbox-rows");
    var signature = body.dataset.signature;
    // The filters as applied to this page, POSTed so a search never goes into a URL.
    var filterForm = document.getElementById("filters");
    var applied = filterForm ? new URLSearchParams(new FormData(filterForm)).toString() : "";
    every(function () {
      var poll = filterForm ? fetch(prefix + "/api/inbox", {
        method: "POST", credentials: "same-origin", body: applied,
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (r) {
        if (r.status === 401) loggedOut();
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      }) : getJSON(prefix + "/api/inbox" + window.location.search);
      return poll.then(function (data) {
        setUnread(data.unread);
        if (data.signature !== signature) { rows.innerHTML = data.html; signature = data.signature; }
      });
    });
    getJSON(prefix + "/api/unread").then(function (d) { setUnread(d.unread); }).catch(function () {});
  } else if (page === "ticket") {
    var box = document.getElementById("messages");
    var sig = body.dataset.signature, sideSig = body.dataset.sideSignature;
    var holder = body.dataset.holder, status = body.dataset.status;
    var scrollDown = function () { box.scrollTop = box.scrollHeight; };
    scrollDown();
    every(function () {
      return getJSON(prefix + "/api/tickets/" + body.dataset.ticket).then(function (data) {
        if (data.signature !== sig) {
          var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
          box.innerHTML = data.html; sig = data.signature;
          if (atBottom) scrollDown();
        }
        if (data.side_signature !== sideSig) {
          var items = document.getElementById("history-items"), notes = document.getElementById("notes");
          if (items) items.innerHTML = data.history_html;
          if (notes) notes.innerHTML = data.notes_html;
          sideSig = data.side_signature;
          var reasonLabel = document.getElementById("ticket-reason");
          if (reasonLabel && data.reason_label) reasonLabel.textContent = data.reason_label;
        }
        if (String(data.holder_id || "") !== holder || data.status !== status) {
          // A half-written reply or note is not thrown away by reloading under it.
          var writing = DRAFTS.some(function (id) {
            var el = document.getElementById(id);
            return el && el.value.trim();
          });
          if (!writing) { window.location.reload(); }
          else { document.getElementById("changed").hidden = false; }
        }
      });
    });
    every(function () { return getJSON(prefix + "/api/unread").then(function (d) { setUnread(d.unread); }); });
  } else if (page && page !== "login") {
    getJSON(prefix + "/api/unread").then(function (d) { setUnread(d.unread); }).catch(function () {});
  }
})();
