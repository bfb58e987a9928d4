/* WardPulse nurses'-station screen.
 *
 * On every (re)connect the server sends a snapshot that replaces everything shown; after that,
 * each new rating is added to the top of the feed and carries the day's stats with it.
 * Comments, summaries and labels from the server are untrusted text: they are only ever put on
 * the page with textContent, never as HTML.
 */
(function () {
  "use strict";

  var config = readJson("wardpulse-config");
  var text = readJson("wardpulse-text");
  var events = config.events || {};

  var MAX_FEED = 50;
  var REFRESH_MS = 30000;
  var RETRY_AFTER_REFUSAL_MS = 5000;
  var ACCESS_ERRORS = ["not_signed_in", "forbidden", "unknown_ward"];
  var SVG_NS = "http://www.w3.org/2000/svg";

  var answers = {};
  (config.answers || []).forEach(function (a) {
    answers[a.code] = a;
  });

  var lang = document.documentElement.lang || undefined;
  var timeFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var dayFormat = new Intl.DateTimeFormat(lang, { weekday: "short", day: "numeric", month: "short" });
  var longDateFormat = new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "long" });
  var percentFormat = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 });
  var relativeFormat =
    typeof Intl.RelativeTimeFormat === "function" ? new Intl.RelativeTimeFormat(lang, { numeric: "auto" }) : null;

  var body = document.body;
  var feedList = document.getElementById("feed");
  var feedEmpty = document.getElementById("feed-empty");
  var alertList = document.getElementById("alerts");
  var alertsNone = document.getElementById("alerts-none");
  var liveText = document.getElementById("live-text");
  var banner = document.getElementById("status-banner");
  var bannerMessage = document.getElementById("status-message");

  var feed = []; // ratings, newest tapped_at first
  var rows = new Map(); // rating id -> <li>
  var alerts = new Map(); // alert id -> alert

  // ------------------------------------------------------------------ helpers

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }

  function format(template, n) {
    return String(template).split("{n}").join(String(n));
  }

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content !== undefined && content !== null) {
      node.textContent = String(content);
    }
    return node;
  }

  function face(code, className) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", className);
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", "#face-" + (answers[code] ? code : "neither"));
    svg.appendChild(use);
    return svg;
  }

  function parseTime(value) {
    var t = Date.parse(value);
    return isNaN(t) ? 0 : t;
  }

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  }

  function clockTime(value) {
    var t = parseTime(value);
    if (!t) {
      return "";
    }
    var when = new Date(t);
    var clock = timeFormat.format(when);
    return sameDay(when, new Date()) ? clock : dayFormat.format(when) + " " + clock;
  }

  function relativeTime(value) {
    var t = parseTime(value);
    if (!t || !relativeFormat) {
      return "";
    }
    var seconds = Math.round((t - Date.now()) / 1000);
    var abs = Math.abs(seconds);
    if (abs < 45) {
      return relativeFormat.format(0, "second");
    }
    if (abs < 3600) {
      return relativeFormat.format(Math.round(seconds / 60), "minute");
    }
    if (abs < 86400) {
      return relativeFormat.format(Math.round(seconds / 3600), "hour");
    }
    return relativeFormat.format(Math.round(seconds / 86400), "day");
  }

  function percent(value, total) {
    if (!total || value === null || value === undefined || isNaN(Number(value))) {
      return "—";
    }
    return percentFormat.format(Number(value) / 100);
  }

  // Only plain web links from the server become links (never javascript: and the like).
  function safeHref(url) {
    if (typeof url !== "string" || !url) {
      return null;
    }
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (err) {
      return null;
    }
  }

  // ------------------------------------------------------------------ stats

  function renderStats(stats) {
    if (!stats || typeof stats !== "object") {
      return;
    }
    var counts = stats.counts || {};
    var total = Number(stats.total) || 0;
    Object.keys(answers).forEach(function (code) {
      var n = Number(counts[code]) || 0;
      var cell = document.querySelector('[data-count="' + code + '"]');
      if (cell) {
        cell.textContent = String(n);
      }
      var bar = document.querySelector('[data-bar="' + code + '"]');
      if (bar) {
        bar.style.width = total ? Math.round((n / total) * 100) + "%" : "0";
      }
    });
    setStat("total", String(total));
    setStat("positive_pct", percent(stats.positive_pct, total));
    setStat("negative_pct", percent(stats.negative_pct, total));
    var date = document.getElementById("stats-date");
    if (date) {
      var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(stats.date || "");
      date.textContent = parts
        ? longDateFormat.format(new Date(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3])))
        : "";
    }
  }

  function setStat(name, value) {
    var node = document.querySelector('[data-stat="' + name + '"]');
    if (node) {
      node.textContent = value;
    }
  }

  // ------------------------------------------------------------------ feed

  function ratingRow(rating) {
    var answer = answers[rating.score] || { label: String(rating.score), positive: false, negative: false };
    var li = el("li", "rating");
    li.dataset.ratingId = String(rating.id);
    li.dataset.score = String(rating.score);
    if (answer.positive) {
      li.classList.add("rating--positive");
    } else if (answer.negative) {
      li.classList.add("rating--negative");
    }
    if (rating.misuse) {
      li.classList.add("rating--misuse");
    }

    var head = el("div", "rating__head");
    head.appendChild(face(rating.score, "face face--chip"));
    head.appendChild(el("span", "rating__answer", answer.label));
    var when = el("span", "rating__when");
    var time = el("time", "rating__time", clockTime(rating.tapped_at));
    time.setAttribute("datetime", String(rating.tapped_at || ""));
    when.appendChild(time);
    var ago = el("span", "rating__ago", relativeTime(rating.tapped_at));
    ago.dataset.at = String(rating.tapped_at || "");
    when.appendChild(ago);
    head.appendChild(when);
    li.appendChild(head);

    if (rating.comment) {
      li.appendChild(el("p", "rating__comment", rating.comment));
    }

    var meta = [];
    if (rating.kiosk_label) {
      meta.push(format(text.from_kiosk, rating.kiosk_label));
    }
    if (rating.misuse) {
      meta.push(text.misuse);
    }
    if (meta.length) {
      li.appendChild(el("p", "rating__meta", meta.join(" · ")));
    }
    return li;
  }

  function sortFeed() {
    feed.sort(function (a, b) {
      return parseTime(b.tapped_at) - parseTime(a.tapped_at);
    });
    if (feed.length > MAX_FEED) {
      feed.length = MAX_FEED;
    }
  }

  function renderFeed(freshId) {
    var keep = new Set(feed.map(function (r) { return r.id; }));
    rows.forEach(function (row, id) {
      if (!keep.has(id)) {
        row.remove();
        rows.delete(id);
      }
    });
    feed.forEach(function (rating, index) {
      var row = rows.get(rating.id);
      if (!row) {
        row = ratingRow(rating);
        rows.set(rating.id, row);
        if (rating.id === freshId) {
          row.classList.add("is-new");
        }
      }
      if (feedList.children[index] !== row) {
        feedList.insertBefore(row, feedList.children[index] || null);
      }
    });
    feedEmpty.hidden = feed.length > 0;
  }

  function refreshTimes() {
    Array.prototype.forEach.call(feedList.querySelectorAll(".rating__ago"), function (node) {
      node.textContent = relativeTime(node.dataset.at);
    });
    Array.prototype.forEach.call(feedList.querySelectorAll(".rating__time"), function (node) {
      node.textContent = clockTime(node.getAttribute("datetime"));
    });
  }

  // ------------------------------------------------------------------ alerts

  function alertCard(alert) {
    var li = el("li", "alert-card alert-card--" + String(alert.kind || "other"));
    li.dataset.alertId = String(alert.id);
    li.dataset.status = String(alert.status || "");
    var head = el("div", "alert-card__head");
    head.appendChild(el("span", "alert-card__kind", (text.alert_kinds || {})[alert.kind] || alert.kind || ""));
    head.appendChild(el("span", "alert-card__status", (text.alert_statuses || {})[alert.status] || alert.status || ""));
    if (alert.raised_at) {
      var raised = el("time", "alert-card__time", format(text.raised, clockTime(alert.raised_at)));
      raised.setAttribute("datetime", String(alert.raised_at));
      head.appendChild(raised);
    }
    li.appendChild(head);
    if (alert.summary) {
      li.appendChild(el("p", "alert-card__summary", alert.summary));
    }
    var href = safeHref(alert.follow_up_url);
    if (href) {
      var link = el("a", "alert-card__link", text.open_follow_up);
      link.href = href;
      li.appendChild(link);
    }
    return li;
  }

  function renderAlerts() {
    var list = Array.from(alerts.values()).sort(function (a, b) {
      return parseTime(b.raised_at) - parseTime(a.raised_at);
    });
    alertList.replaceChildren.apply(alertList, list.map(alertCard));
    alertsNone.hidden = list.length > 0;
    body.classList.toggle("has-alerts", list.length > 0);
  }

  function upsertAlert(alert) {
    if (!alert || alert.id === undefined || alert.id === null) {
      return;
    }
    if (alert.status === "resolved") {
      alerts.delete(alert.id);
    } else {
      alerts.set(alert.id, alert);
    }
  }

  // ------------------------------------------------------------------ connection

  function setConnection(online) {
    body.dataset.connection = online ? "online" : "offline";
    liveText.textContent = online ? text.live : text.reconnecting;
  }

  function showBanner(message) {
    bannerMessage.textContent = message || text.storage_problem;
    banner.hidden = false;
  }

  function hideBanner() {
    banner.hidden = true;
    bannerMessage.textContent = "";
  }

  var accessBanner = null;

  function showAccessProblem(message) {
    if (!accessBanner) {
      accessBanner = el("div", "banner banner--error");
      accessBanner.setAttribute("role", "alert");
      banner.parentNode.insertBefore(accessBanner, banner);
    }
    accessBanner.replaceChildren();
    accessBanner.appendChild(el("span", "banner__message", message));
    var again = el("a", "banner__action", text.sign_in_again);
    again.href = window.location.pathname + window.location.search;
    accessBanner.appendChild(again);
    liveText.textContent = text.signed_out;
  }

  function clearAccessProblem() {
    if (accessBanner) {
      accessBanner.remove();
      accessBanner = null;
    }
  }

  var auth = { ward: config.ward };
  if (config.display_token) {
    auth.token = config.display_token;
  }
  var socket = window.io(config.namespace, { auth: auth });

  socket.on("connect", function () {
    clearAccessProblem();
    setConnection(true);
  });

  socket.on("disconnect", function () {
    setConnection(false);
  });

  socket.on("connect_error", function (err) {
    setConnection(false);
    var code = err && err.data && err.data.error;
    if (code && ACCESS_ERRORS.indexOf(code) !== -1) {
      showAccessProblem(err.data.message || code);
      return;
    }
    // socket.io retries network failures itself, but not a refusal by the server.
    if (!socket.active) {
      window.setTimeout(function () {
        if (!socket.connected) {
          socket.connect();
        }
      }, RETRY_AFTER_REFUSAL_MS);
    }
  });

  socket.on(events.snapshot || "snapshot", function (snapshot) {
    snapshot = snapshot || {};
    feed = [];
    var seen = new Set();
    (snapshot.recent || []).forEach(function (rating) {
      if (rating && !seen.has(rating.id)) {
        seen.add(rating.id);
        feed.push(rating);
      }
    });
    sortFeed();
    // Rows are rebuilt: a reconnect must show exactly what the server has.
    rows.forEach(function (row) {
      row.remove();
    });
    rows.clear();
    renderFeed(null);

    alerts = new Map();
    (snapshot.open_alerts || []).forEach(upsertAlert);
    renderAlerts();

    renderStats(snapshot.stats);
  });

  socket.on(events.rating || "rating", function (rating) {
    if (!rating || (rating.ward && config.ward && rating.ward !== config.ward)) {
      return;
    }
    if (!rows.has(rating.id) && !feed.some(function (r) { return r.id === rating.id; })) {
      feed.push(rating);
      sortFeed();
      renderFeed(rating.id);
    }
    renderStats(rating.stats);
  });

  socket.on(events.alert || "alert", function (alert) {
    if (!alert || (alert.ward && config.ward && alert.ward !== config.ward)) {
      return;
    }
    upsertAlert(alert);
    renderAlerts();
  });

  socket.on(events.status || "status", function (status) {
    if (status && status.storage_ok === false) {
      showBanner(status.message);
    } else {
      hideBanner();
    }
  });

  body.dataset.connection = "offline";
  window.setInterval(refreshTimes, REFRESH_MS);
})();
