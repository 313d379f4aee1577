/* Embed the web chat on another site with one tag:
 *
 *   <script src="https://BOT-ADDRESS/static/embed.js" async></script>
 *
 * It adds a floating button that opens the chat (an iframe of /chat?embed=1)
 * in a panel; on phones it fills the screen under a bar with the close button. Optional attributes on the tag:
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
  /* On a phone the open chat fills the screen below a bar that holds the close
   * button, so the button never covers the chat's own header ("Nueva", title). */
  var PHONE_WIDTH = 520;
  var BAR = 48;
  var FLOATING = {
    top: "auto", left: "auto", right: "16px", bottom: "16px", width: "auto", height: "auto",
    padding: "12px 18px", borderRadius: "999px", background: "#0b4f8a", textAlign: "center",
    boxShadow: "0 4px 14px rgba(0,0,0,.25)"
  };

  function isOpen() { return panel.style.display !== "none"; }

  function fit() {
    var phone = window.innerWidth < PHONE_WIDTH;
    css(panel, phone
      ? { top: BAR + "px", right: "0", bottom: "0", left: "0", width: "auto", height: "auto",
          maxWidth: "none", maxHeight: "none", borderRadius: "0" }
      : { top: "auto", left: "auto", right: "16px", bottom: "76px", width: "380px", height: "600px",
          maxWidth: "calc(100vw - 32px)", maxHeight: "calc(100vh - 100px)", borderRadius: "14px" });
    css(button, phone && isOpen()
      ? { top: "0", left: "0", right: "0", bottom: "auto", width: "100%", height: BAR + "px",
          padding: "0 16px", borderRadius: "0", background: "#083a66", textAlign: "right", boxShadow: "none" }
      : FLOATING);
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
    fit();
  }

  button.addEventListener("click", function () { toggle(!isOpen()); });
  window.addEventListener("resize", fit);

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(button);
    if (script.getAttribute("data-open") === "true") toggle(true);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
