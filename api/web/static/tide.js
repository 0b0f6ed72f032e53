// Tide's progressive enhancement: every page works without this script.
(function () {
  "use strict";
  // Move focus to the error summary so screen readers announce it.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
  // A second tap on a button while the first is on its way is ignored (the server would
  // answer it once anyway, thanks to the form's idempotency key).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    setTimeout(function () { delete form.dataset.sent; }, 4000);
  });
  // The offline outbox: a service worker keeps purchases, receipts and reviews made with no
  // signal and sends them, with their idempotency keys, when the signal returns.
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var flush = function () { if (registration.active) { registration.active.postMessage("flush"); } };
      window.addEventListener("online", flush);
      flush();
    }).catch(function () { /* no service worker: forms still work online */ });
    navigator.serviceWorker.addEventListener("message", function (event) {
      var box = document.querySelector("[data-outbox]");
      if (box && event.data && typeof event.data.waiting === "number") {
        box.textContent = event.data.waiting ? event.data.waiting + " saved on this phone, waiting for signal." : "";
        box.hidden = !event.data.waiting;
      }
    });
  }
}());
