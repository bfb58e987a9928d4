/* WardPulse ward tablet.
 *
 * A patient taps an answer; the rating (id, score, tapped_at) is made at that moment. Optional
 * steps follow (today: the comment screen); after the last one the rating goes into the outbox in
 * localStorage and the outbox is drained over Socket.IO, one rating at a time, oldest tap first,
 * each removed only once the server acks it as stored. The patient never sees an error.
 *
 * Every word shown comes from the template (#wardpulse-text), which goes through gettext.
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
  var ENROLL_ERRORS = ["unknown_token", "revoked_token", "missing_token"];
  // A rating tapped but not yet through its steps: if the page dies mid-comment, it is sent
  // without a comment on the next load instead of being lost.
  var DRAFT_KEY = config.outbox_key + ".draft";

  var body = document.body;
  var screens = {};
  Array.prototype.forEach.call(document.querySelectorAll(".screen"), function (el) {
    screens[el.dataset.screen] = el;
  });
  var statusEl = document.getElementById("connection");
  var statusText = document.getElementById("connection-text");
  var commentBox = document.getElementById("comment");

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

  function newRatingId() {
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
  function cleanComment(value) {
    var cleaned = String(value || "")
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g, "")
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "$1")
      .trim();
    var chars = Array.from(cleaned);
    if (chars.length > config.max_comment) {
      cleaned = chars.slice(0, config.max_comment).join("").trim();
    }
    return cleaned;
  }

  // ------------------------------------------------------------------ outbox

  var outbox = {
    list: function () {
      var value = loadJson(config.outbox_key, []);
      return Array.isArray(value) ? value : [];
    },
    add: function (rating) {
      var items = outbox.list();
      if (!items.some(function (r) { return r && r.id === rating.id; })) {
        items.push(rating);
      }
      saveJson(config.outbox_key, items);
    },
    remove: function (id) {
      saveJson(
        config.outbox_key,
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
      } else if (ack && ack.error === "storage_unavailable") {
        scheduleRetry();
      } else if (ack && ack.error) {
        // A permanent refusal: resending would be refused again and block the ratings behind it.
        outbox.remove(rating.id);
        console.warn("WardPulse: rating " + rating.id + " refused (" + ack.error + "): " + ack.message);
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
    if (online && config.status_event && waiting !== reportedWaiting) {
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

  // Steps between the answer tap and the thank-you screen, in order. Each has a screen name and
  // an enter(rating) that resets it; its buttons call advance(). A step may add fields to the
  // rating (the comment step adds "comment"). A follow-up question step goes after comment.
  var steps = [
    {
      screen: "comment",
      enter: function () {
        commentBox.value = "";
      },
    },
  ];

  var session = null; // {rating, index, finished}
  var idleTimer = null;
  var thanksTimer = null;

  function startSession(score) {
    var rating = { id: newRatingId(), score: score, tapped_at: new Date().toISOString() };
    saveJson(DRAFT_KEY, rating);
    session = { rating: rating, index: -1, finished: false };
    advance();
  }

  function advance() {
    var s = session;
    if (!s || s.finished) {
      return;
    }
    s.index += 1;
    if (s.index < steps.length) {
      var step = steps[s.index];
      step.enter(s.rating);
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
    outbox.add(s.rating);
    removeKey(DRAFT_KEY);
    drain();
    if (thank) {
      show("thanks");
      window.clearTimeout(thanksTimer);
      thanksTimer = window.setTimeout(showQuestion, config.thank_you_seconds * 1000);
    } else {
      showQuestion();
    }
  }

  function showQuestion() {
    window.clearTimeout(thanksTimer);
    if (!enrolled) {
      show("not-enrolled");
      return;
    }
    commentBox.value = "";
    show("question");
  }

  function armIdle() {
    disarmIdle();
    idleTimer = window.setTimeout(function () {
      idleTimer = null;
      // Nobody is there any more: send what was answered, without a half-written comment.
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

  Array.prototype.forEach.call(document.querySelectorAll(".answer[data-score]"), function (button) {
    button.addEventListener("click", function () {
      if (session || body.dataset.screen !== "question") {
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
    var comment = cleanComment(commentBox.value);
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

  function storedToken() {
    try {
      return window.localStorage.getItem(config.token_key);
    } catch (err) {
      return memory[config.token_key] || null;
    }
  }

  function storeToken(token) {
    memory[config.token_key] = token;
    try {
      window.localStorage.setItem(config.token_key, token);
    } catch (err) {
      console.warn("WardPulse: cannot store the device token", err);
    }
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

  function connect(token) {
    socket = window.io(config.namespace, { auth: { token: token } });
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
      if (code && ENROLL_ERRORS.indexOf(code) !== -1) {
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

  function start() {
    var fresh = readEnrollToken();
    if (fresh) {
      storeToken(fresh);
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }

    // A rating tapped before the page died is sent without its unfinished comment.
    var draft = loadJson(DRAFT_KEY, null);
    if (draft && draft.id && draft.score && draft.tapped_at) {
      outbox.add({ id: draft.id, score: draft.score, tapped_at: draft.tapped_at });
    }
    removeKey(DRAFT_KEY);

    window.addEventListener("storage", function (event) {
      if (event.key === config.outbox_key) {
        updateStatus();
      }
    });

    var token = storedToken();
    if (!token) {
      notEnrolled(null);
      return;
    }
    enrolled = true;
    showQuestion();
    updateStatus();
    connect(token);
    window.setInterval(drain, SAFETY_DRAIN_MS);
  }

  start();
})();
