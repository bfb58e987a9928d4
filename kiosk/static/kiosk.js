/* WardPulse ward tablet, and the same question on a patient's own phone.
 *
 * A patient taps an answer; the rating (id, score, tapped_at) is made at that moment. Optional
 * steps follow (a comment, then "would you like someone to talk to you?" and where they are);
 * after the last one the rating goes into the outbox in localStorage and the outbox is drained
 * over Socket.IO, one rating at a time, oldest tap first, each removed only once the server acks it
 * as stored. The patient never sees an error.
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

  var own = typeof config.own_ward === "string" && config.own_ward !== "";
  // A phone's ratings never mix with a tablet's, should one browser ever be both.
  var OUTBOX_KEY = config.outbox_key + (own ? ".own" : "");
  // A rating tapped but not yet through its steps: if the page dies mid-way, it is sent with what
  // was confirmed so far instead of being lost.
  var DRAFT_KEY = OUTBOX_KEY + ".draft";

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
  var answerButtons = Array.prototype.slice.call(document.querySelectorAll(".answer[data-score]"));

  var socket = null;
  var enrolled = false;

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

  // localStorage can throw (quota, storage disabled): keep a copy in memory so the tablet keeps
  // working until it is reloaded.
  var memory = {};

  function loadJson(key, fallback) {
    try {
      var raw = window.localStorage.getItem(key);
      if (raw !== null) {
        return JSON.parse(raw);
      }
    } catch (err) {
      console.warn("WardPulse: cannot read " + key + " from localStorage", err);
    }
    return Object.prototype.hasOwnProperty.call(memory, key) ? memory[key] : fallback;
  }

  function saveJson(key, value) {
    memory[key] = value;
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (err) {
      console.warn("WardPulse: cannot write " + key + " to localStorage", err);
    }
  }

  function removeKey(key) {
    delete memory[key];
    try {
      window.localStorage.removeItem(key);
    } catch (err) {
      /* nothing more to do */
    }
  }

  /** A plain string setting (device token, device id), not JSON. */
  function loadString(key) {
    try {
      var value = window.localStorage.getItem(key);
      if (value !== null) {
        return value;
      }
    } catch (err) {
      /* fall back to memory */
    }
    return memory[key] || null;
  }

  function saveString(key, value) {
    memory[key] = value;
    try {
      window.localStorage.setItem(key, value);
    } catch (err) {
      console.warn("WardPulse: cannot store " + key, err);
    }
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
    if (typeof r.comment === "string" && r.comment) {
      out.comment = r.comment;
    }
    if (r.follow_up && typeof r.follow_up === "object") {
      out.follow_up = r.follow_up.location ? { location: String(r.follow_up.location) } : {};
    }
    return out;
  }

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
    socket.timeout(ACK_TIMEOUT_MS).emit(config.rating_event, rating, function (err, ack) {
      draining = false;
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
        outbox.remove(rating.id);
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

  var reportedWaiting = null;

  function updateStatus() {
    var waiting = outbox.list().length;
    var online = !!(socket && socket.connected);
    // Tell the server how many ratings wait here, so the admin page can spot a stuck tablet.
    if (online && !own && config.status_event && waiting !== reportedWaiting) {
      reportedWaiting = waiting;
      socket.emit(config.status_event, { waiting: waiting });
    }
    body.dataset.connection = online ? "online" : "offline";
    body.dataset.waiting = String(waiting);
    body.classList.toggle("has-waiting", waiting > 0);
    var label;
    if (waiting > 0) {
      label = format(online ? text.connected_waiting : text.not_connected_waiting, waiting);
    } else {
      label = online ? text.connected : text.not_connected;
    }
    statusEl.setAttribute("aria-label", label);
    statusEl.title = label;
    statusText.textContent = waiting > 0 ? format(text.waiting, waiting) : "";
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
      screen: "comment",
      enter: function () {
        commentBox.value = "";
      },
    },
    {
      screen: "follow-up",
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

  var session = null; // {rating, index, finished}
  var idleTimer = null;
  var thanksTimer = null;
  var restTimer = null;
  var resting = false;

  function startSession(score) {
    var rating = { id: newUuid(), score: score, tapped_at: new Date().toISOString() };
    session = { rating: rating, index: -1, finished: false };
    advance();
  }

  function advance() {
    var s = session;
    if (!s || s.finished) {
      return;
    }
    // What was confirmed so far survives a reload.
    saveJson(DRAFT_KEY, ratingFields(s.rating));
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
    var rating = ratingFields(s.rating);
    outbox.add(rating);
    removeKey(DRAFT_KEY);
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

  function connect(auth) {
    socket = window.io(config.namespace, { auth: auth });
    socket.on("connect", function () {
      reportedWaiting = null;
      updateStatus();
      drain();
    });
    socket.on("disconnect", function () {
      updateStatus();
    });
    socket.on("connect_error", function (err) {
      updateStatus();
      var code = err && err.data && err.data.error;
      if (!own && code && ENROLL_ERRORS.indexOf(code) !== -1) {
        socket.disconnect();
        notEnrolled(err.data.message || code);
        return;
      }
      // A refusal by the server (rather than a network failure) is not retried by socket.io
      // itself, so try again after a pause.
      if (!socket.active) {
        window.setTimeout(function () {
          if (!socket.connected && enrolled) {
            socket.connect();
          }
        }, RECONNECT_AFTER_REFUSAL_MS);
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

    // A rating tapped before the page died is sent with what was confirmed by then.
    var draft = loadJson(DRAFT_KEY, null);
    if (draft && draft.id && draft.score && draft.tapped_at) {
      outbox.add(ratingFields(draft));
    }
    removeKey(DRAFT_KEY);

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
    showQuestion(false);
    updateStatus();
    connect(auth);
    window.setInterval(drain, SAFETY_DRAIN_MS);
  }

  start();
})();
