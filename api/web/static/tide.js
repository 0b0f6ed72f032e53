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
  // Free text that looks personal (a name, an address, a need-revealing organisation) is
  // warned about as it is typed: the server checks it (the council's lists) and says what kind
  // of thing it seems to hold, never echoing it. Submitting checks it again.
  Array.prototype.forEach.call(document.querySelectorAll("[data-personal-check]"), function (box) {
    var field = box.querySelector("input, textarea");
    var warning = box.querySelector("[data-personal-warning]");
    var token = document.querySelector("input[name=csrf_token]");
    var timer = null;
    if (!field || !warning || !window.fetch) { return; }
    field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch("/api/v1/free-text-check", {
          method: "POST", credentials: "same-origin",
          headers: { "content-type": "application/json", "x-csrf-token": token ? token.value : "" },
          body: JSON.stringify({ text: field.value.slice(0, 2000) })
        }).then(function (r) { return r.ok ? r.json() : { sentence: "" }; }).then(function (answer) {
          warning.textContent = answer.sentence || "";
          warning.hidden = !answer.sentence;
        }).catch(function () { /* offline: the server checks on submit */ });
      }, 600);
    });
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
