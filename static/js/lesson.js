// The lesson page's heartbeat: every N seconds while the page is visible, tell the server;
// the server credits at most the real time elapsed. No inline script (the CSP forbids it).
(function () {
  "use strict";
  var panel = document.getElementById("study-panel");
  if (!panel) { return; }
  var url = panel.getAttribute("data-heartbeat-url");
  var seconds = parseInt(panel.getAttribute("data-heartbeat-seconds"), 10) || 30;
  var csrf = panel.getAttribute("data-csrf");
  var studied = panel.querySelector("[data-studied]");
  var button = panel.querySelector("[data-complete]");

  function beat(resume) {
    if (document.visibilityState !== "visible") { return; }
    fetch(url + (resume ? "?resume=1" : ""), { method: "POST", headers: { "X-CSRFToken": csrf, "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (studied) { studied.textContent = Math.floor(data.seconds / 60); }
        if (button && data.can_complete) { button.disabled = false; }
      })
      .catch(function () { /* offline: the next beat tries again */ });
  }
  setInterval(function () { beat(false); }, seconds * 1000);
  // Back from a hidden tab: restart the clock; the hidden time is not study time.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { beat(true); }
  });
})();
