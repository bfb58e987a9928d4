/* WardPulse nurses'-station screen.
 *
 * On every (re)connect the server sends a snapshot that replaces everything shown; after that,
 * each new rating is added to the top of the feed and carries the day's stats with it, numbered
 * so that figures that arrive late never replace newer ones.
 * Comments, summaries and labels from the server are untrusted text: they are only ever put on
 * the page with textContent, never as HTML.
 */
(function () {
  "use strict";

  var config = readJson("wardpulse-config");
  var text = readJson("wardpulse-text");
  var events = config.events || {};

  var readOnly = readJson("wardpulse-viewer").read_only !== false;
  var mayPublish = readJson("wardpulse-viewer").may_publish === true;

  var MAX_FEED = 50;
  var REFRESH_MS = 30000;
  var ACK_TIMEOUT_MS = 10000;
  var NEW_ALERT_MS = 6000; // how long a new alert's flash lasts
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
  var alertsArea = document.getElementById("alerts-area");
  var alertList = document.getElementById("alerts");
  var alertsNone = document.getElementById("alerts-none");
  var announcer = document.getElementById("alerts-announce");
  var liveText = document.getElementById("live-text");
  var banner = document.getElementById("status-banner");
  var bannerMessage = document.getElementById("status-message");
  var bannerTitle = banner.querySelector(".banner__title");
  var othersBanner = document.getElementById("others-banner");

  var feed = []; // ratings, newest tapped_at first
  var rows = new Map(); // rating id -> <li>

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

  /** The English name of the language a comment was written in, or null for English and unknown tags. */
  function writtenIn(tag) {
    if (typeof tag !== "string" || /^en(-|$)/i.test(tag)) {
      return null;
    }
    var names = config.languages || {};
    return Object.prototype.hasOwnProperty.call(names, tag) ? names[tag] : tag;
  }

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
      var said = el("p", "rating__comment", rating.comment);
      if (typeof rating.lang === "string" && rating.lang) {
        said.lang = rating.lang; // read aloud and drawn in the patient's language
        said.dir = "auto";
      }
      li.appendChild(said);
    } else if (rating.words_hidden) {
      li.appendChild(el("p", "rating__hidden", text.words_hidden));
    }

    var themes = Array.isArray(rating.themes) ? rating.themes.map(String) : [];
    li.dataset.themes = JSON.stringify(themes);
    if (themes.length) {
      var tags = el("ul", "rating__themes");
      themes.forEach(function (theme) {
        tags.appendChild(el("li", "rating__theme", theme));
      });
      li.appendChild(tags);
    }

    var meta = [];
    if (rating.kiosk_label) {
      meta.push(format(text.from_kiosk, rating.kiosk_label));
    }
    var language = rating.comment && writtenIn(rating.lang);
    if (language) {
      meta.push(format(text.written_in, language));
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
    filterFeed();
  }

  // ------------------------------------------------------------------ comment themes

  var themeChips = document.getElementById("theme-chips");
  var noneOnTheme = document.getElementById("feed-none-on-theme");
  var shownTheme = "";

  function themesOf(rating) {
    return Array.isArray(rating.themes) ? rating.themes : [];
  }

  /** Show only the comments on the chosen theme, and how many of the latest are on each. */
  function filterFeed() {
    if (!themeChips) {
      return;
    }
    var counts = {};
    feed.forEach(function (rating) {
      themesOf(rating).forEach(function (theme) {
        counts[theme] = (counts[theme] || 0) + 1;
      });
      var row = rows.get(rating.id);
      if (row) {
        row.hidden = shownTheme !== "" && themesOf(rating).indexOf(shownTheme) === -1;
      }
    });
    Array.prototype.forEach.call(themeChips.querySelectorAll("[data-theme-count]"), function (node) {
      node.textContent = String(counts[node.dataset.themeCount] || 0);
    });
    noneOnTheme.hidden = shownTheme === "" || (counts[shownTheme] || 0) > 0;
  }

  if (themeChips) {
    themeChips.addEventListener("click", function (event) {
      var chip = event.target.closest(".theme-chip");
      if (!chip) {
        return;
      }
      shownTheme = chip.dataset.theme || "";
      Array.prototype.forEach.call(themeChips.querySelectorAll(".theme-chip"), function (node) {
        node.setAttribute("aria-pressed", node === chip ? "true" : "false");
      });
      filterFeed();
    });
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
  //
  // One card per open or acknowledged alert, newest first. A card is built once and then updated
  // in place, so a resolve form someone is typing into survives other alerts arriving.

  var cards = new Map(); // alert id -> {li, alert, parts}
  var SHORT_CODE = /^[A-Z0-9]{4,12}$/;

  /** The follow-up link's path (for the QR image on this server) and the origin phones use. */
  function followUpParts(alert) {
    if (typeof alert.follow_up_url !== "string" || !alert.follow_up_url) {
      return null;
    }
    try {
      var url = new URL(alert.follow_up_url, window.location.href);
      if (url.protocol !== "http:" && url.protocol !== "https:" || !/^\/f\/[A-Za-z0-9_-]+$/.test(url.pathname)) {
        return null;
      }
      return { path: url.pathname, origin: url.origin };
    } catch (err) {
      return null;
    }
  }

  function factRow(list, label, value) {
    var row = el("div", "alert-card__fact");
    row.appendChild(el("dt", null, label));
    row.appendChild(el("dd", null, value));
    list.appendChild(row);
  }

  function buildCard(alert) {
    var li = el("li", "alert-card");
    li.dataset.alertId = String(alert.id);
    var main = el("div", "alert-card__main");
    var info = el("div", "alert-card__info");
    main.appendChild(info);
    var parts = { info: info };

    if (!readOnly) {
      var actions = el("div", "alert-card__actions");
      parts.ack = el("button", "button button--primary alert-card__ack", text.on_it);
      parts.ack.type = "button";
      parts.ack.addEventListener("click", function () {
        acknowledge(li.dataset.alertId);
      });
      parts.resolve = el("button", "button button--secondary alert-card__resolve", text.resolve);
      parts.resolve.type = "button";
      parts.resolve.setAttribute("aria-expanded", "false");
      parts.resolve.addEventListener("click", function () {
        openResolveForm(parts, true);
      });
      actions.appendChild(parts.ack);
      actions.appendChild(parts.resolve);
      main.appendChild(actions);
      parts.form = resolveForm(li, parts);
      parts.resolve.setAttribute("aria-controls", parts.form.id);
      main.appendChild(parts.form);
    }
    parts.error = el("p", "alert-card__error");
    parts.error.id = "alert-error-" + (++errorCount);
    parts.error.setAttribute("role", "alert");
    parts.error.hidden = true;
    main.appendChild(parts.error);
    li.appendChild(main);

    var link = followUpParts(alert);
    if (link) {
      var figure = el("figure", "alert-card__qr");
      var img = el("img", "alert-card__qr-image");
      img.src = link.path + "/qr.svg";
      img.alt = text.qr_alt;
      img.width = 176;
      img.height = 176;
      figure.appendChild(img);
      var caption = el("figcaption", "alert-card__qr-caption");
      if (typeof alert.short_code === "string" && SHORT_CODE.test(alert.short_code)) {
        caption.appendChild(el("span", "alert-card__qr-or", text.qr_or_type));
        // Broken before "/a/" rather than mid-address when it does not fit on one line.
        var typed = el("span", "alert-card__short-link");
        typed.appendChild(el("span", null, link.origin));
        typed.appendChild(document.createElement("wbr"));
        typed.appendChild(el("span", null, "/a/" + alert.short_code));
        caption.appendChild(typed);
      }
      figure.appendChild(caption);
      li.appendChild(figure);
    }
    return { li: li, alert: alert, parts: parts };
  }

  var formCount = 0;
  var errorCount = 0;

  function resolveForm(li, parts) {
    formCount += 1;
    var id = "resolve-" + formCount;
    var form = el("form", "resolve-form");
    form.id = id;
    form.noValidate = true;
    form.hidden = true;

    var action = el("textarea", "field__input");
    action.name = "action";
    action.rows = 2;
    action.maxLength = 1000;
    action.required = true;
    var actionField = field(id + "-action", text.what_was_done, action, null);
    var note = el("input", "field__input");
    note.name = "public_note";
    note.maxLength = 280;
    var noteField = field(id + "-note", text.public_note, note, text.public_note_hint);

    var buttons = el("div", "resolve-form__buttons");
    var submit = el("button", "button button--primary", text.resolve_submit);
    submit.type = "submit";
    var cancel = el("button", "button button--secondary", text.cancel);
    cancel.type = "button";
    cancel.addEventListener("click", function () {
      openResolveForm(parts, false);
      parts.resolve.focus();
    });
    buttons.appendChild(submit);
    buttons.appendChild(cancel);

    form.appendChild(actionField);
    form.appendChild(noteField);
    form.appendChild(buttons);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var what = action.value.trim();
      if (!what) {
        showCardError(parts, text.action_needed);
        action.setAttribute("aria-invalid", "true");
        action.setAttribute("aria-describedby", parts.error.id);
        action.focus();
        return;
      }
      action.removeAttribute("aria-invalid");
      var payload = { id: li.dataset.alertId, action: what };
      if (note.value.trim()) {
        payload.public_note = note.value.trim();
      }
      submit.disabled = true;
      send(config.resolve_event, payload, parts, function () {
        submit.disabled = false;
      });
    });
    parts.actionInput = action;
    return form;
  }

  /** A labelled form field (with an optional hint under the label) around `input`. */
  function field(id, label, input, hint) {
    var wrap = el("div", "field");
    var labelEl = el("label", "field__label", label);
    labelEl.htmlFor = id;
    input.id = id;
    wrap.appendChild(labelEl);
    if (hint) {
      var hintEl = el("p", "field__hint", hint);
      hintEl.id = id + "-hint";
      input.setAttribute("aria-describedby", hintEl.id);
      wrap.appendChild(hintEl);
    }
    wrap.appendChild(input);
    return wrap;
  }

  function openResolveForm(parts, open) {
    parts.form.hidden = !open;
    parts.resolve.setAttribute("aria-expanded", open ? "true" : "false");
    parts.resolve.hidden = open;
    showCardError(parts, null);
    if (open) {
      parts.actionInput.focus();
    }
  }

  function showCardError(parts, message) {
    parts.error.textContent = message || "";
    parts.error.hidden = !message;
  }

  /** Fill a card with what the alert says now. Everything from the server goes in as text. */
  function updateCard(card, alert) {
    card.alert = alert;
    var li = card.li;
    var parts = card.parts;
    li.className = "alert-card alert-card--" + (text.alert_kinds[alert.kind] ? alert.kind : "other");
    li.dataset.status = String(alert.status || "");
    li.dataset.kind = String(alert.kind || "");

    var head = el("div", "alert-card__head");
    // One card per patient: a request to talk with an urgent comment shows both reasons.
    var reasons = Array.isArray(alert.reasons) && alert.reasons.length ? alert.reasons : [alert.kind];
    li.dataset.reasons = reasons.join(" ");
    head.appendChild(el("span", "alert-card__kind", reasons.map(function (reason) {
      return text.alert_kinds[reason] || String(reason || "");
    }).join(" · ")));
    head.appendChild(el("span", "alert-card__status", text.alert_statuses[alert.status] || String(alert.status || "")));
    if (alert.raised_at) {
      var raised = el("time", "alert-card__time", raisedText(alert.raised_at));
      raised.setAttribute("datetime", String(alert.raised_at));
      head.appendChild(raised);
    }
    var nodes = [head];
    if (alert.summary) {
      nodes.push(el("p", "alert-card__summary", alert.summary));
    }
    var facts = el("dl", "alert-card__facts");
    if (alert.location) {
      factRow(facts, text.where, alert.location);
    }
    if (alert.comment) {
      factRow(facts, text.they_wrote, alert.comment);
    }
    if (facts.children.length) {
      nodes.push(facts);
    }
    if (alert.words_hidden) {
      nodes.push(el("p", "alert-card__hidden", text.words_hidden));
    }
    if (alert.acknowledged_by) {
      nodes.push(el("p", "alert-card__who", format(text.acknowledged_by, alert.acknowledged_by)));
    }
    parts.info.replaceChildren.apply(parts.info, nodes);
    if (parts.ack) {
      parts.ack.hidden = alert.status !== "open";
    }
  }

  function raisedText(value) {
    var ago = relativeTime(value);
    var clock = clockTime(value);
    return format(text.raised, ago ? ago + " (" + clock + ")" : clock);
  }

  /** Emit an alert action with an ack; a refusal is shown on the card, in the server's words. */
  function send(event, payload, parts, done) {
    showCardError(parts, null);
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, function (err, ack) {
      done();
      if (err) {
        showCardError(parts, text.no_answer);
      } else if (ack && ack.ok) {
        if (ack.alert) {
          receiveAlert(ack.alert);
        }
      } else {
        if (ack && ack.alert) {
          receiveAlert(ack.alert); // someone else got there first: show what they did
        }
        if (cards.has(payload.id)) {
          showCardError(parts, (ack && ack.message) || text.no_answer);
        } else {
          announce(ack.message);
        }
      }
    });
  }

  function acknowledge(id) {
    var card = cards.get(id);
    if (!card) {
      return;
    }
    card.parts.ack.disabled = true;
    send(config.acknowledge_event, { id: id }, card.parts, function () {
      card.parts.ack.disabled = false;
    });
  }

  function sortedCards() {
    return Array.from(cards.values()).sort(function (a, b) {
      return parseTime(b.alert.raised_at) - parseTime(a.alert.raised_at);
    });
  }

  function renderAlerts() {
    sortedCards().forEach(function (card, index) {
      if (alertList.children[index] !== card.li) {
        alertList.insertBefore(card.li, alertList.children[index] || null);
      }
    });
    var count = cards.size;
    alertsNone.hidden = count > 0;
    body.classList.toggle("has-alerts", count > 0);
    var waiting = sortedCards().filter(function (c) {
      return c.alert.status === "open";
    }).length;
    document.title = (waiting ? "(" + waiting + ") " : "") + baseTitle;
    renderTrend();
  }

  /** Add, update or (when resolved) remove one alert. Returns true if it is new to this screen. */
  function upsertAlert(alert) {
    if (!alert || typeof alert.id !== "string") {
      return false;
    }
    var card = cards.get(alert.id);
    if (alert.status === "resolved" || (alert.status !== "open" && alert.status !== "acknowledged")) {
      if (card) {
        card.li.remove();
        cards.delete(alert.id);
      }
      return false;
    }
    var fresh = !card && !seenAlerts.has(alert.id);
    seenAlerts.add(alert.id);
    if (!card) {
      card = buildCard(alert);
      cards.set(alert.id, card);
    }
    updateCard(card, alert);
    return fresh;
  }

  /** Each accepted step adds to an alert's history, so a longer history is a later state. */
  function stepsOf(alert) {
    return Array.isArray(alert.history) ? alert.history.length : 0;
  }

  /** A live "alert" event (or an ack's copy): update the card; a new one gets the visual cue and chime. */
  function receiveAlert(alert) {
    if (!alert || typeof alert.id !== "string") {
      return;
    }
    // Two staff acting at once: their events can arrive in either order; an older state never
    // replaces a newer one, so a resolved alert does not come back.
    if (stepsOf(alert) < (alertSteps.get(alert.id) || 0)) {
      return;
    }
    alertSteps.set(alert.id, stepsOf(alert));
    var before = cards.get(alert && alert.id);
    var wasHeldTrend = before && before.alert.kind === "trend" && before.alert.status === "open";
    var fresh = upsertAlert(alert);
    if (alert && alert.trend) {
      setTrend(alert.trend);
    } else if (wasHeldTrend && alert.status !== "open" && trend && trend.held) {
      // Acknowledged: the detector watches again from h/2 (README, "Alerts"); the next rating brings the exact value.
      setTrend(Object.assign({}, trend, { held: false, closeness: 0.5, b: trend.h / 2 }));
    }
    renderAlerts();
    if (fresh) {
      cue(cards.get(alert.id));
      announce(format(text.new_alert, alert.summary || text.alert_kinds[alert.kind] || ""));
    } else if (before && !cards.has(alert.id)) {
      announce(format(text.alert_resolved, before.alert.summary || ""));
    }
  }

  function announce(message) {
    announcer.textContent = "";
    window.setTimeout(function () {
      announcer.textContent = message;
    }, 50);
  }

  function refreshAlertTimes() {
    cards.forEach(function (card) {
      var time = card.li.querySelector(".alert-card__time");
      if (time) {
        time.textContent = raisedText(time.getAttribute("datetime"));
      }
    });
  }

  // ------------------------------------------------------------------ the cue: flash, title, chime

  var baseTitle = document.title;
  var seenAlerts = new Set();
  var alertSteps = new Map(); // alert id -> steps in the newest state this screen has had
  var flashTimer = null;

  function cue(card) {
    alertsArea.classList.remove("is-flashing");
    void alertsArea.offsetWidth; // restart the animation
    alertsArea.classList.add("is-flashing");
    if (card) {
      card.li.classList.add("is-new");
      window.setTimeout(function () {
        card.li.classList.remove("is-new");
      }, NEW_ALERT_MS);
    }
    window.clearTimeout(flashTimer);
    flashTimer = window.setTimeout(function () {
      alertsArea.classList.remove("is-flashing");
    }, NEW_ALERT_MS);
    chime();
  }

  var SOUND_KEY = "wardpulse.ward.sound";
  var soundButton = document.getElementById("sound");
  var soundBlocked = document.getElementById("sound-blocked");
  var audio = null;

  function soundOn() {
    try {
      return window.localStorage.getItem(SOUND_KEY) === "on";
    } catch (err) {
      return soundButton.getAttribute("aria-pressed") === "true";
    }
  }

  function setSound(on) {
    try {
      window.localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    } catch (err) {
      /* remembered until the page reloads */
    }
    soundButton.setAttribute("aria-pressed", on ? "true" : "false");
    updateSoundBlocked();
  }

  /** Browsers only start audio after someone touches the page: make the context on a touch. */
  function audioContext() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) {
      audio = new Context();
      audio.onstatechange = updateSoundBlocked;
    }
    if (audio && audio.state === "suspended") {
      audio.resume().then(updateSoundBlocked, updateSoundBlocked);
    }
    return audio;
  }

  function updateSoundBlocked() {
    soundBlocked.hidden = !(soundOn() && (!audio || audio.state !== "running"));
  }

  /** A short two-note chime made on the spot: no audio files to serve or cache. */
  function chime() {
    if (!soundOn()) {
      return;
    }
    var ctx = audioContext();
    if (!ctx || ctx.state !== "running") {
      updateSoundBlocked();
      return;
    }
    var start = ctx.currentTime + 0.02;
    [880, 1318.5].forEach(function (frequency, i) {
      var at = start + i * 0.18;
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.6);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.65);
    });
  }

  soundButton.addEventListener("click", function () {
    var on = !soundOn();
    setSound(on);
    if (on) {
      var ctx = audioContext();
      if (ctx) {
        ctx.resume().then(function () {
          updateSoundBlocked();
          chime(); // so whoever turned it on hears what it sounds like
        }, updateSoundBlocked);
      }
    }
  });

  ["pointerdown", "keydown"].forEach(function (type) {
    document.addEventListener(
      type,
      function () {
        if (soundOn()) {
          audioContext();
        }
      },
      { capture: true, passive: true }
    );
  });

  // ------------------------------------------------------------------ trend gauge (CUSUM)

  /** Python's round(), so "usually 1 in N" here says the same N as a trend alert's summary. */
  function roundHalfEven(x) {
    var down = Math.floor(x);
    var diff = x - down;
    if (Math.abs(diff - 0.5) > 1e-9) {
      return Math.round(x);
    }
    return down % 2 === 0 ? down : down + 1;
  }

  var trend = null;
  var trendPanel = document.getElementById("trend");
  var trendFill = document.getElementById("trend-fill");
  var trendText = document.getElementById("trend-text");
  var trendUsual = document.getElementById("trend-usual");

  function setTrend(value) {
    if (value && typeof value === "object") {
      trend = value;
      renderTrend();
    }
  }

  function renderTrend() {
    if (!trend) {
      return;
    }
    var held = !!trend.held;
    var closeness = Math.max(0, Math.min(1, Number(trend.closeness) || 0));
    trendPanel.dataset.held = held ? "true" : "false";
    trendPanel.dataset.level = held ? "held" : closeness >= 0.75 ? "high" : closeness >= 0.5 ? "medium" : "low";
    trendFill.style.width = (held ? 100 : Math.round(closeness * 100)) + "%";
    trendText.textContent = held ? text.trend_held : format(text.trend_closeness, percentFormat.format(closeness));
    var p0 = Number(trend.p0);
    trendUsual.textContent = p0 > 0 && p0 < 1 ? format(text.trend_usual, Math.max(1, roundHalfEven(1 / p0))) : "";
  }

  // ------------------------------------------------------------------ connection

  /** The storage banner, from the snapshot and from live "status" events; with ward processes sharing a message
   * queue, a second banner while events from the other processes cannot arrive (others_ok false). */
  function renderStatus(status) {
    if (status) {
      othersBanner.hidden = status.others_ok !== false;
    }
    if (status && status.storage_ok === false) {
      bannerMessage.textContent = status.message || text.storage_problem;
      // Ratings still being saved while only alerts wait: the title must not say feedback is lost.
      bannerTitle.textContent = status.ratings_ok ? text.alerts_not_saved : text.feedback_not_saved;
      banner.hidden = false;
    } else if (status) {
      banner.hidden = true;
      bannerMessage.textContent = "";
    }
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
  var query = {};
  query[config.ward_query] = config.ward; // so a proxy may send it to the process that owns the ward
  var socket = window.io(config.namespace, { auth: auth, query: query });
  var firstSnapshot = true;
  // The server numbers each ward's figures; two ratings handled at once can arrive in either order,
  // so a screen keeps the newest figures it has and never goes back to older ones.
  var shownSeq = -1;

  window.watchStaffSocket(socket, {
    liveText: liveText,
    text: text,
    accessErrors: ACCESS_ERRORS,
    refused: showAccessProblem,
    connected: clearAccessProblem,
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

    // Alerts too: whatever is not in the snapshot was resolved while this screen was away.
    var open = (snapshot.open_alerts || []).filter(function (a) {
      return a && typeof a.id === "string";
    });
    var keep = new Set(open.map(function (a) { return a.id; }));
    cards.forEach(function (card, id) {
      if (!keep.has(id)) {
        card.li.remove();
        cards.delete(id);
      }
    });
    // On the first snapshot the alerts are simply there; after a reconnect, ones this screen
    // has not seen before get the same cue as a live one.
    open.forEach(function (a) {
      alertSteps.set(a.id, Math.max(stepsOf(a), alertSteps.get(a.id) || 0));
    });
    var fresh = open.filter(upsertAlert);
    if (firstSnapshot) {
      fresh = [];
    }
    firstSnapshot = false;
    setTrend(snapshot.trend);
    renderAlerts();
    if (fresh.length) {
      cue(cards.get(fresh[0].id));
    }

    renderStats(snapshot.stats);
    renderStatus(snapshot.status);
    renderYouSaid(snapshot.you_said_we_did);
    shownSeq = typeof snapshot.seq === "number" ? snapshot.seq : -1;
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
    if (typeof rating.seq === "number" && rating.seq <= shownSeq) {
      return; // figures older than those shown: the rating is in the feed, its totals are not news
    }
    shownSeq = typeof rating.seq === "number" ? rating.seq : shownSeq;
    renderStats(rating.stats);
    setTrend(rating.trend);
  });

  socket.on(events.alert || "alert", function (alert) {
    if (!alert || (alert.ward && config.ward && alert.ward !== config.ward)) {
      return;
    }
    receiveAlert(alert);
  });

  socket.on(events.status || "status", renderStatus);

  // ------------------------------------------------------------------ "You said, we did"

  var youSaidPublished = document.getElementById("you-said-published");
  var youSaidWaiting = document.getElementById("you-said-waiting");
  var youSaidNone = document.getElementById("you-said-none");

  function publishButton(note, li) {
    var button = el("button", "button button--secondary", text.publish);
    button.type = "button";
    var error = el("p", "you-said__error");
    error.hidden = true;
    button.addEventListener("click", function () {
      button.disabled = true;
      socket.timeout(ACK_TIMEOUT_MS).emit(config.publish_event, { id: note.id }, function (err, ack) {
        button.disabled = false;
        if (err || !ack || !ack.ok) {
          error.textContent = (ack && ack.message) || text.no_answer;
          error.hidden = false;
        }
      });
    });
    li.appendChild(button);
    li.appendChild(error);
  }

  /** Draw the ward's sentences: published ones, then (for staff) those waiting for a sister. */
  function renderYouSaid(board) {
    if (!board || (board.ward && config.ward && board.ward !== config.ward)) {
      return;
    }
    youSaidPublished.replaceChildren();
    (board.published || []).forEach(function (note) {
      var li = el("li", "you-said__item", note.text);
      li.dataset.noteId = note.id;
      youSaidPublished.appendChild(li);
    });
    youSaidWaiting.replaceChildren();
    (readOnly ? [] : board.waiting || []).forEach(function (note) {
      var li = el("li", "you-said__item you-said__item--waiting");
      li.dataset.noteId = note.id;
      li.appendChild(el("p", "you-said__text", note.text));
      li.appendChild(el("p", "you-said__meta", text.note_waiting + " · " + format(text.note_written_by, note.resolved_by || "")));
      if (mayPublish) {
        publishButton(note, li);
      }
      youSaidWaiting.appendChild(li);
    });
    youSaidNone.hidden = youSaidPublished.children.length + youSaidWaiting.children.length > 0;
  }

  socket.on(events.you_said_we_did || "you_said_we_did", renderYouSaid);

  body.dataset.connection = "offline";
  soundButton.setAttribute("aria-pressed", soundOn() ? "true" : "false");
  if (soundOn()) {
    audioContext(); // a kiosk-mode browser may allow sound at once; otherwise the next touch does
  }
  updateSoundBlocked();
  window.setInterval(function () {
    refreshTimes();
    refreshAlertTimes();
  }, REFRESH_MS);
})();
