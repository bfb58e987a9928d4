/* WardPulse matrons' overview: one card per ward the viewer covers.
 *
 * On every (re)connect the server sends every row, which replaces what is shown; after that a ward's
 * row comes again whenever something on it changed. Rows are numbered per ward like the ward screen's
 * figures, so a late row never replaces a newer one, and each row carries the key it is sorted by
 * (open alerts first, then nearest to a trend alert), so this page has no copy of that rule.
 * Names and summaries from the server are put on the page with textContent only, never as HTML.
 */
(function () {
  "use strict";

  var config = readJson("wardpulse-config");
  var text = readJson("wardpulse-text");
  var events = config.events || {};
  var ACCESS_ERRORS = ["not_signed_in", "forbidden"];
  var REFRESH_MS = 30000; // "5 minutes ago" moves on without a new row

  var lang = document.documentElement.lang || undefined;
  var percentFormat = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 });
  var timeFormat = new Intl.DateTimeFormat(lang, { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var relativeFormat =
    typeof Intl.RelativeTimeFormat === "function" ? new Intl.RelativeTimeFormat(lang, { numeric: "auto" }) : null;

  var body = document.body;
  var list = document.getElementById("overview");
  var empty = document.getElementById("overview-empty");
  var liveText = document.getElementById("live-text");
  var access = document.getElementById("access-problem");

  var rows = new Map(); // ward code -> the newest row

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  function format(template, n, t) {
    return String(template).split("{n}").join(String(n)).split("{t}").join(String(t));
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

  function pct(value) {
    return value === null || value === undefined ? "—" : percentFormat.format(value / 100);
  }

  function ago(iso) {
    var when = new Date(iso);
    var minutes = Math.round((when.getTime() - Date.now()) / 60000);
    if (!relativeFormat || minutes < -24 * 60) {
      return timeFormat.format(when);
    }
    if (minutes > -60) {
      return relativeFormat.format(Math.min(0, minutes), "minute");
    }
    return relativeFormat.format(Math.round(minutes / 60), "hour");
  }

  function figures(title, share, className) {
    var block = el("div", "overview-card__figures " + className);
    block.appendChild(el("h3", "overview-card__subtitle", title));
    var line = el("p", "overview-card__numbers");
    [[share.total, text.responses, "total"], [pct(share.positive_pct), text.positive, "positive"],
      [pct(share.negative_pct), text.negative, "negative"]].forEach(function (item) {
      var figure = el("span", "figure figure--" + item[2]);
      figure.dataset.stat = item[2];
      figure.appendChild(el("strong", "figure__value", item[0]));
      figure.appendChild(el("span", "figure__label", item[1]));
      line.appendChild(figure);
    });
    block.appendChild(line);
    return block;
  }

  function cardHead(row) {
    var item = el("li", "overview-card");
    item.dataset.ward = row.code;
    var head = el("div", "overview-card__head");
    var link = el("a", "overview-card__name", row.name);
    link.href = config.ward_url.replace("__WARD__", encodeURIComponent(row.code));
    link.setAttribute("aria-label", row.name + ": " + text.open_ward);
    head.appendChild(link);
    head.appendChild(el("span", "overview-card__code", row.code));
    item.appendChild(head);
    return item;
  }

  // A ward whose server is not answering: said plainly, with no figures that could pass for today's.
  function unansweredCard(row) {
    var item = cardHead(row);
    item.classList.add("overview-card--unanswered");
    item.dataset.unanswered = "yes";
    item.appendChild(el("p", "overview-card__unanswered", format(text.unanswered, row.name)));
    return item;
  }

  function card(row) {
    if (row.unanswered) {
      return unansweredCard(row);
    }
    var item = cardHead(row);
    item.dataset.alerts = String(row.open_alerts.length);

    var alerts = el("div", "overview-card__alerts");
    if (row.open_alerts.length) {
      alerts.appendChild(el("p", "overview-card__alert-count", format(text.alerts_open, row.open_alerts.length)));
      var ul = el("ul", "overview-card__alert-list");
      row.open_alerts.forEach(function (alert) {
        var li = el("li", "overview-alert overview-alert--" + alert.kind);
        li.appendChild(el("strong", null, (text.alert_kinds || {})[alert.kind] || alert.kind));
        li.appendChild(el("span", null, " · " + ago(alert.raised_at)));
        if (alert.acknowledged_by) {
          li.appendChild(el("span", null, " · " + format(text.acknowledged_by, alert.acknowledged_by)));
        }
        ul.appendChild(li);
      });
      alerts.appendChild(ul);
    } else {
      alerts.appendChild(el("p", "overview-card__calm", text.no_alerts));
    }
    item.appendChild(alerts);

    item.appendChild(figures(text.today, row.today, "overview-card__today"));
    item.appendChild(figures(text.this_month, row.month, "overview-card__month"));

    var trend = el("div", "overview-card__trend");
    var closeness = row.trend.alert_open ? 1 : row.trend.closeness;
    var meter = el("div", "trend-meter");
    meter.setAttribute("role", "img");
    var words = row.trend.alert_open ? text.trend_open : format(text.trend_closeness, percentFormat.format(closeness));
    meter.setAttribute("aria-label", text.trend + ": " + words);
    var fill = el("span", "trend-meter__fill");
    fill.style.width = Math.round(closeness * 100) + "%";
    if (closeness >= 0.75) {
      meter.classList.add("trend-meter--near");
    }
    meter.appendChild(fill);
    trend.appendChild(el("h3", "overview-card__subtitle", text.trend));
    trend.appendChild(meter);
    trend.appendChild(el("p", "overview-card__trend-words", words));
    item.appendChild(trend);

    var foot = el("p", "overview-card__foot");
    foot.appendChild(el("span", "overview-card__last", row.last_rating ? format(text.last_rating, ago(row.last_rating)) : text.no_ratings));
    var tablets = row.kiosks;
    var tabletWords = !tablets.total ? text.no_kiosks :
      tablets.offline ? format(text.kiosks_offline, tablets.offline, tablets.total) : format(text.kiosks_online, 0, tablets.total);
    var tabletSpan = el("span", "overview-card__kiosks" + (tablets.offline ? " overview-card__kiosks--offline" : ""), tabletWords);
    foot.appendChild(tabletSpan);
    item.appendChild(foot);
    return item;
  }

  function compare(a, b) {
    for (var i = 0; i < a.order.length; i++) {
      if (a.order[i] < b.order[i]) {
        return -1;
      }
      if (a.order[i] > b.order[i]) {
        return 1;
      }
    }
    return 0;
  }

  function render() {
    var sorted = Array.from(rows.values()).sort(compare);
    list.replaceChildren.apply(list, sorted.map(card));
    empty.hidden = sorted.length > 0;
  }

  var socket = window.io(config.namespace, {});

  window.watchStaffSocket(socket, {
    liveText: liveText,
    text: text,
    accessErrors: ACCESS_ERRORS,
    refused: function (message) {
      access.textContent = message;
      access.hidden = false;
    },
    connected: function () {
      access.hidden = true;
    },
  });

  socket.on(events.overview || "overview", function (overview) {
    rows = new Map();
    ((overview && overview.wards) || []).forEach(function (row) {
      rows.set(row.code, row);
    });
    render();
    body.dataset.overviewReady = "yes";
  });

  socket.on(events.ward || "overview_ward", function (row) {
    var shown = rows.get(row.code);
    // A "not answering" row (seq -1) always shows; the ward's first real row after it replaces it.
    if (shown && !row.unanswered && row.seq < shown.seq) {
      return;
    }
    rows.set(row.code, row);
    render();
  });

  window.setInterval(render, REFRESH_MS);
})();
