// The hours report's bar chart (Chart.js from static/vendor); the data sits in data-chart.
(function () {
  "use strict";
  var canvas = document.getElementById("hours-chart");
  if (!canvas || !window.Chart) { return; }
  var data = JSON.parse(canvas.getAttribute("data-chart"));
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label: canvas.getAttribute("data-label"), data: data.hours,
      backgroundColor: "#b71c1c" }] },
    options: { indexAxis: data.labels.length > 6 ? "y" : "x", plugins: { legend: { display: false } },
      responsive: true, animation: false }
  });
})();
