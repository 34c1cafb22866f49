// The roster's badge scanner: the camera and jsQR (vendored); each badge read is posted once.
(function () {
  "use strict";
  var box = document.getElementById("badge-scanner");
  if (!box || !window.jsQR || !navigator.mediaDevices) { return; }
  var video = box.querySelector("video");
  var status = box.querySelector("[data-scan-status]");
  var button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn-outline-primary btn-sm mb-2";
  button.textContent = box.getAttribute("data-start");
  box.insertBefore(button, video);
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d");
  var seen = {};

  function post(text) {
    var body = new URLSearchParams({ badge: text, csrf_token: box.getAttribute("data-csrf") });
    fetch(box.getAttribute("data-url"), { method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) { status.textContent = data.message; })
      .catch(function () { delete seen[text]; });
  }

  function tick() {
    if (video.readyState === video.HAVE_ENOUGH_DATA) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(image.data, image.width, image.height);
      if (found && found.data && !seen[found.data]) {
        seen[found.data] = true;
        post(found.data);
      }
    }
    requestAnimationFrame(tick);
  }

  button.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.classList.remove("d-none");
      button.remove();
      video.play();
      requestAnimationFrame(tick);
    }).catch(function (error) { status.textContent = String(error); });
  });
})();
