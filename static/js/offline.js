// Worker Classroom offline: registers the service worker (/sw.js, named by this script's
// data-service-worker), shows the page's "last updated" notice while there is no connection, and stops a
// form from being sent into the void, saying so instead.
(function () {
  "use strict";

  var script = document.currentScript;
  var worker = script && script.getAttribute("data-service-worker");
  if (worker && "serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(worker).catch(function () { /* the site works without it */ });
    });
  }

  var notice = document.querySelector("[data-offline-notice]");
  if (!notice) { return; }

  // "last updated", written by the server in the reader's language and timezone
  notice.textContent = notice.getAttribute("data-last-updated");

  function showConnection() {
    notice.hidden = navigator.onLine;
  }
  window.addEventListener("online", showConnection);
  window.addEventListener("offline", showConnection);
  showConnection();

  function sayNotSent(form) {
    var message = form.querySelector("[data-no-connection]");
    if (!message) {
      message = document.createElement("div");
      message.className = "alert alert-danger";
      message.setAttribute("role", "alert");
      message.setAttribute("data-no-connection", "");
      form.insertBefore(message, form.firstChild);
    }
    message.textContent = notice.getAttribute("data-not-sent");
  }

  document.addEventListener("submit", function (event) {
    if (navigator.onLine) { return; }
    event.preventDefault();
    sayNotSent(event.target);
  });
  window.addEventListener("online", function () {
    document.querySelectorAll("[data-no-connection]").forEach(function (message) { message.remove(); });
  });
})();
