/* WardPulse ward tablet, and the same question on a patient's own phone.
 *
 * A patient taps an answer; the rating (id, score, tapped_at) is made at that moment. Optional
 * steps follow (a comment, then "would you like someone to talk to you?" and where they are);
 * after the last one the rating goes into the outbox in localStorage and the outbox is drained
 * over Socket.IO, one rating at a time, oldest tap first, each removed only once the server acks it
 * as stored. The patient never sees an error; a rating the server refuses for good goes to a small
 * "refused" list the tablet reports to the admin kiosks page, never silently away.
 *
 * Tap times are on the server's clock: a ward tablet often has no time server and a wrong clock.
 * The page times a request to the server whenever it connects (and reads the server's time in
 * every ack), and keeps that reading against performance.now(), a clock that a change of the
 * tablet's own clock does not move. Each tap carries the corrected time, the tablet's own clock
 * reading and the offset used; a page that has not reached the server yet says its clock is
 * "unknown", and its waiting taps are restamped once it does.
 *
 * localStorage is shared by every tab of the kiosk: the outbox is one list, but each tab keeps its
 * own draft, and another tab adopts a draft only once the tab that made it is gone. When storage
 * fails (full), the copy in memory is the outbox: the page keeps sending from it, shows staff a
 * small notice, and writes it back as soon as storage works again.
 *
 * On a ward tablet a service worker (sw.js) keeps this page so a reboot during an outage still
 * shows the question. On a patient's own phone (client_config.own_ward, from the bedside poster)
 * there is no enrollment: the phone makes itself a random device id once.
 *
 * Every word shown comes from the template (#wardpulse-text and the page), which goes through gettext.
 */
(function () {
  "use strict";

  var config = readJson("wardpulse-config");
  var text = readJson("wardpulse-text");
  // The patient's language and wording (languages.js); a page without it is English, standard wording.
  var choices = window.WardPulseChoices || { lang: function () { return null; }, easy: function () { return false; }, reset: function () {}, setStart: function () {} };

  var ACK_TIMEOUT_MS = 10000;
  var RETRY_MS = 4000;
  var RECONNECT_AFTER_REFUSAL_MS = 5000;
  var SAFETY_DRAIN_MS = 15000;
  // A new screen ignores pointer input this long, so a double tap on an answer cannot also press
  // Skip or Send underneath it.
  var SETTLE_MS = 350;
  // After each thank-you the answers rest this long (greyed, "Next person…"): a child tapping
  // forty times is slowed down, and the server's misuse marking has less to do.
  var PAUSE_SECONDS = typeof config.pause_seconds === "number" ? config.pause_seconds : 3;
  var ENROLL_ERRORS = ["unknown_token", "revoked_token", "missing_token"];
  // A round trip longer than this gives a clock reading too rough to use.
  var MAX_CLOCK_RTT_MS = 5000;
  // A clock reading is kept until a closer one comes, or it is this old.
  var CLOCK_READING_KEEP_MS = 10 * 60 * 1000;
  var CLOCK_RESYNC_MS = 5 * 60 * 1000;
  // After the server drops this tablet (revoked, restarted), try again after 1 s, 2 s, 4 s... up to a minute.
  var RECONNECT_MIN_MS = 1000;
  var RECONNECT_MAX_MS = 60000;
  // Without Web Locks (a plain-http page), a tab's draft counts as abandoned once its heartbeat is
  // this old: longer than a hidden tab's throttled timers (once a minute) can lag.
  var DRAFT_STALE_MS = 3 * 60 * 1000;
  var DRAFT_BEAT_MS = 5000;
  var KEEP_REFUSED = 50;

  var own = typeof config.own_ward === "string" && config.own_ward !== "";
  // A phone's ratings never mix with a tablet's, should one browser ever be both.
  var OUTBOX_KEY = config.outbox_key + (own ? ".own" : "");
  // A rating tapped but not yet through its steps: if the page dies mid-way, it is sent with what
  // was confirmed so far instead of being lost. One draft per tab (this page's own key); the
  // unsuffixed key is where older versions of this page kept a single shared draft.
  var LEGACY_DRAFT_KEY = OUTBOX_KEY + ".draft";
  var DRAFT_PREFIX = LEGACY_DRAFT_KEY + ".";
  var REFUSED_KEY = OUTBOX_KEY + ".refused";
  var LOCK_PREFIX = "wardpulse.tab.";

  var body = document.body;
  var screens = {};
  Array.prototype.forEach.call(document.querySelectorAll(".screen"), function (el) {
    screens[el.dataset.screen] = el;
  });
  var statusEl = document.getElementById("connection");
  var statusText = document.getElementById("connection-text");
  var commentBox = document.getElementById("comment");
  var locationBox = document.getElementById("location");
  var restNote = document.getElementById("rest-note").firstElementChild;
  var heldNote = document.getElementById("held-note");
  var answerButtons = Array.prototype.slice.call(document.querySelectorAll(".answer[data-score]"));

  var socket = null;
  var enrolled = false;
  var pageId = null; // this tab's id, made at start
  var draftKey = null;

  // ------------------------------------------------------------------ helpers

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }

  var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(document.documentElement.lang || undefined) : null;

  /** Fill {n} into a string, or into the right plural form of {"one": ..., "other": ...}. */
  function format(template, n) {
    if (template && typeof template === "object") {
      var form = plurals ? plurals.select(n) : n === 1 ? "one" : "other";
      template = template[form] || template.other;
    }
    return String(template).split("{n}").join(String(n));
  }

  // localStorage can throw (quota full, storage disabled). Every write also goes to memory; a key
  // whose last write failed is read from memory (newer than what storage holds) until a write of
  // it succeeds again. Other keys are read from storage, which other tabs write too.
  var memory = {};
  var unsaved = {}; // key -> true while storage holds an older copy than memory

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  function loadJson(key, fallback) {
    if (unsaved[key]) {
      return has(memory, key) ? memory[key] : fallback;
    }
    try {
      var raw = window.localStorage.getItem(key);
      if (raw !== null) {
        return JSON.parse(raw);
      }
    } catch (err) {
      console.warn("WardPulse: cannot read " + key + " from localStorage", err);
    }
    return has(memory, key) ? memory[key] : fallback;
  }

  function saveJson(key, value) {
    writeThrough(key, value, JSON.stringify(value));
  }

  function writeThrough(key, value, raw) {
    memory[key] = value;
    try {
      window.localStorage.setItem(key, raw);
      delete unsaved[key];
    } catch (err) {
      if (!unsaved[key]) {
        console.warn("WardPulse: cannot write " + key + " to localStorage; keeping it in memory", err);
      }
      unsaved[key] = true;
    }
    body.dataset.storage = Object.keys(unsaved).length ? "full" : "ok";
  }

  /** Try again to write what only memory holds (storage may have room again). */
  function retryUnsaved() {
    Object.keys(unsaved).forEach(function (key) {
      var value = memory[key];
      writeThrough(key, value, typeof value === "string" ? value : JSON.stringify(value));
    });
  }

  function removeKey(key) {
    delete memory[key];
    delete unsaved[key];
    try {
      window.localStorage.removeItem(key);
    } catch (err) {
      /* nothing more to do */
    }
    body.dataset.storage = Object.keys(unsaved).length ? "full" : "ok";
  }

  function storageKeys(prefix) {
    var keys = [];
    try {
      for (var i = 0; i < window.localStorage.length; i += 1) {
        var key = window.localStorage.key(i);
        if (key && key.indexOf(prefix) === 0) {
          keys.push(key);
        }
      }
    } catch (err) {
      /* storage unreadable: only memory is left */
    }
    return keys;
  }

  /** A plain string setting (device token, device id), not JSON. */
  function loadString(key) {
    if (!unsaved[key]) {
      try {
        var value = window.localStorage.getItem(key);
        if (value !== null) {
          return value;
        }
      } catch (err) {
        /* fall back to memory */
      }
    }
    return memory[key] || null;
  }

  function saveString(key, value) {
    writeThrough(key, value, value);
  }

  function newUuid() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      try {
        return c.randomUUID();
      } catch (err) {
        /* not a secure context: fall through */
      }
    }
    // Plain-http LAN pages are not a secure context, so randomUUID may be missing.
    var b = new Uint8Array(16);
    c.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    var hex = Array.prototype.map
      .call(b, function (x) {
        return (x < 16 ? "0" : "") + x.toString(16);
      })
      .join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // The server refuses control characters (other than newlines and tabs) and counts length in
  // code points; a permanent refusal would lose the rating, so clean the text here.
  function cleanText(value, limit) {
    var cleaned = String(value || "")
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g, "")
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "$1")
      .trim();
    var chars = Array.from(cleaned);
    if (chars.length > limit) {
      cleaned = chars.slice(0, limit).join("").trim();
    }
    return cleaned;
  }

  /** Only the fields the protocol knows, and only those that are set. */
  function ratingFields(r) {
    var out = { id: r.id, score: r.score, tapped_at: r.tapped_at };
    ["device_time", "clock_offset_ms", "clock"].forEach(function (name) {
      if (r[name] !== undefined && r[name] !== null) {
        out[name] = r[name];
      }
    });
    if (typeof r.comment === "string" && r.comment) {
      out.comment = r.comment;
    }
    if (typeof r.lang === "string" && r.lang) {
      out.lang = r.lang;
    }
    if (r.follow_up && typeof r.follow_up === "object") {
      out.follow_up = r.follow_up.location ? { location: String(r.follow_up.location) } : {};
    }
    return out;
  }

  // ------------------------------------------------------------------ the server's clock

  // The best reading of the server's clock this page has: the server's time (ms since the epoch)
  // at the monotonic moment `mono`, and the round trip it was read in.
  var clockReading = null;

  /** Take a reading of the server's clock from a request sent at `sentMono` and answered at `receivedMono`. */
  function readServerClock(serverTime, sentMono, receivedMono) {
    var server = Date.parse(serverTime);
    var rtt = Math.max(0, receivedMono - sentMono);
    if (isNaN(server) || rtt > MAX_CLOCK_RTT_MS) {
      return;
    }
    // The server read its clock about halfway through the round trip.
    var fresh = { server: server, mono: sentMono + rtt / 2, rtt: rtt };
    var first = clockReading === null;
    if (first || rtt <= clockReading.rtt + 100 || receivedMono - clockReading.mono > CLOCK_READING_KEEP_MS) {
      clockReading = fresh;
    }
    if (first) {
      body.dataset.clock = "synced";
      restampUnknownTaps();
    }
    reportStatus();
  }

  /** The server's time now (ms), or null if this page has never reached the server. */
  function serverNow() {
    return clockReading ? clockReading.server + (performance.now() - clockReading.mono) : null;
  }

  /** The server's clock minus this tablet's, in ms, or null if not known yet. */
  function clockOffset() {
    var now = serverNow();
    return now === null ? null : Math.round(now - Date.now());
  }

  /** When a tap happened, on the server's clock if this page has read it, and how it was stamped. */
  function tapTimes() {
    var device = Date.now();
    var server = serverNow();
    var times = { device_time: new Date(device).toISOString(), _mono: performance.now(), _page: pageId };
    if (server === null) {
      times.tapped_at = times.device_time;
      times.clock = "unknown";
    } else {
      times.tapped_at = new Date(server).toISOString();
      times.clock_offset_ms = Math.round(server - device);
      times.clock = "synced";
    }
    return times;
  }

  /** Taps made on this page before it first reached the server get the server's time now it is known. */
  function restampUnknownTaps() {
    var changed = false;
    var items = outbox.list().map(function (r) {
      // Only never-sent taps: a resend must say exactly what the first sending said.
      if (r && r.clock === "unknown" && r._page === pageId && !r._sent && typeof r._mono === "number") {
        changed = true;
        var server = clockReading.server + (r._mono - clockReading.mono);
        return Object.assign({}, r, {
          tapped_at: new Date(server).toISOString(),
          clock_offset_ms: Math.round(server - Date.parse(r.device_time)),
          clock: "synced",
        });
      }
      return r;
    });
    if (changed) {
      saveJson(OUTBOX_KEY, items);
    }
  }

  /** Time a request to the server to read its clock; then call `then` (if given), answered or not. */
  function syncClock(then) {
    if (!socket || !socket.connected || !config.clock_event) {
      return;
    }
    var sent = performance.now();
    socket.timeout(ACK_TIMEOUT_MS).emit(config.clock_event, {}, function (err, ack) {
      if (!err && ack && ack.server_time) {
        readServerClock(ack.server_time, sent, performance.now());
      }
      if (!err && ack && ack.start) {
        choices.setStart(ack.start); // the ward's language and wording for each new patient
      }
      if (!err && ack && ack.ward) {
        rememberWard(ack.ward);
      }
      if (!err && ack && ack.you_said_we_did) {
        youSaid.set(ack.you_said_we_did); // what was published while this tablet was away
      }
      if (typeof then === "function") {
        then();
      }
    });
  }

  // ------------------------------------------------------------------ "You said, we did"

  /** The ward's latest published sentences in a quiet band under the answers, one at a time. */
  var youSaid = {
    band: document.getElementById("you-said"),
    text: document.getElementById("you-said-text"),
    sentences: [],
    shown: 0,
    timer: null,
    set: function (sentences) {
      if (!Array.isArray(sentences) || !youSaid.band) {
        return;
      }
      youSaid.sentences = sentences.filter(function (s) {
        return s && typeof s.text === "string" && s.text;
      }).slice(0, 3);
      try {
        // Shown again after an offline reload. Not through saveJson: a full storage must not be
        // reported for these, which the next connection sends again anyway.
        window.localStorage.setItem(config.you_said_key, JSON.stringify(youSaid.sentences));
      } catch (err) {
        /* kept in memory only */
      }
      youSaid.shown = 0;
      youSaid.draw();
      window.clearInterval(youSaid.timer);
      if (youSaid.sentences.length > 1) {
        youSaid.timer = window.setInterval(function () {
          youSaid.shown = (youSaid.shown + 1) % youSaid.sentences.length;
          youSaid.draw();
        }, (config.you_said_seconds || 8) * 1000);
      }
    },
    restore: function () {
      try {
        youSaid.set(JSON.parse(window.localStorage.getItem(config.you_said_key) || "[]"));
      } catch (err) {
        youSaid.set([]);
      }
    },
    draw: function () {
      var sentence = youSaid.sentences[youSaid.shown];
      youSaid.band.hidden = !sentence;
      youSaid.text.textContent = sentence ? sentence.text : ""; // staff's words: text, never HTML
      youSaid.band.dataset.count = String(youSaid.sentences.length);
    },
  };

  // ------------------------------------------------------------------ outbox

  var outbox = {
    list: function () {
      var value = loadJson(OUTBOX_KEY, []);
      return Array.isArray(value) ? value : [];
    },
    add: function (rating) {
      var items = outbox.list();
      if (!items.some(function (r) { return r && r.id === rating.id; })) {
        items.push(rating);
      }
      saveJson(OUTBOX_KEY, items);
    },
    remove: function (id) {
      saveJson(
        OUTBOX_KEY,
        outbox.list().filter(function (r) { return !r || r.id !== id; })
      );
    },
    markSent: function (id) {
      saveJson(
        OUTBOX_KEY,
        outbox.list().map(function (r) {
          return r && r.id === id ? Object.assign({}, r, { _sent: true }) : r;
        })
      );
    },
    oldest: function () {
      var items = outbox.list().filter(function (r) { return r && typeof r === "object"; });
      items.sort(function (a, b) {
        var ta = Date.parse(a.tapped_at) || 0;
        var tb = Date.parse(b.tapped_at) || 0;
        return ta - tb;
      });
      return items[0] || null;
    },
  };

  var draining = false;
  var retryTimer = null;

  function scheduleRetry() {
    if (retryTimer === null) {
      retryTimer = window.setTimeout(function () {
        retryTimer = null;
        drain();
      }, RETRY_MS);
    }
  }

  /** Send the oldest waiting rating; on its ack, send the next. One at a time. */
  function drain() {
    updateStatus();
    if (draining || !socket || !socket.connected) {
      return;
    }
    var rating = outbox.oldest();
    if (!rating) {
      return;
    }
    draining = true;
    if (!rating._sent) {
      outbox.markSent(rating.id);
    }
    var sent = performance.now();
    socket.timeout(ACK_TIMEOUT_MS).emit(config.rating_event, ratingFields(rating), function (err, ack) {
      draining = false;
      if (ack && ack.server_time) {
        readServerClock(ack.server_time, sent, performance.now());
      }
      if (err) {
        // Timed out or disconnected: it stays in the outbox.
        scheduleRetry();
      } else if (ack && ack.ok) {
        outbox.remove(rating.id);
        window.setTimeout(drain, 0);
      } else if (ack && config.retry_errors.indexOf(ack.error) !== -1) {
        // The server could not store it this time (full disk, a fault): keep it and try again.
        scheduleRetry();
      } else if (ack && ack.error) {
        // A permanent refusal: resending would be refused again and block the ratings behind it.
        // It moves to the refused list, which the admin kiosks page shows with the reason.
        refuse(rating, ack);
        if (ack.error === "rate_limited") {
          thankKindly(rating);
        } else {
          console.warn("WardPulse: rating " + rating.id + " refused (" + ack.error + "): " + ack.message);
        }
        window.setTimeout(drain, 0);
      } else {
        console.warn("WardPulse: unexpected acknowledgement; keeping the rating", ack);
        scheduleRetry();
      }
      updateStatus();
    });
  }

  /** Keep a rating the server refused for good, with its reason, for staff to see. */
  function refuse(rating, ack) {
    var kept = refusedList().filter(function (r) {
      return r.id !== rating.id;
    });
    kept.push({ id: rating.id, score: rating.score, tapped_at: rating.tapped_at, error: ack.error, rating: ratingFields(rating) });
    saveJson(REFUSED_KEY, kept.slice(-KEEP_REFUSED));
    outbox.remove(rating.id);
  }

  function refusedList() {
    var value = loadJson(REFUSED_KEY, []);
    return Array.isArray(value) ? value : [];
  }

  /** What this tablet tells the server about itself: outbox size, clock offset, what it gave up on. */
  function selfReport() {
    return {
      waiting: outbox.list().length,
      clock_offset_ms: clockOffset(),
      refused: refusedList().map(function (r) {
        return { id: r.id, score: r.score, tapped_at: r.tapped_at, error: r.error };
      }),
    };
  }

  var reported = null;

  // Tell the server what waits here, so the admin page can spot a stuck tablet or a wrong clock.
  function reportStatus() {
    if (own || !config.status_event || !socket || !socket.connected) {
      return;
    }
    var report = selfReport();
    // A clock offset wobbles by a few ms between readings: only a change of a second is news.
    var key = JSON.stringify([report.waiting, Math.round((report.clock_offset_ms || 0) / 1000), report.refused.length]);
    if (key !== reported) {
      reported = key;
      socket.emit(config.status_event, report);
    }
  }

  function updateStatus() {
    var waiting = outbox.list().length;
    var online = !!(socket && socket.connected);
    reportStatus();
    retryUnsaved();
    var storageFull = body.dataset.storage === "full";
    body.dataset.connection = online ? "online" : "offline";
    body.dataset.waiting = String(waiting);
    body.classList.toggle("has-waiting", waiting > 0);
    var label;
    if (waiting > 0) {
      label = format(online ? text.connected_waiting : text.not_connected_waiting, waiting);
    } else {
      label = online ? text.connected : text.not_connected;
    }
    var note = waiting > 0 ? format(text.waiting, waiting) : "";
    if (storageFull) {
      label += ". " + text.storage_full;
      note = note ? note + " · " + text.storage_full : text.storage_full;
    }
    statusEl.setAttribute("aria-label", label);
    statusEl.title = label;
    statusText.textContent = note;
    heldNote.hidden = waiting === 0;
    heldNote.textContent = format(text.held, waiting);
  }

  // ------------------------------------------------------------------ screens

  var settleTimer = null;

  function show(name) {
    Object.keys(screens).forEach(function (key) {
      screens[key].hidden = key !== name;
    });
    body.dataset.screen = name;
    var screen = screens[name];
    screen.classList.add("is-settling");
    window.clearTimeout(settleTimer);
    settleTimer = window.setTimeout(function () {
      screen.classList.remove("is-settling");
    }, SETTLE_MS);
    var heading = screen.querySelector("h1");
    if (heading) {
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }

  // Steps between the answer tap and the thank-you screen, in order. Each has a screen name, an
  // optional when(rating) that says whether it applies, and an enter(rating) that resets it; its
  // buttons call advance(). A step may add fields to the rating.
  var steps = [
    {
      // Easy read asks first whether the patient wants to say more; the other steps follow only on "yes".
      screen: "more",
      when: function () {
        return choices.easy();
      },
    },
    {
      screen: "comment",
      when: wantsMore,
      enter: function () {
        commentBox.value = "";
      },
    },
    {
      screen: "follow-up",
      when: wantsMore,
    },
    {
      screen: "where",
      when: function (rating) {
        return !!rating.follow_up;
      },
      enter: function () {
        locationBox.value = "";
      },
    },
  ];

  function wantsMore(rating) {
    return !choices.easy() || !!rating._more;
  }

  var session = null; // {rating, index, finished}
  var idleTimer = null;
  var thanksTimer = null;
  var restTimer = null;
  var resting = false;

  function startSession(score) {
    var rating = Object.assign({ id: newUuid(), score: score }, tapTimes());
    var lang = choices.lang();
    if (lang) {
      rating.lang = lang;
    }
    session = { rating: rating, index: -1, finished: false };
    advance();
  }

  /** A rating as the outbox keeps it: the protocol's fields, and when and where it was tapped on this page. */
  function outboxEntry(rating) {
    return Object.assign(ratingFields(rating), { _mono: rating._mono, _page: rating._page });
  }

  /** This tab's draft, with a heartbeat for tabs that cannot see its lock. */
  function saveDraft(rating) {
    saveJson(draftKey, { tab: pageId, beat: Date.now(), rating: outboxEntry(rating) });
  }

  function advance() {
    var s = session;
    if (!s || s.finished) {
      return;
    }
    // What was confirmed so far survives a reload.
    saveDraft(s.rating);
    s.index += 1;
    while (s.index < steps.length && steps[s.index].when && !steps[s.index].when(s.rating)) {
      s.index += 1;
    }
    if (s.index < steps.length) {
      var step = steps[s.index];
      if (step.enter) {
        step.enter(s.rating);
      }
      show(step.screen);
      armIdle();
    } else {
      finish(true);
    }
  }

  /** The rating leaves the patient's hands: into the outbox, then thank-you (or straight back). */
  function finish(thank) {
    var s = session;
    if (!s || s.finished) {
      return;
    }
    s.finished = true;
    session = null;
    disarmIdle();
    var rating = outboxEntry(s.rating);
    outbox.add(rating);
    removeKey(draftKey);
    drain();
    if (thank) {
      showThanks({ "follow-up": !!rating.follow_up, own: own, again: own });
    } else {
      showQuestion(false);
    }
  }

  /** The thank-you screen with some of its notes. A tablet goes back to the question by itself. */
  function showThanks(notes) {
    Array.prototype.forEach.call(screens.thanks.querySelectorAll("[data-note]"), function (note) {
      note.hidden = !notes[note.dataset.note];
    });
    show("thanks");
    window.clearTimeout(thanksTimer);
    if (!own) {
      thanksTimer = window.setTimeout(function () {
        showQuestion(true);
      }, config.thank_you_seconds * 1000);
    }
  }

  /** A patient's own phone already gave its share of feedback this hour: thank them, never an error. */
  function thankKindly(rating) {
    if (session) {
      return; // someone is answering again: do not pull the screen from under them
    }
    showThanks({ limited: true, "limited-follow-up": !!rating.follow_up, own: true });
  }

  function showQuestion(rest) {
    window.clearTimeout(thanksTimer);
    if (!enrolled) {
      show("not-enrolled");
      return;
    }
    commentBox.value = "";
    locationBox.value = "";
    if (rest || !own) {
      choices.reset(); // the next patient starts in the ward's language, normal text
    }
    setResting(rest && !own && PAUSE_SECONDS > 0);
    show("question");
  }

  /** Grey the answers out for a moment after a thank-you, with a gentle "Next person…". */
  function setResting(on) {
    window.clearTimeout(restTimer);
    resting = on;
    body.classList.toggle("is-resting", on);
    restNote.hidden = !on;
    answerButtons.forEach(function (button) {
      button.disabled = on;
    });
    if (on) {
      restTimer = window.setTimeout(function () {
        setResting(false);
      }, PAUSE_SECONDS * 1000);
    }
  }

  function armIdle() {
    disarmIdle();
    idleTimer = window.setTimeout(function () {
      idleTimer = null;
      // Nobody is there any more: send what was chosen, without half-written text.
      finish(false);
    }, config.idle_seconds * 1000);
  }

  function disarmIdle() {
    if (idleTimer !== null) {
      window.clearTimeout(idleTimer);
      idleTimer = null;
    }
  }

  ["pointerdown", "keydown", "input", "touchstart"].forEach(function (type) {
    document.addEventListener(
      type,
      function () {
        if (idleTimer !== null) {
          armIdle();
        }
      },
      { capture: true, passive: true }
    );
  });

  answerButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      if (session || resting || body.dataset.screen !== "question") {
        return;
      }
      startSession(button.dataset.score);
    });
  });

  document.getElementById("comment-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!session) {
      return;
    }
    var comment = cleanText(commentBox.value, config.max_comment);
    if (comment) {
      session.rating.comment = comment;
      if (choices.lang()) {
        session.rating.lang = choices.lang(); // the language the comment was written in
      }
    } else {
      delete session.rating.comment;
    }
    commentBox.value = "";
    advance();
  });

  document.getElementById("skip").addEventListener("click", function () {
    if (!session) {
      return;
    }
    delete session.rating.comment;
    commentBox.value = "";
    advance();
  });

  document.getElementById("more-yes").addEventListener("click", function () {
    if (session) {
      session.rating._more = true;
      advance();
    }
  });

  document.getElementById("more-no").addEventListener("click", function () {
    if (session) {
      advance();
    }
  });

  document.getElementById("follow-up-yes").addEventListener("click", function () {
    if (!session) {
      return;
    }
    session.rating.follow_up = {};
    advance();
  });

  document.getElementById("follow-up-no").addEventListener("click", function () {
    if (!session) {
      return;
    }
    delete session.rating.follow_up;
    advance();
  });

  document.getElementById("where-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!session) {
      return;
    }
    var where = cleanText(locationBox.value, config.max_location).replace(/\s+/g, " ");
    session.rating.follow_up = where ? { location: where } : {};
    locationBox.value = "";
    advance();
  });

  var again = document.getElementById("again");
  if (again) {
    again.addEventListener("click", function () {
      showQuestion(false);
    });
  }

  // ------------------------------------------------------------------ drafts of other tabs

  /** Hold a lock named after this tab for as long as it lives, so other tabs can tell it is alive. */
  function holdTabLock() {
    if (navigator.locks && navigator.locks.request) {
      navigator.locks.request(LOCK_PREFIX + pageId, function () {
        return new Promise(function () {}); // released only when the tab goes
      }).catch(function () {});
    }
  }

  /** Calls back with a test saying whether the tab that made a draft is still alive. */
  function withLiveTabs(callback) {
    var byHeartbeat = function (draft) {
      return typeof draft.beat === "number" && Math.abs(Date.now() - draft.beat) < DRAFT_STALE_MS;
    };
    if (!(navigator.locks && navigator.locks.query)) {
      callback(byHeartbeat);
      return;
    }
    navigator.locks.query().then(
      function (state) {
        var names = (state.held || []).concat(state.pending || []).map(function (lock) {
          return lock.name;
        });
        callback(function (draft) {
          return names.indexOf(LOCK_PREFIX + draft.tab) !== -1;
        });
      },
      function () {
        callback(byHeartbeat);
      }
    );
  }

  /** Send what abandoned tabs had confirmed (a tab closed or reloaded mid-way), never a live tab's draft. */
  function adoptAbandonedDrafts() {
    var keys = storageKeys(DRAFT_PREFIX).filter(function (key) {
      return key !== draftKey;
    });
    var legacy = loadJson(LEGACY_DRAFT_KEY, null); // an older page's draft: that page has been replaced
    if (legacy) {
      adopt(legacy);
      removeKey(LEGACY_DRAFT_KEY);
    }
    if (!keys.length) {
      return;
    }
    withLiveTabs(function (alive) {
      keys.forEach(function (key) {
        var draft = loadJson(key, null);
        if (draft && draft.tab && alive(draft)) {
          return;
        }
        if (draft && draft.rating) {
          adopt(draft.rating);
        }
        removeKey(key);
      });
      drain();
    });
  }

  function adopt(rating) {
    if (rating && rating.id && rating.score && rating.tapped_at) {
      outbox.add(outboxEntry(rating));
    }
  }

  // ------------------------------------------------------------------ enrollment and connection

  function readEnrollToken() {
    var match = /(?:^#|&)enroll=([^&]*)/.exec(window.location.hash || "");
    if (!match) {
      return null;
    }
    try {
      return decodeURIComponent(match[1]);
    } catch (err) {
      return match[1];
    }
  }

  /** The phone's own random id, made once: lets the server rate-limit a phone without knowing who it is. */
  function ownDeviceId() {
    var id = loadString(config.device_key);
    if (!id || !/^[0-9a-f-]{36}$/.test(id)) {
      id = newUuid();
      saveString(config.device_key, id);
    }
    return id;
  }

  function notEnrolled(reason) {
    if (reason) {
      console.warn("WardPulse: " + reason);
    }
    enrolled = false;
    if (session) {
      finish(false); // keep what was tapped; it drains once the tablet is enrolled again
    }
    show("not-enrolled");
    updateStatus();
  }

  var reconnectDelay = RECONNECT_MIN_MS;

  /** This tablet's ward, named in every connection (?ward=7B) so a proxy sends it to the process that owns the ward. */
  function wardQuery() {
    var ward = own ? config.own_ward : loadString(config.ward_key);
    var query = {};
    if (ward) {
      query[config.ward_query] = ward;
    }
    return query;
  }

  function rememberWard(ward) {
    if (!own && typeof ward === "string" && ward) {
      saveString(config.ward_key, ward);
      if (socket) {
        socket.io.opts.query = wardQuery(); // used from the next connection on
      }
    }
  }

  /** Connect again after the server hung up on us, waiting longer each time it does. */
  function reconnectLater(delay) {
    window.setTimeout(function () {
      if (!socket.connected && enrolled) {
        socket.connect();
      }
    }, delay);
  }

  function connect(auth) {
    // Read on every (re)connection: the tablet's clock now, and what it holds, so that even a
    // refused (revoked) tablet tells the admin page what waits on it.
    var handshake = function (callback) {
      var fields = { device_time: new Date().toISOString() };
      if (!own) {
        var report = selfReport();
        // A patient mid-way counts too: if the server turns this tablet away, that rating stays here.
        fields.waiting = report.waiting + (session && !session.finished ? 1 : 0);
        fields.refused = report.refused;
      }
      callback(Object.assign(fields, auth));
    };
    socket = window.io(config.namespace, { auth: handshake, query: wardQuery() });
    if (config.start_event) {
      socket.on(config.start_event, function (start) {
        choices.setStart(start);
      });
    }
    if (config.you_said_event) {
      socket.on(config.you_said_event, function (update) {
        youSaid.set(update && update.published);
      });
    }
    socket.on("connect", function () {
      reported = null;
      reconnectDelay = RECONNECT_MIN_MS;
      updateStatus();
      // Read the server's clock before sending, so taps made before this page first reached the
      // server go out restamped.
      syncClock(drain);
    });
    socket.on("disconnect", function (reason) {
      updateStatus();
      // socket.io reconnects by itself after a network failure, but not when the server closed
      // the connection (a revoked tablet is dropped that way): ask again, to learn why.
      if (reason === "io server disconnect") {
        reconnectLater(reconnectDelay);
        reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
      }
    });
    socket.on("connect_error", function (err) {
      updateStatus();
      var code = err && err.data && err.data.error;
      if (!own && code && ENROLL_ERRORS.indexOf(code) !== -1) {
        socket.disconnect();
        notEnrolled(err.data.message || code);
        if (code === "revoked_token") {
          // Knock again now and then: each refused attempt tells the server what this tablet
          // holds, so the kiosks page still shows it after the server restarts.
          window.setTimeout(function () {
            if (!socket.connected) {
              socket.connect();
            }
          }, RECONNECT_MAX_MS);
        }
        return;
      }
      if (code === config.wrong_server_error) {
        // Another ward's process answered (a restart moved this ward, or the ward was not yet known here):
        // learn the ward it names and ask again, waiting longer each time.
        rememberWard(err.data.ward);
        socket.disconnect(); // closes the connection too, so the next one is new and carries ?ward=
        reconnectLater(reconnectDelay);
        reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
        return;
      }
      // A refusal by the server (rather than a network failure) is not retried by socket.io
      // itself, so try again after a pause.
      if (!socket.active) {
        reconnectLater(RECONNECT_AFTER_REFUSAL_MS);
      }
    });
  }

  /** Keep this page for offline reloads. Needs a secure context: https, or localhost when testing. */
  function registerServiceWorker(url, scope) {
    if (!url || !("serviceWorker" in navigator) || !window.isSecureContext) {
      return;
    }
    navigator.serviceWorker.register(url, { scope: scope }).catch(function (err) {
      console.warn("WardPulse: the offline copy of this page is not available", err);
    });
  }

  function start() {
    var fresh = readEnrollToken();
    if (fresh) {
      saveString(config.token_key, fresh);
    }
    // The enrollment link is /kiosk#enroll=...: keep the token out of the address bar, and move to
    // /kiosk/ so that a reload is inside the service worker's scope.
    var scope = body.dataset.serviceWorkerScope;
    var path = window.location.pathname;
    if (scope && path + "/" === scope) {
      path = scope;
    }
    if (fresh || path !== window.location.pathname) {
      window.history.replaceState(null, "", path + window.location.search);
    }
    registerServiceWorker(body.dataset.serviceWorker, scope);

    pageId = newUuid();
    draftKey = DRAFT_PREFIX + pageId;
    holdTabLock();
    // A rating tapped in a tab that died mid-way is sent with what was confirmed by then.
    adoptAbandonedDrafts();

    window.addEventListener("storage", function (event) {
      if (event.key === OUTBOX_KEY) {
        updateStatus();
      }
    });

    var auth;
    if (own) {
      auth = { own_ward: config.own_ward, device: ownDeviceId() };
    } else {
      var token = loadString(config.token_key);
      if (!token) {
        notEnrolled(null);
        return;
      }
      auth = { token: token };
    }
    enrolled = true;
    youSaid.restore();
    showQuestion(false);
    updateStatus();
    connect(auth);
    window.setInterval(function () {
      adoptAbandonedDrafts();
      drain();
    }, SAFETY_DRAIN_MS);
    window.setInterval(function () {
      syncClock();
    }, CLOCK_RESYNC_MS);
    window.setInterval(function () {
      if (session && !session.finished) {
        saveDraft(session.rating); // the heartbeat that says this tab is alive
      }
    }, DRAFT_BEAT_MS);
  }

  start();
})();
