/* WardPulse ward tablet: service worker, served as /kiosk/sw.js with scope /kiosk/.
 *
 * Keeps a copy of the kiosk page and what it loads, so a tablet rebooted while the Wi-Fi or the
 * ward server is down still shows the question (its taps wait in the outbox until the server is
 * back). Everything is network first: a working server always serves the current page and
 * scripts, and the copy is refreshed each time. Nothing else is touched: Socket.IO traffic,
 * the enrollment link and every other request go straight to the network, uncached.
 *
 * Bump VERSION whenever this file or the list of kept files changes; old copies are then dropped.
 */
"use strict";

var VERSION = "wardpulse-kiosk-v4";
// A flaky ward network can leave a request hanging; after this long the kept copy is used.
var NETWORK_TIMEOUT_MS = 4000;

var scope = new URL(self.registration.scope); // .../kiosk/
var PAGE = scope.href;
var PAGE_WITHOUT_SLASH = PAGE.replace(/\/$/, "");
var KEPT = [
  PAGE,
  PAGE_WITHOUT_SLASH,
  new URL("static/languages.js", PAGE).href,
  new URL("static/listen.js", PAGE).href,
  new URL("static/kiosk.js", PAGE).href,
  new URL("static/kiosk.css", PAGE).href,
  new URL("../vendor/socket.io.min.js", PAGE).href,
];
// The fonts for scripts a tablet may lack (Urdu Nastaliq, Gurmukhi...) and the read-aloud clips:
// the server lists them; all are kept, since a patient may pick any language while the server is down.
var FONTS = new URL("../fonts/", PAGE).href;
var AUDIO = new URL("audio/", PAGE).href;
var LISTS = [FONTS + "kiosk.json", AUDIO + "kiosk.json"];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(VERSION)
      .then(function (cache) {
        // cache: "reload" skips the HTTP cache, so the copy is what the server serves now.
        var keep = function (urls) {
          return cache.addAll(
            urls.map(function (url) {
              return new Request(url, { cache: "reload", credentials: "same-origin" });
            })
          );
        };
        var keepListed = function (listUrl) {
          return fetch(listUrl, { cache: "reload" })
            .then(function (response) {
              return response.json();
            })
            .then(function (list) {
              return keep(
                list.files.map(function (path) {
                  return new URL(path, PAGE).href;
                })
              );
            });
        };
        return keep(KEPT).then(function () {
          return Promise.all(LISTS.map(keepListed));
        });
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf("wardpulse-kiosk-") === 0 && name !== VERSION;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
        return self.clients.claim();
      })
  );
});

/** Which kept copy answers this request, or null if the request is none of ours. */
function keptKey(request) {
  if (request.method !== "GET") {
    return null;
  }
  var url = new URL(request.url);
  if (url.origin !== scope.origin) {
    return null;
  }
  var bare = url.origin + url.pathname;
  if (request.mode === "navigate" && (bare === PAGE || bare === PAGE_WITHOUT_SLASH)) {
    return PAGE; // whatever the query string: the page is the same
  }
  if (url.search === "" && (KEPT.indexOf(bare) !== -1 || bare.indexOf(FONTS) === 0 || bare.indexOf(AUDIO) === 0)) {
    return bare;
  }
  return null;
}

function fromNetwork(request) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () {
      reject(new Error("network timeout"));
    }, NETWORK_TIMEOUT_MS);
    fetch(request).then(
      function (response) {
        clearTimeout(timer);
        resolve(response);
      },
      function (err) {
        clearTimeout(timer);
        reject(err);
      }
    );
  });
}

/** The kept copy, or else `fallback` (the network's answer, or its failure). */
function keptOr(key, fallback) {
  return caches.match(key, { cacheName: VERSION }).then(function (kept) {
    return kept || fallback;
  });
}

self.addEventListener("fetch", function (event) {
  var key = keptKey(event.request);
  if (key === null) {
    return; // not ours: the browser handles it as if there were no service worker
  }
  event.respondWith(
    fromNetwork(event.request).then(
      function (response) {
        if (response.ok && response.type === "basic") {
          var copy = response.clone();
          event.waitUntil(
            caches.open(VERSION).then(function (cache) {
              return cache.put(key, copy);
            })
          );
          return response;
        }
        // A reverse proxy answers 502/503/504 while the ward server is down: that is an outage too.
        return response.status >= 500 ? keptOr(key, response) : response;
      },
      function (err) {
        return keptOr(key, Promise.reject(err));
      }
    )
  );
});
