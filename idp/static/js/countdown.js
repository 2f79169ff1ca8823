/*
 * Progressive enhancement for the one-time-code page: the server already renders the time
 * left and the disabled re-send button; this only makes the numbers tick and enables the
 * button when the cool-down is over. Without JavaScript, reloading the page does the same.
 *
 *   <output data-countdown="120">02:00</output>
 *   <output data-countdown="45" data-enable-when-done="resend-btn"
 *           data-reveal-when-done="otp-expired">00:45</output>
 */
(function () {
  "use strict";

  var PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹";

  function localise(text) {
    if ((document.documentElement.lang || "fa").slice(0, 2) !== "fa") {
      return text;
    }
    return text.replace(/[0-9]/g, function (d) { return PERSIAN_DIGITS.charAt(+d); });
  }

  function format(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return localise((m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s);
  }

  function finish(el) {
    var enable = el.getAttribute("data-enable-when-done");
    var reveal = el.getAttribute("data-reveal-when-done");
    var hide = el.getAttribute("data-hide-when-done");
    var target;
    if (enable && (target = document.getElementById(enable))) {
      target.disabled = false;
      target.removeAttribute("aria-disabled");
    }
    if (reveal && (target = document.getElementById(reveal))) {
      target.hidden = false;
    }
    if (hide && (target = document.getElementById(hide))) {
      target.hidden = true;
    }
  }

  function start(el) {
    var total = parseInt(el.getAttribute("data-countdown"), 10);
    if (isNaN(total) || total < 0) {
      return;
    }
    // Count against the clock, not the number of ticks: timers are throttled in background tabs.
    var deadline = Date.now() + total * 1000;
    el.textContent = format(total);
    if (total === 0) {
      finish(el);
      return;
    }
    var timer = window.setInterval(function () {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      el.textContent = format(left);
      if (left === 0) {
        window.clearInterval(timer);
        finish(el);
      }
    }, 1000);
  }

  function init() {
    var nodes = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < nodes.length; i++) {
      start(nodes[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
