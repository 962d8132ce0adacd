/* gridpilot's progressive web app on every dashboard page: registers the service worker
 * (/sw.js) and shows the "offline" banner while NiceGUI's socket to the server is down. An open
 * page keeps its last data meanwhile; socket.io reconnects by itself and the banner goes.
 *
 * A page's data arrives over the socket, so the copy of the page the service worker keeps is
 * only its frame: while connected, the rendered page is also kept (every 15 s and when the
 * connection drops) in localStorage, and a page loaded while the server cannot be reached shows
 * that copy (read-only) under the banner. Opening /login (log-out) forgets every copy. */
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function (error) {
        console.warn("gridpilot: the service worker was not registered:", error);
      });
    });
  }

  var banner = null;
  var lastContact = null; // the last message from the server on this page [epoch ms]
  var copyAt = null; // the time of the kept copy shown instead, when the page had no contact
  var leaving = false;
  var KEY = "gp-snapshot:" + location.pathname + location.search;
  var MAX_CHARS = 1500000;

  if (location.pathname === "/login") {
    Object.keys(localStorage)
      .filter(function (key) {
        return key.indexOf("gp-snapshot:") === 0;
      })
      .forEach(function (key) {
        localStorage.removeItem(key);
      });
  }

  function keep() {
    var app = document.getElementById("app");
    if (!app || !lastContact || location.pathname === "/login") return;
    var copy = app.cloneNode(true);
    var drawn = app.querySelectorAll("canvas");
    copy.querySelectorAll("canvas").forEach(function (canvas, index) {
      var picture = document.createElement("div"); // a chart's pixels are not in its markup
      try {
        picture.style.backgroundImage = "url(" + drawn[index].toDataURL("image/png") + ")";
      } catch (error) {
        return;
      }
      picture.style.width = drawn[index].style.width || drawn[index].width + "px";
      picture.style.height = drawn[index].style.height || drawn[index].height + "px";
      picture.style.backgroundSize = "100% 100%";
      canvas.replaceWith(picture);
    });
    var html = copy.innerHTML;
    if (html.length > MAX_CHARS) return;
    try {
      localStorage.setItem(KEY, JSON.stringify({ at: lastContact, html: html }));
    } catch (error) {
      /* storage full or refused: no copy of this page */
    }
  }

  function restore() {
    var app = document.getElementById("app");
    var kept = null;
    try {
      kept = JSON.parse(localStorage.getItem(KEY) || "null");
    } catch (error) {
      kept = null;
    }
    if (!app || !kept || document.getElementById("gp-snapshot")) return null;
    var copy = document.createElement("div");
    copy.id = "gp-snapshot";
    copy.setAttribute("data-testid", "offline-copy");
    copy.setAttribute("inert", "");
    copy.innerHTML = kept.html;
    app.style.display = "none";
    app.parentNode.insertBefore(copy, app);
    return kept.at;
  }

  function unrestore() {
    var copy = document.getElementById("gp-snapshot");
    var app = document.getElementById("app");
    if (copy) copy.remove();
    if (app) app.style.display = "";
  }

  function element() {
    if (!banner) {
      banner = document.createElement("div");
      banner.id = "gp-offline";
      banner.setAttribute("role", "status");
      banner.setAttribute("aria-live", "polite");
      banner.setAttribute("data-testid", "offline-banner");
      banner.hidden = true;
      document.body.appendChild(banner);
    }
    return banner;
  }

  /* A moment as every dashboard page writes one (web/numbers.py::local_datetime): 24-hour
   * local time with the zone's abbreviation, "14:05 CET", the date first when it is not today
   * ("2026-12-04 14:05 CET"), whatever the browser's language would make of it (12-hour
   * "02:05 PM" in American English). The zone is the browser's: the last contact is the
   * user's moment, not a site's. Where the zone has no abbreviation ("GMT+5"), its name. */
  function zoneOf(at) {
    var named = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    var found = ["en-US", "en-GB"].map(function (language) {
      var part = new Intl.DateTimeFormat(language, { timeZoneName: "short" })
        .formatToParts(at)
        .filter(function (p) {
          return p.type === "timeZoneName";
        })[0];
      return part ? part.value : "";
    });
    for (var i = 0; i < found.length; i++) {
      if (found[i] && !/^(GMT|UTC)[-+\u2212]/.test(found[i])) return found[i];
    }
    return named;
  }

  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function day(at) {
    return at.getFullYear() + "-" + two(at.getMonth() + 1) + "-" + two(at.getDate());
  }

  function clock(ms) {
    var at = new Date(ms);
    var time = two(at.getHours()) + ":" + two(at.getMinutes()) + " " + zoneOf(at);
    return day(at) === day(new Date()) ? time : day(at) + " " + time;
  }

  function show() {
    if (leaving) return;
    if (lastContact) {
      keep();
    } else if (!copyAt) {
      copyAt = restore();
    }
    var since = lastContact || copyAt;
    var shown = element();
    shown.textContent =
      "Offline: the server cannot be reached. " +
      (since
        ? "Showing the last data, from " + clock(since) + ". "
        : "Showing this page as it was last loaded. ") +
      "Reconnecting\u2026";
    shown.hidden = false;
    document.documentElement.classList.add("gp-offline");
    document.documentElement.style.setProperty("--gp-offline-height", shown.offsetHeight + "px");
  }

  function hide() {
    unrestore();
    copyAt = null;
    if (banner) banner.hidden = true;
    document.documentElement.classList.remove("gp-offline");
  }

  function watch(socket) {
    if (socket.connected) lastContact = Date.now();
    socket.on("connect", function () {
      lastContact = Date.now();
      hide();
    });
    socket.on("disconnect", function (reason) {
      if (reason !== "io client disconnect") show();
    });
    socket.on("connect_error", show);
    if (socket.onAny) {
      socket.onAny(function () {
        lastContact = Date.now();
      });
    }
  }

  var waited = 0;
  (function wait() {
    if (window.socket) {
      watch(window.socket);
    } else if (waited++ < 200) {
      setTimeout(wait, 50);
    } else {
      show(); // no socket after 10 s: the page came from the cache without its scripts
    }
  })();
  setInterval(function () {
    if (window.socket && window.socket.connected) keep();
  }, 15000);
  window.addEventListener("beforeunload", function () {
    if (window.socket && window.socket.connected) keep();
    leaving = true;
  });
  window.addEventListener("offline", show);
})();
