/*
 * The live connection of a staff page (ward screen, overview): the Live / Reconnecting badge, a refusal
 * by the server shown in plain words, and a retry after a refusal that is not about access
 * (socket.io retries network failures itself, but not a refusal by the server).
 */
(function () {
  "use strict";

  var RETRY_AFTER_REFUSAL_MS = 5000;

  /**
   * Watch `socket`. `page` gives: liveText (the badge's text element), text ({live, reconnecting}),
   * accessErrors (error codes that need the person, not a retry), refused(message) and connected().
   */
  window.watchStaffSocket = function (socket, page) {
    function setConnection(online) {
      document.body.dataset.connection = online ? "online" : "offline";
      page.liveText.textContent = online ? page.text.live : page.text.reconnecting;
    }

    socket.on("connect", function () {
      page.connected();
      setConnection(true);
    });

    socket.on("disconnect", function () {
      setConnection(false);
    });

    socket.on("connect_error", function (err) {
      setConnection(false);
      var code = err && err.data && err.data.error;
      if (code && page.accessErrors.indexOf(code) !== -1) {
        page.refused(err.data.message || code);
        return;
      }
      if (!socket.active) {
        window.setTimeout(function () {
          if (!socket.connected) {
            socket.connect();
          }
        }, RETRY_AFTER_REFUSAL_MS);
      }
    });
  };
})();
