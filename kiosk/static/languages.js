/* WardPulse kiosk: a patient's language, text size and easy read, undone for the next patient.
 *
 * The page carries the words of every language on offer (#wardpulse-words, from the gettext
 * catalogues), so switching needs no server: each element marked data-word="key" gets that key's
 * words in the chosen language; "question" and "answers.<code>" also follow the wording (standard,
 * easy read, children). A ward's language and wording for each new patient come from the server as
 * the tablet connects (kept in localStorage for offline reloads), or with the page on a patient's
 * own phone. kiosk.js reads the current choice through window.WardPulseChoices.
 */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }

  var config = readJson("wardpulse-config");
  var setup = readJson("wardpulse-languages");
  var words = readJson("wardpulse-words");
  var sizes = Array.isArray(config.text_sizes) && config.text_sizes.length ? config.text_sizes : [100];
  var root = document.documentElement;
  var titleEl = document.querySelector("title");
  var dialog = document.getElementById("language-dialog");
  var languageButton = document.getElementById("language-button");
  var sizeButton = document.getElementById("text-size-button");
  var easyButton = document.getElementById("easy-read-button");
  var own = typeof config.own_ward === "string" && config.own_ward !== "";

  var byTag = {};
  (setup.languages || []).forEach(function (language) {
    byTag[language.tag] = language;
  });

  /** The ward's start: saved from the server on a tablet, else the page's own. */
  function wardStart() {
    var saved = null;
    if (!own && config.start_key) {
      try {
        saved = JSON.parse(window.localStorage.getItem(config.start_key) || "null");
      } catch (err) {
        saved = null;
      }
    }
    var start = saved && byTag[saved.lang] && words[saved.lang] ? saved : setup.start;
    return { lang: start.lang, wording: start.wording || "standard" };
  }

  var start = wardStart();
  var listeners = [];
  var state = { lang: start.lang, wording: start.wording, size: sizes[0] };

  /** The words for a data-word key in the current language and wording, or null. */
  function lookup(bundle, key) {
    var parts = key.split(".");
    var value = bundle[parts[0]];
    if (value && typeof value === "object" && Object.prototype.hasOwnProperty.call(value, state.wording)) {
      value = value[state.wording];
    }
    for (var i = 1; i < parts.length && value; i += 1) {
      value = value[parts[i]];
    }
    return typeof value === "string" ? value : null;
  }

  /** 150 as "150 %" the way the patient's language writes it ("%150" in Arabic). */
  function percent(size) {
    try {
      return new Intl.NumberFormat(state.lang, { style: "percent" }).format(size / 100);
    } catch (err) {
      return size + "%";
    }
  }

  function apply() {
    var bundle = words[state.lang] || words[setup.start.lang];
    var language = byTag[state.lang] || {};
    root.lang = state.lang;
    root.dir = language.rtl ? "rtl" : "ltr";
    root.dataset.textSize = String(state.size);
    root.dataset.wording = state.wording;
    Array.prototype.forEach.call(document.querySelectorAll("[data-word]"), function (el) {
      var found = lookup(bundle, el.dataset.word);
      if (found !== null) {
        el.textContent = found;
      }
    });
    if (titleEl) {
      document.title = (titleEl.dataset.prefix || "") + bundle.title;
    }
    if (sizeButton) {
      sizeButton.textContent = bundle.text_size + " " + percent(state.size);
    }
    if (easyButton) {
      easyButton.setAttribute("aria-pressed", state.wording === "easy" ? "true" : "false");
    }
    listeners.forEach(function (listener) {
      listener(state);
    });
    Array.prototype.forEach.call(document.querySelectorAll(".language-choice"), function (choice) {
      if (choice.dataset.lang === state.lang) {
        choice.setAttribute("aria-current", "true");
      } else {
        choice.removeAttribute("aria-current");
      }
    });
  }

  function choose(tag) {
    if (byTag[tag] && words[tag]) {
      state.lang = tag;
      apply();
    }
  }

  if (languageButton && dialog) {
    languageButton.addEventListener("click", function () {
      dialog.showModal();
      var current = dialog.querySelector('.language-choice[aria-current="true"]');
      if (current) {
        current.focus();
      }
    });
    dialog.addEventListener("click", function (event) {
      var choice = event.target.closest(".language-choice");
      if (choice) {
        choose(choice.dataset.lang);
        dialog.close();
      } else if (event.target.id === "language-close") {
        dialog.close();
      }
    });
    dialog.addEventListener("close", function () {
      languageButton.focus();
    });
  }

  if (sizeButton) {
    sizeButton.addEventListener("click", function () {
      state.size = sizes[(sizes.indexOf(state.size) + 1) % sizes.length];
      apply();
    });
  }

  if (easyButton) {
    easyButton.addEventListener("click", function () {
      // Back to the ward's own wording (standard or children's) when easy read is switched off.
      state.wording = state.wording === "easy" ? (start.wording === "easy" ? "standard" : start.wording) : "easy";
      apply();
    });
  }

  // A patient who changed something on the question screen and walked away without answering: the
  // next one starts afresh too (once someone answers, kiosk.js resets after the thank-you or its own idle).
  var idleTimer = null;
  function armIdle() {
    window.clearTimeout(idleTimer);
    var changed = state.lang !== start.lang || state.wording !== start.wording || state.size !== sizes[0];
    if (changed && typeof config.idle_seconds === "number") {
      idleTimer = window.setTimeout(function () {
        if (document.body.dataset.screen === "question") {
          window.WardPulseChoices.reset();
        }
      }, config.idle_seconds * 1000);
    }
  }
  ["pointerdown", "keydown"].forEach(function (type) {
    document.addEventListener(type, armIdle, { capture: true, passive: true });
  });
  listeners.push(armIdle);

  window.WardPulseChoices = {
    page: { config: config, languages: setup, words: words },
    /** The language the patient is reading now, as its tag (sent with each rating). */
    lang: function () {
      return state.lang;
    },
    easy: function () {
      return state.wording === "easy";
    },
    wording: function () {
      return state.wording;
    },
    /** Call `listener(state)` after every change of language, wording or size, and at each reset. */
    onChange: function (listener) {
      listeners.push(listener);
      listener(state);
    },
    /** The next patient starts afresh: the ward's language and wording, normal text. */
    reset: function () {
      if (dialog && dialog.open) {
        dialog.close();
      }
      state = { lang: start.lang, wording: start.wording, size: sizes[0], reset: true };
      apply();
      delete state.reset;
    },
    /** The ward's start, from the server; kept for reloads without it. */
    setStart: function (fresh) {
      if (!fresh || !byTag[fresh.lang] || !words[fresh.lang]) {
        return;
      }
      // A patient who already chose something keeps it; the ward's start applies from the next one.
      var untouched = state.lang === start.lang && state.wording === start.wording && state.size === sizes[0];
      start = { lang: fresh.lang, wording: fresh.wording || "standard" };
      try {
        window.localStorage.setItem(config.start_key, JSON.stringify(start));
      } catch (err) {
        /* kept in memory: the next connection tells it again */
      }
      if (untouched) {
        window.WardPulseChoices.reset();
      }
    },
  };

  apply();
})();
