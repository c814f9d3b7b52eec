// Small progressive enhancements for the operator console. Every page works without this file.
(function () {
  "use strict";

  // Bulk actions in the queue: select all, count, show the fields the chosen action needs.
  function setupBulk(form) {
    var items = function () { return form.querySelectorAll("[data-bulk-item]"); };
    var all = form.querySelector("[data-bulk-all]");
    var count = form.querySelector("[data-bulk-count]");
    var action = form.querySelector("[data-bulk-action]");
    var assignee = form.querySelector("[data-bulk-assignee]");
    var reason = form.querySelector("[data-bulk-reason]");
    var reasonCodes = form.querySelector("[data-bulk-reason-codes]");
    var submit = form.querySelector("[data-bulk-submit]");
    function refresh() {
      var ticked = Array.prototype.filter.call(items(), function (i) { return i.checked; }).length;
      if (count) { count.textContent = String(ticked); }
      if (submit) { submit.disabled = ticked === 0; }
      var assigning = action && action.value === "assign";
      if (assignee) { assignee.hidden = !assigning; }
      if (reason) { reason.hidden = assigning; }
      if (reasonCodes) { reasonCodes.hidden = assigning; }
    }
    if (all) {
      all.addEventListener("change", function () {
        items().forEach(function (i) { i.checked = all.checked; });
        refresh();
      });
    }
    form.addEventListener("change", refresh);
    form.addEventListener("submit", function (event) {
      if (action && action.value === "resubmit") {
        var n = count ? count.textContent : "the selected";
        if (!window.confirm("Request a resubmission for " + n + " case(s)? The partners will be told.")) {
          event.preventDefault();
        }
      }
    });
    refresh();
  }

  // Upload: show only the section of the chosen kind; show that the upload is under way.
  function setupUpload(form) {
    var radios = form.querySelectorAll("input[name=kind]");
    function refresh() {
      var chosen = form.querySelector("input[name=kind]:checked");
      form.querySelectorAll("fieldset[data-kind]").forEach(function (fs) {
        fs.hidden = !!chosen && fs.getAttribute("data-kind") !== chosen.value;
      });
    }
    radios.forEach(function (r) { r.addEventListener("change", refresh); });
    refresh();
    // Extra frame rows appear once the visible ones are used.
    var extras = form.querySelectorAll("tr.extra-frame");
    extras.forEach(function (row) {
      var input = row.querySelector("input[type=file]");
      var kept = row.hasAttribute("data-kept");
      if (!kept && (!input || !input.files || input.files.length === 0)) { row.hidden = true; }
    });
    form.addEventListener("change", function (event) {
      if (event.target && event.target.type === "file") {
        var next = form.querySelector("tr.extra-frame[hidden]");
        var rows = form.querySelectorAll(".framerows tbody tr:not([hidden]) input[type=file]");
        var free = Array.prototype.filter.call(rows, function (i) { return !i.files || i.files.length === 0; });
        if (next && free.length === 0) { next.hidden = false; }
      }
    });
    form.addEventListener("submit", function () {
      var button = form.querySelector("#upload-button");
      if (button) {
        button.disabled = true;
        button.textContent = button.getAttribute("data-busy-label") || "Uploading…";
      }
    });
  }

  // Narrow screens: the navigation folds behind a Menu button (the button only appears with this script;
  // without it the links simply wrap).
  function setupNav(button) {
    var bar = button.closest(".topbar");
    button.hidden = false;
    bar.classList.add("nav-collapsible");
    button.addEventListener("click", function () {
      var open = bar.classList.toggle("nav-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector("[data-nav-toggle]");
    if (toggle) { setupNav(toggle); }
    var bulk = document.getElementById("bulk-form");
    if (bulk) { setupBulk(bulk); }
    var upload = document.querySelector("form[data-upload]");
    if (upload) { setupUpload(upload); }
  });
})();
