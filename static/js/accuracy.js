// Draws the accuracy page's charts with the vendored Chart.js from the numbers the server computed.
(function () {
  "use strict";

  var LIVE = "#1e7d43", SPOOF = "#b3261e", NOW = "#2357d9", SUGGESTED = "#c98a00";

  function marker(x, colour, label) {
    return { label: label, data: [{ x: x, y: 0 }, { x: x, y: 1 }], borderColor: colour, borderDash: [6, 4],
      pointRadius: 0, borderWidth: 1.5, showLine: true };
  }

  function rates(id, row) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    var sets = [
      { label: "APCER (spoof accepted)", data: row.curve.map(function (p) { return { x: p.threshold, y: p.apcer }; }),
        borderColor: SPOOF, backgroundColor: SPOOF, stepped: "before", pointRadius: 0, showLine: true },
      { label: "BPCER (live refused)", data: row.curve.map(function (p) { return { x: p.threshold, y: p.bpcer }; }),
        borderColor: LIVE, backgroundColor: LIVE, stepped: "before", pointRadius: 0, showLine: true },
      marker(row.threshold, NOW, "current threshold")
    ];
    row.suggested.forEach(function (t) { sets.push(marker(t, SUGGESTED, "suggested")); });
    new window.Chart(canvas, {
      type: "scatter",
      data: { datasets: sets },
      options: { animation: false, maintainAspectRatio: false,
        scales: { x: { min: 0, max: 1, title: { display: true, text: "threshold" } },
                  y: { min: 0, max: 1, title: { display: true, text: "error rate" } } },
        plugins: { legend: { position: "bottom" } } }
    });
  }

  function det(id, row, ticks) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    var low = ticks[0].value, high = ticks[ticks.length - 1].value;
    function axis(text) {
      return { min: low, max: high, title: { display: true, text: text },
        afterBuildTicks: function (scale) { scale.ticks = ticks.map(function (t) { return { value: t.value }; }); },
        ticks: { callback: function (value) {
          for (var i = 0; i < ticks.length; i++) { if (Math.abs(ticks[i].value - value) < 1e-9) { return ticks[i].label; } }
          return "";
        } } };
    }
    new window.Chart(canvas, {
      type: "scatter",
      data: { datasets: [{ label: "DET (normal-deviate axes)", data: row.det, borderColor: NOW, backgroundColor: NOW,
        showLine: true, pointRadius: 2 }] },
      options: { animation: false, maintainAspectRatio: false,
        scales: { x: axis("APCER"), y: axis("BPCER") },
        plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: function (c) {
          return "threshold " + c.raw.threshold;
        } } } } }
    });
  }

  function histogram(id, row) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    var edges = row.histogram.edges, labels = [];
    for (var i = 0; i + 1 < edges.length; i++) { labels.push(edges[i].toFixed(2)); }
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [
        { label: "live (people said)", data: row.histogram.live, backgroundColor: LIVE },
        { label: "spoof (people said)", data: row.histogram.spoof, backgroundColor: SPOOF }
      ] },
      options: { animation: false, maintainAspectRatio: false,
        scales: { x: { title: { display: true, text: "score (bin start)" } }, y: { beginAtZero: true } },
        plugins: { legend: { position: "bottom" } } }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("accuracy-data");
    if (!node || !window.Chart) { return; }
    var data = JSON.parse(node.textContent);
    data.rows.forEach(function (row) {
      rates("rates-" + row.id, row);
      det("det-" + row.id, row, data.det_ticks);
      histogram("hist-" + row.id, row);
    });
    document.body.setAttribute("data-charts-drawn", "true");
  });
})();
