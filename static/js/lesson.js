// The lesson page's heartbeat: every N seconds while the page is visible, tell the server how far down
// the page the reader is; the server credits at most the real time elapsed. "Continue studying" brings
// the reader back to where they were. No inline script (the CSP forbids it).
(function () {
  "use strict";
  var panel = document.getElementById("study-panel");
  if (!panel) { return; }
  var url = panel.getAttribute("data-heartbeat-url");
  var seconds = parseInt(panel.getAttribute("data-heartbeat-seconds"), 10) || 30;
  var csrf = panel.getAttribute("data-csrf");
  var resumeAt = parseInt(panel.getAttribute("data-resume-at"), 10) || 0;
  var studied = panel.querySelector("[data-studied]");
  var button = panel.querySelector("[data-complete]");

  function scrollable() {
    return Math.max(0, document.documentElement.scrollHeight - window.innerHeight);
  }

  function readPermille() {
    var height = scrollable();
    return height > 0 ? Math.min(1000, Math.max(0, Math.round(window.scrollY / height * 1000))) : 0;
  }

  function beat(resume) {
    if (document.visibilityState !== "visible") { return; }
    fetch(url + (resume ? "?resume=1" : ""), {
      method: "POST", credentials: "same-origin", body: new URLSearchParams({ read: String(readPermille()) }),
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (studied && data.studied) { studied.textContent = data.studied; }
        if (button && data.can_complete) { button.disabled = false; }
      })
      .catch(function () { /* offline: the next beat tries again */ });
  }

  function restore() {  // once images have their height, unless the reader has scrolled already
    if (window.scrollY === 0) { window.scrollTo(0, Math.round(scrollable() * resumeAt / 1000)); }
  }
  if (resumeAt > 0 && !window.location.hash) {
    if (document.readyState === "complete") { restore(); } else { window.addEventListener("load", restore); }
  }
  setInterval(function () { beat(false); }, seconds * 1000);
  // Back from a hidden tab: restart the clock; the hidden time is not study time.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { beat(true); }
  });
})();
