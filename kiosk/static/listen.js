/* WardPulse kiosk: read aloud ("Listen"), for patients who cannot read the screen.
 *
 * Listen speaks the screen's question (and, on the first screen, the six answers) in the patient's
 * language. A voice on the tablet itself is used only if it is local (speechSynthesis voices that
 * need the internet are no use on a ward); otherwise the ward server's clips are played (eSpeak NG,
 * or the trust's own recordings: server/speech.py), which the service worker keeps for when the
 * server is down. Where neither exists the button says so, rather than speak another language.
 * After Listen, an answer is read out when it is focused; pressing and holding an answer reads it
 * out at any time without choosing it. The next patient starts with Listen off.
 */
(function () {
  "use strict";

  var choices = window.WardPulseChoices;
  var button = document.getElementById("listen-button");
  if (!choices || !button) {
    return;
  }
  // The page's data blocks, as languages.js read them.
  var config = choices.page.config;
  var setup = choices.page.languages;
  var words = choices.page.words;
  var HOLD_MS = typeof config.hold_ms === "number" ? config.hold_ms : 600;
  var SCREEN_WORDS = { more: "more", comment: "comment", "follow-up": "follow_up", where: "where", thanks: "thanks" };

  var byTag = {};
  (setup.languages || []).forEach(function (language) {
    byTag[language.tag] = language;
  });

  var listening = false;
  var queue = [];
  var audio = null; // an AudioContext, made on the first press (browsers allow sound only after a gesture)
  var playing = null;

  /** A voice on this tablet for the language that works without the internet, or null. */
  function localVoice(tag) {
    if (!window.speechSynthesis || !window.SpeechSynthesisUtterance) {
      return null;
    }
    var wanted = tag.toLowerCase();
    var primary = wanted.split("-")[0];
    var local = window.speechSynthesis.getVoices().filter(function (voice) {
      return voice.localService && voice.lang;
    });
    var lang = function (voice) {
      return voice.lang.toLowerCase().replace("_", "-");
    };
    return (
      local.filter(function (voice) { return lang(voice) === wanted; })[0] ||
      local.filter(function (voice) { return lang(voice).split("-")[0] === primary; })[0] ||
      null
    );
  }

  function canSpeak(tag) {
    return !!localVoice(tag) || !!(byTag[tag] && byTag[tag].audio);
  }

  /** What the screen in front of the patient says: [{clip, text}], question first. */
  function screenSays() {
    var screen = document.body.dataset.screen;
    var wording = choices.wording();
    if (screen === "question") {
      var said = [{ clip: "question-" + wording, text: document.getElementById("question-title").textContent }];
      Array.prototype.forEach.call(document.querySelectorAll(".answer[data-score]"), function (answer) {
        said.push(answerSays(answer));
      });
      return said;
    }
    var key = SCREEN_WORDS[screen];
    var heading = document.getElementById(screen + "-title");
    return key && heading ? [{ clip: key, text: heading.textContent }] : [];
  }

  function answerSays(answer) {
    return {
      clip: "answer-" + choices.wording() + "-" + answer.dataset.score,
      text: answer.querySelector(".answer-label").textContent,
    };
  }

  function stop() {
    queue = [];
    if (playing) {
      try {
        playing.stop();
      } catch (err) {
        /* already ended */
      }
      playing = null;
    }
    if (window.speechSynthesis) {
      window.speechSynthesis.cancel();
    }
  }

  function say(items) {
    stop();
    var tag = choices.lang();
    var voice = localVoice(tag);
    if (voice) {
      items.forEach(function (item) {
        var utterance = new window.SpeechSynthesisUtterance(item.text);
        utterance.voice = voice;
        utterance.lang = voice.lang;
        window.speechSynthesis.speak(utterance);
      });
      document.body.dataset.said = "voice";
      return;
    }
    if (byTag[tag] && byTag[tag].audio) {
      var AudioContext = window.AudioContext || window.webkitAudioContext;
      if (!AudioContext) {
        return;
      }
      audio = audio || new AudioContext();
      queue = items.map(function (item) {
        return { clip: item.clip, url: config.audio_url.replace("TAG", encodeURIComponent(tag)).replace("CLIP", item.clip) };
      });
      playNext();
    }
  }

  // Clips are fetched (through the service worker, which keeps them) and decoded, then played in turn.
  function playNext() {
    var next = queue.shift();
    if (!next) {
      return;
    }
    fetch(next.url)
      .then(function (response) {
        if (!response.ok) {
          throw new Error("no clip " + next.clip);
        }
        return response.arrayBuffer();
      })
      .then(function (data) {
        return audio.decodeAudioData(data);
      })
      .then(function (sound) {
        var source = audio.createBufferSource();
        source.buffer = sound;
        source.connect(audio.destination);
        source.onended = function () {
          if (playing === source) {
            playing = null;
            playNext();
          }
        };
        playing = source;
        document.body.dataset.said = next.clip; // which clip was last played (for staff checks and tests)
        source.start();
      })
      .catch(function (err) {
        console.warn("WardPulse: cannot play " + next.clip, err);
        playNext();
      });
  }

  /** The button says Listen, or that this language has no voice. */
  function relabel(state) {
    var bundle = words[state.lang] || {};
    var speaks = canSpeak(state.lang);
    button.textContent = speaks ? bundle.listen : bundle.listen + ": " + bundle.no_voice;
    button.setAttribute("aria-disabled", speaks ? "false" : "true");
    button.dataset.voice = speaks ? "yes" : "none";
    if (state.reset) {
      listening = false;
      stop();
    }
  }

  choices.onChange(relabel);
  if (window.speechSynthesis && "onvoiceschanged" in window.speechSynthesis) {
    window.speechSynthesis.addEventListener("voiceschanged", function () {
      relabel({ lang: choices.lang() });
    });
  }

  button.addEventListener("click", function () {
    if (!canSpeak(choices.lang())) {
      return;
    }
    listening = true;
    say(screenSays());
  });

  // After Listen, an answer reached with the keyboard or a switch is read out.
  document.addEventListener("focusin", function (event) {
    var answer = event.target.closest && event.target.closest(".answer[data-score]");
    if (listening && answer) {
      say([answerSays(answer)]);
    }
  });

  // Press and hold an answer to hear it; letting go then does not choose it.
  var holdTimer = null;
  var held = false;
  document.addEventListener("pointerdown", function (event) {
    var answer = event.target.closest && event.target.closest(".answer[data-score]");
    window.clearTimeout(holdTimer);
    held = false;
    if (answer && canSpeak(choices.lang())) {
      holdTimer = window.setTimeout(function () {
        held = true;
        say([answerSays(answer)]);
      }, HOLD_MS);
    }
  });
  ["pointerup", "pointercancel", "pointerleave"].forEach(function (type) {
    document.addEventListener(type, function () {
      window.clearTimeout(holdTimer);
    });
  });
  document.addEventListener(
    "click",
    function (event) {
      if (held && event.target.closest && event.target.closest(".answer[data-score]")) {
        held = false;
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );
})();
