/* Embed the web chat on another site with one tag:
 *
 *   <script src="https://BOT-ADDRESS/static/embed.js" async></script>
 *
 * It adds a floating button that opens the chat (an iframe of /chat?embed=1)
 * in a panel; full screen on phones. Optional attributes on the tag:
 * data-label="¿Dudas del seguro?" (button text), data-open="true" (start open).
 * Styles are set through the DOM, so it works on pages whose CSP forbids
 * inline styles; the host page must allow frame-src for the bot's address.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__seguroBotEmbed) return;
  window.__seguroBotEmbed = true;

  var src = new URL(script.src, location.href);
  var base = src.href.replace(/\/static\/embed\.js(\?.*)?$/, "");
  var label = script.getAttribute("data-label") || "¿Dudas del Seguro Facultativo?";

  function css(el, styles) {
    for (var key in styles) if (Object.prototype.hasOwnProperty.call(styles, key)) el.style[key] = styles[key];
  }

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "💬 " + label;
  button.setAttribute("aria-expanded", "false");
  css(button, {
    position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000",
    padding: "12px 18px", borderRadius: "999px", border: "0", cursor: "pointer",
    background: "#0b4f8a", color: "#fff", font: "600 15px system-ui, sans-serif",
    boxShadow: "0 4px 14px rgba(0,0,0,.25)"
  });

  var panel = document.createElement("div");
  css(panel, {
    position: "fixed", right: "16px", bottom: "76px", zIndex: "2147483000",
    width: "380px", height: "600px", maxWidth: "calc(100vw - 32px)", maxHeight: "calc(100vh - 100px)",
    borderRadius: "14px", overflow: "hidden", boxShadow: "0 8px 30px rgba(0,0,0,.3)",
    display: "none", background: "#eef2f6"
  });

  var frame = null;

  function fit() {
    var phone = window.innerWidth < 520;
    css(panel, phone
      ? { right: "0", bottom: "0", width: "100vw", height: "100%", maxWidth: "none", maxHeight: "none", borderRadius: "0" }
      : { right: "16px", bottom: "76px", width: "380px", height: "600px", maxWidth: "calc(100vw - 32px)",
          maxHeight: "calc(100vh - 100px)", borderRadius: "14px" });
  }

  function toggle(open) {
    if (open && !frame) {
      frame = document.createElement("iframe");
      frame.src = base + "/chat?embed=1";
      frame.title = "Chat del Seguro Facultativo (ITSON)";
      css(frame, { width: "100%", height: "100%", border: "0", display: "block" });
      panel.appendChild(frame);
    }
    panel.style.display = open ? "block" : "none";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.textContent = open ? "✕ Cerrar chat" : "💬 " + label;
    if (open && window.innerWidth < 520) css(button, { bottom: "auto", top: "12px" });
    else css(button, { top: "auto", bottom: "16px" });
    fit();
  }

  button.addEventListener("click", function () { toggle(panel.style.display === "none"); });
  window.addEventListener("resize", fit);

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(button);
    if (script.getAttribute("data-open") === "true") toggle(true);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
