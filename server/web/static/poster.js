/* The bedside poster's "Print this card" button (a file, not inline: the pages' CSP runs no inline script). */
"use strict";

document.getElementById("print-poster").addEventListener("click", function () {
  window.print();
});
