// The check-in display: poll the current code and refresh the QR code when it changes.
(function () {
  "use strict";
  var box = document.getElementById("checkin-display");
  if (!box) { return; }
  var codeEl = box.querySelector("[data-checkin-code]");
  var qr = box.querySelector("[data-checkin-qr]");
  function poll() {
    fetch(box.getAttribute("data-code-url"), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (data.code !== codeEl.textContent) {
          codeEl.textContent = data.code;
          qr.src = box.getAttribute("data-qr-url") + "?t=" + Date.now();
        }
      })
      .catch(function () {});
  }
  setInterval(poll, 3000);
})();
