// Mock exams and online rounds: each answer is saved as soon as it changes (POST …/answer), and the time
// left counts down from what the server said; at zero the page reloads and the server decides.
(function () {
  "use strict";
  var form = document.querySelector("form[data-answer-url]");
  if (!form) { return; }
  var url = form.getAttribute("data-answer-url");
  var status = document.querySelector("[data-save-status]");
  var csrf = form.querySelector("input[name=csrf_token]");

  function save(card) {
    var body = new FormData();
    body.append("csrf_token", csrf ? csrf.value : "");
    body.append("version", card.getAttribute("data-version"));
    card.querySelectorAll("input").forEach(function (input) {
      if (input.name.charAt(0) === "c" && input.checked) { body.append("choice", input.value); }
      if (input.name.charAt(0) === "b") { body.append("blank", input.value); }
    });
    fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (status) { status.textContent = status.getAttribute(response.ok ? "data-saved" : "data-failed"); }
        if (response.status === 409) { window.location.reload(); }
      })
      .catch(function () { if (status) { status.textContent = status.getAttribute("data-failed"); } });
  }

  form.addEventListener("change", function (event) {
    var card = event.target.closest("[data-version]");
    if (card) { save(card); }
  });

  var focusUrl = form.getAttribute("data-focus-url");
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "hidden" || !focusUrl) { return; }
    var body = new FormData();
    body.append("csrf_token", csrf ? csrf.value : "");
    if (navigator.sendBeacon) { navigator.sendBeacon(focusUrl, body); }
  });

  var clock = document.querySelector("[data-seconds-left]");
  if (clock) {
    var left = parseInt(clock.getAttribute("data-seconds-left"), 10);
    var label = clock.querySelector("[data-countdown]");
    var timer = window.setInterval(function () {
      left -= 1;
      if (label) { label.textContent = Math.floor(Math.max(left, 0) / 60) + ":" + ("0" + Math.max(left, 0) % 60).slice(-2); }
      if (left <= 0) { window.clearInterval(timer); window.location.reload(); }
    }, 1000);
  }
}());
