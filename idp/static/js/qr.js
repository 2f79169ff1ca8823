/*
 * The QR login page, progressively enhanced. Without JavaScript the page reloads itself every
 * few seconds (a <noscript> refresh) and the server draws each state. With it, the page learns
 * the state from Server-Sent Events and, when the stream cannot be had (an old browser, a proxy
 * that buffers, a server without streams), from polling the status URL every few seconds.
 *
 *   pending  → a new code replaces the old one (rotation) and the countdown restarts;
 *   approved → the hidden form posts /login/qr/complete (the browser's binding cookie goes
 *              with it; nothing secret is ever in the page or the events);
 *   anything else → the page is reloaded, and the server draws it.
 */
(function () {
  "use strict";

  var PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹";
  var root, state, interval, timer, countdown, deadline, source, finished = false;

  function localise(text) {
    if ((document.documentElement.lang || "fa").slice(0, 2) !== "fa") {
      return text;
    }
    return text.replace(/[0-9]/g, function (d) { return PERSIAN_DIGITS.charAt(+d); });
  }

  function tick() {
    var out = document.getElementById("qr-countdown");
    if (!out || !deadline) {
      return;
    }
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    out.textContent = localise((m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s);
  }

  function show(data) {
    if (finished || !data || !data.state) {
      return;
    }
    if (data.state === "approved") {
      finished = true;
      stop();
      var form = document.getElementById("qr-complete");
      if (form) {
        form.submit();
      } else {
        window.location.reload();
      }
      return;
    }
    if (data.state === "pending" && state === "pending") {
      var figure = document.getElementById("qr-code");
      if (figure && data.svg && figure.getAttribute("data-url") !== data.qr_url) {
        figure.innerHTML = data.svg;
        figure.setAttribute("data-url", data.qr_url);
      }
      // The countdown is the server's expires_in, not the client's clock (design §2.5).
      deadline = Date.now() + data.expires_in * 1000;
      tick();
      return;
    }
    if (data.state !== state) {
      finished = true;
      stop();
      window.location.reload();
    }
  }

  function stop() {
    if (source) {
      source.close();
      source = null;
    }
    if (timer) {
      window.clearTimeout(timer);
      timer = null;
    }
  }

  function poll() {
    if (finished) {
      return;
    }
    var request = new XMLHttpRequest();
    request.open("GET", root.getAttribute("data-status-url"));
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      var data = null;
      try { data = JSON.parse(request.responseText); } catch (e) { data = null; }
      if (request.status === 200) {
        show(data);
      } else if (data && data.error === "slow_down") {
        interval = Math.max(interval + 1, data.interval || interval);
      } else if (request.status === 403 || request.status === 410) {
        finished = true;
        window.location.reload();
        return;
      }
      timer = window.setTimeout(poll, interval * 1000);
    };
    request.onerror = function () {
      timer = window.setTimeout(poll, interval * 1000);
    };
    request.send();
  }

  function listen() {
    if (!window.EventSource) {
      poll();
      return;
    }
    source = new EventSource(root.getAttribute("data-events-url"));
    source.addEventListener("state", function (event) {
      try { show(JSON.parse(event.data)); } catch (e) { /* ignored: the next event or poll */ }
    });
    source.onerror = function () {
      // A closed or refused stream: poll instead, which works on any server.
      if (source && source.readyState === EventSource.CLOSED && !finished) {
        source = null;
        poll();
      }
    };
  }

  function init() {
    root = document.getElementById("qr-login");
    if (!root) {
      return;
    }
    state = root.getAttribute("data-state");
    interval = parseInt(root.getAttribute("data-interval"), 10) || 2;
    var out = document.getElementById("qr-countdown");
    if (out) {
      deadline = Date.now() + (parseInt(out.getAttribute("data-countdown"), 10) || 0) * 1000;
      countdown = window.setInterval(tick, 1000);
    }
    if (state === "pending" || state === "scanned") {
      listen();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
