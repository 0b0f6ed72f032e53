// The card details page only: Stripe.js shows the card's number, expiry and security code
// (and a physical card's PIN) in Stripe's own iframes. Tide's server makes the ephemeral key
// for the nonce Stripe.js made here; the details never pass through Tide.
(function () {
  "use strict";
  var box = document.querySelector("[data-card-details]");
  if (!box) { return; }
  var status = box.querySelector("[data-card-status]");
  function say(text) { status.textContent = text; }
  if (!window.Stripe || !window.fetch || !window.Promise) {
    say("Your browser could not load Stripe's secure display. Try another browser, or reload the page.");
    return;
  }
  var stripe = window.Stripe(box.dataset.publishableKey);
  var token = document.querySelector("input[name=csrf_token]");
  var card = box.dataset.card;
  stripe.createEphemeralKeyNonce({ issuingCard: card }).then(function (made) {
    return fetch(box.dataset.keyUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": token ? token.value : "" },
      body: JSON.stringify({ nonce: made.nonce })
    });
  }).then(function (response) {
    if (!response.ok) { throw new Error("the key was refused: " + response.status); }
    return response.json();
  }).then(function (key) {
    var elements = stripe.elements();
    var shown = [["issuingCardNumberDisplay", "number"], ["issuingCardExpiryDisplay", "expiry"],
                 ["issuingCardCvcDisplay", "cvc"]];
    if (key.shows_pin) { shown.push(["issuingCardPinDisplay", "pin"]); }
    shown.forEach(function (pair) {
      var element = elements.create(pair[0], {
        issuingCard: key.card, nonce: key.nonce, ephemeralKeySecret: key.ephemeral_key_secret
      });
      element.mount("#card-" + pair[1]);
    });
    say("");
    box.dataset.shown = "1";
  }).catch(function () {
    say("The card's details could not be shown. Reload the page to try again, or sign in again.");
  });
})();
