// Member import: follow a running job's progress, then reload the page when it has finished.
(function () {
  "use strict";
  var box = document.querySelector("[data-import-progress]");
  if (!box) { return; }
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  var url = box.getAttribute("data-url");
  var format = new Intl.NumberFormat(document.documentElement.lang || undefined);

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { setTimeout(poll, 5000); return; }
        bar.value = state.percent;
        text.textContent = format.format(state.processed) + " / " + format.format(state.total);
        if (state.busy) { setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
