// The case page: keyboard shortcuts (with a "?" list), decide-and-open-next, and the image viewer.
// Every action here is a plain form or link without this file; it only saves clicks and page loads.
(function () {
  "use strict";

  function isTyping(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) { return true; }
    if (tag !== "input") { return false; }
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["radio", "checkbox", "button", "submit", "reset", "hidden"].indexOf(type) === -1;
  }

  function openDialog() {
    return document.querySelector("dialog[open]");
  }

  // --- the decision form ---------------------------------------------------------------------------
  function setupDecision(form) {
    var reason = form.querySelector("textarea[name=reason]");
    var needing = (form.getAttribute("data-reason-verdicts") || "").split(" ").filter(Boolean);
    var submitting = false;

    function chosen() {
      var radio = form.querySelector("input[name=verdict]:checked");
      return radio ? radio.value : "";
    }
    function reasonMissing() {
      return needing.indexOf(chosen()) !== -1 && reason && reason.value.trim() === "";
    }
    function choose(value) {
      var radio = form.querySelector("input[name=verdict][value='" + value + "']");
      if (!radio) { return; }
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
      if (needing.indexOf(value) !== -1 && reason) {
        reason.focus();  // a reason is required for this verdict here: type it, then Ctrl+Enter
      } else {
        radio.focus();
      }
    }
    function submit() {
      if (submitting || !chosen()) { return false; }
      if (reasonMissing()) { reason.focus(); return false; }
      submitting = true;
      form.requestSubmit();
      return true;
    }
    form.addEventListener("submit", function () {
      submitting = true;
      var button = form.querySelector("#decide-button");
      if (button) { button.disabled = true; }
    });
    form.addEventListener("change", function () {
      if (reason) { reason.required = needing.indexOf(chosen()) !== -1; }
    });
    if (reason) {
      reason.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          submit();
        } else if (event.key === "Escape") {
          reason.blur();
        }
      });
    }
    return { choose: choose, submit: submit, chosen: chosen };
  }

  // A modal dialog makes the page behind it inert; Tab and Shift+Tab also cycle inside it instead of
  // leaving for the browser's own controls.
  function trapFocus(dialog) {
    dialog.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") { return; }
      var items = Array.prototype.filter.call(
        dialog.querySelectorAll("button, [href], input, select, textarea, [tabindex]:not([tabindex='-1'])"),
        function (el) { return !el.disabled && el.offsetParent !== null; }
      );
      if (!items.length) { return; }
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
      else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
    });
  }

  // --- the "?" list ------------------------------------------------------------------------------------
  function setupShortcuts(dialog, opener) {
    var returnTo = null;
    function open() {
      returnTo = document.activeElement;
      dialog.showModal();  // modal: the rest of the page is inert, so focus stays in the list
      var close = dialog.querySelector("#shortcuts-close");
      if (close) { close.focus(); }
    }
    dialog.addEventListener("close", function () {
      if (returnTo && returnTo.focus) { returnTo.focus(); }
    });
    trapFocus(dialog);
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "?") { event.preventDefault(); dialog.close(); }
    });
    if (opener) { opener.addEventListener("click", open); }
    return { open: open };
  }

  // --- the image viewer --------------------------------------------------------------------------------
  function setupViewer(dialog) {
    var stage = dialog.querySelector("#viewer-stage");
    var img = dialog.querySelector("#viewer-image");
    var title = dialog.querySelector("#viewer-title");
    var label = dialog.querySelector("#viewer-zoom");
    var state = { scale: 1, x: 0, y: 0, fit: 1 };
    var drag = null;
    var returnTo = null;
    trapFocus(dialog);

    function apply() {
      img.style.transform = "translate(" + state.x + "px, " + state.y + "px) scale(" + state.scale + ")";
      label.textContent = Math.round(state.scale * 100) + " %";
      dialog.setAttribute("data-scale", String(state.scale));
    }
    function fit() {
      var w = img.naturalWidth || 1, h = img.naturalHeight || 1;
      var sw = stage.clientWidth || w, sh = stage.clientHeight || h;
      state.fit = Math.min(sw / w, sh / h);
      state.scale = state.fit;
      state.x = (sw - w * state.scale) / 2;
      state.y = (sh - h * state.scale) / 2;
      apply();
    }
    function zoomAt(factor, cx, cy) {
      var next = Math.max(0.1, Math.min(16, state.scale * factor));
      if (cx === undefined) { cx = stage.clientWidth / 2; cy = stage.clientHeight / 2; }
      // Keep the point under the cursor (or the centre) where it is.
      state.x = cx - (cx - state.x) * (next / state.scale);
      state.y = cy - (cy - state.y) * (next / state.scale);
      state.scale = next;
      apply();
    }
    function open(src, name) {
      returnTo = document.activeElement;
      title.textContent = name || "Image";
      img.alt = name || "Image";
      img.onload = fit;
      img.src = src;
      dialog.showModal();
      if (img.complete && img.naturalWidth) { fit(); }
      dialog.querySelector("#viewer-close").focus();
    }
    dialog.addEventListener("close", function () {
      img.removeAttribute("src");
      if (returnTo && returnTo.focus) { returnTo.focus(); }
    });
    dialog.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var what = button.getAttribute("data-zoom");
        if (what === "in") { zoomAt(1.25); }
        else if (what === "out") { zoomAt(0.8); }
        else if (what === "fit") { fit(); }
        else if (what === "actual") { zoomAt(1 / state.scale); }
        else if (what === "close") { dialog.close(); }
      });
    });
    stage.addEventListener("wheel", function (event) {
      event.preventDefault();
      var box = stage.getBoundingClientRect();
      zoomAt(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - box.left, event.clientY - box.top);
    }, { passive: false });
    stage.addEventListener("pointerdown", function (event) {
      drag = { x: event.clientX - state.x, y: event.clientY - state.y };
      stage.setPointerCapture(event.pointerId);
      stage.classList.add("dragging");
    });
    stage.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      state.x = event.clientX - drag.x;
      state.y = event.clientY - drag.y;
      apply();
    });
    function endDrag() { drag = null; stage.classList.remove("dragging"); }
    stage.addEventListener("pointerup", endDrag);
    stage.addEventListener("pointercancel", endDrag);
    dialog.addEventListener("keydown", function (event) {
      var step = 40;
      if (event.key === "+" || event.key === "=") { zoomAt(1.25); }
      else if (event.key === "-" || event.key === "_") { zoomAt(0.8); }
      else if (event.key === "0") { fit(); }
      else if (event.key === "ArrowLeft") { state.x += step; apply(); }
      else if (event.key === "ArrowRight") { state.x -= step; apply(); }
      else if (event.key === "ArrowUp") { state.y += step; apply(); }
      else if (event.key === "ArrowDown") { state.y -= step; apply(); }
      else { return; }
      event.preventDefault();
    });
    // Every image (and face crop) with data-viewer opens here, by click or Enter/Space.
    document.querySelectorAll("[data-viewer]").forEach(function (el) {
      function show(event) {
        event.preventDefault();
        open(el.getAttribute("data-viewer"), el.getAttribute("data-viewer-title"));
      }
      el.addEventListener("click", show);
      el.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.stopPropagation(); show(event); }
      });
    });
    return { open: open };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("decision-form");
    var decision = form ? setupDecision(form) : null;
    var shortcutsDialog = document.getElementById("shortcuts");
    var shortcuts = shortcutsDialog ? setupShortcuts(shortcutsDialog, document.getElementById("shortcuts-button")) : null;
    var viewerDialog = document.getElementById("viewer");
    var viewer = viewerDialog ? setupViewer(viewerDialog) : null;

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) { return; }
      if (openDialog() || isTyping(event.target)) { return; }
      var key = event.key;
      var target = event.target && event.target.tagName ? event.target.tagName.toLowerCase() : "";
      if (key === "?" && shortcuts) { shortcuts.open(); }
      else if (key === "l" && decision) { decision.choose("live"); }
      else if (key === "s" && decision) { decision.choose("spoof"); }
      else if (key === "r" && decision) { decision.choose("resubmit"); }
      else if (key === "c") {
        var claim = document.querySelector("#claim-button, #claim form[action$='/claim/'] button");
        if (!claim) { return; }
        claim.click();
      }
      else if (key === "n") {
        var next = document.getElementById("next-form");
        if (!next) { return; }
        next.requestSubmit();
      }
      else if (key === "i" && viewer) {
        var first = document.querySelector("[data-viewer]");
        if (!first) { return; }
        viewer.open(first.getAttribute("data-viewer"), first.getAttribute("data-viewer-title"));
      }
      else if (key === "Enter" && decision && (target === "body" || target === "input") && decision.chosen()) {
        decision.submit();
      }
      else { return; }
      event.preventDefault();
    });
  });
})();
