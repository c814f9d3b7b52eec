// Draws the dashboard's charts with the vendored Chart.js from the numbers the server computed.
(function () {
  "use strict";

  var COLOURS = { live: "#1e7d43", spoof: "#b3261e", resubmit: "#c98a00", undecided: "#9aa3b2",
    auto: "#2357d9", operator: "#8a4fd8", p50: "#2357d9", p95: "#b3261e" };

  function bar(id, labels, series, stacked) {
    var canvas = document.getElementById(id);
    if (!canvas || !window.Chart) { return; }
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: labels,
        datasets: series.map(function (s) {
          return { label: s.label, data: s.data, backgroundColor: COLOURS[s.key] || "#5b6577" };
        })
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("dashboard-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent);
    bar("chart-outcomes", data.days, [
      { key: "live", label: "live", data: data.outcomes.live },
      { key: "spoof", label: "spoof", data: data.outcomes.spoof },
      { key: "resubmit", label: "resubmission", data: data.outcomes.resubmit },
      { key: "undecided", label: "no verdict yet", data: data.outcomes.undecided }
    ], true);
    bar("chart-deciders", data.days, [
      { key: "auto", label: "automatic", data: data.deciders.auto },
      { key: "operator", label: "operator", data: data.deciders.operator }
    ], false);
    bar("chart-latency", data.providers.labels, [
      { key: "p50", label: "p50", data: data.providers.p50 },
      { key: "p95", label: "p95", data: data.providers.p95 }
    ], false);
    document.body.setAttribute("data-charts-drawn", "true");
  });
})();
