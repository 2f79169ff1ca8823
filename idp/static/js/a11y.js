/*
 * Accessibility controls (seed 002 §4 «دسترسی پذیری»): bigger or smaller text and a high
 * contrast mode, remembered in localStorage. Loaded in <head> so the saved choice applies
 * before the first paint; the buttons stay hidden when JavaScript is off.
 */
(function () {
  "use strict";

  var root = document.documentElement;
  var MIN_STEP = -1;
  var MAX_STEP = 3;

  function read(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function write(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {
      // Private browsing or storage disabled: the choice lasts for this page only.
    }
  }

  function currentStep() {
    var step = parseInt(read("a11y-font-step"), 10);
    return isNaN(step) ? 0 : Math.min(MAX_STEP, Math.max(MIN_STEP, step));
  }

  function applyStep(step) {
    if (step === 0) {
      root.removeAttribute("data-font-step");
    } else {
      root.setAttribute("data-font-step", String(step));
    }
  }

  function applyContrast(on) {
    root.classList.toggle("high-contrast", on);
    var button = document.getElementById("a11y-contrast");
    if (button) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
    }
  }

  applyStep(currentStep());
  applyContrast(read("a11y-contrast") === "1");

  function changeStep(delta) {
    var step = Math.min(MAX_STEP, Math.max(MIN_STEP, currentStep() + delta));
    write("a11y-font-step", String(step));
    applyStep(step);
  }

  function bind() {
    var tools = document.getElementById("a11y-tools");
    if (!tools) {
      return;
    }
    document.getElementById("a11y-bigger").addEventListener("click", function () {
      changeStep(1);
    });
    document.getElementById("a11y-smaller").addEventListener("click", function () {
      changeStep(-1);
    });
    document.getElementById("a11y-contrast").addEventListener("click", function () {
      var on = !root.classList.contains("high-contrast");
      write("a11y-contrast", on ? "1" : "0");
      applyContrast(on);
    });
    applyContrast(root.classList.contains("high-contrast"));
    tools.hidden = false;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", bind);
  } else {
    bind();
  }
})();
