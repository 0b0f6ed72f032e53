// Tide's service worker: an outbox for forms sent with no signal.
// A purchase, a receipt, a need review or a request to a manager sent while offline is kept
// on the phone (IndexedDB) exactly as it was sent, and sent again when the signal returns,
// with its Idempotency-Key: the server lands it once however many times it arrives.
"use strict";
var VERSION = "tide-v1";
var OUTBOX = /^\/(buy\/check|purchases\/\d+\/receipts|purchases\/\d+\/ask|families\/\d+\/needs\/\d+\/review)$/;
var SHELL = ["/static/tide.css", "/static/tide.js", "/static/icon.svg"];

function openDb() {
  return new Promise(function (resolve, reject) {
    var request = indexedDB.open("tide-outbox", 1);
    request.onupgradeneeded = function () { request.result.createObjectStore("outbox", { keyPath: "key" }); };
    request.onsuccess = function () { resolve(request.result); };
    request.onerror = function () { reject(request.error); };
  });
}
function store(mode, work) {
  return openDb().then(function (db) {
    return new Promise(function (resolve, reject) {
      var tx = db.transaction("outbox", mode);
      var result = work(tx.objectStore("outbox"));
      tx.oncomplete = function () { resolve(result && result.result); };
      tx.onerror = function () { reject(tx.error); };
    });
  });
}
function keep(item) { return store("readwrite", function (s) { return s.put(item); }); }
function forget(key) { return store("readwrite", function (s) { return s.delete(key); }); }
function waiting() { return store("readonly", function (s) { return s.getAll(); }); }

function tell(count) {
  return self.clients.matchAll({ type: "window" }).then(function (clients) {
    clients.forEach(function (client) { client.postMessage({ waiting: count }); });
  });
}

function savedPage(count) {
  var html = '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>Saved on this phone – Tide</title><link rel="stylesheet" href="/static/tide.css"></head>' +
    '<body><header class="header"><div class="width"><a href="/" class="header-name">Tide</a></div></header>' +
    '<div class="width"><main id="main" class="main"><div class="panel panel-yellow">' +
    '<h1>Saved on this phone</h1><p>There is no signal. Tide will send it when the signal returns.</p></div>' +
    '<p>You do not need to send it again. ' + count + ' waiting to be sent.</p>' +
    '<p><a href="/">Go to your home page</a></p></main></div></body></html>';
  return new Response(html, { status: 202, headers: {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'self'"
  } });
}

function keyOf(body, type) {
  return new Response(body, { headers: { "content-type": type } }).formData().then(function (form) {
    return String(form.get("idempotency_key") || "");
  });
}

function sendOrKeep(request) {
  var copy = request.clone();
  return fetch(request).catch(function () {
    var type = copy.headers.get("content-type") || "application/x-www-form-urlencoded";
    return copy.arrayBuffer().then(function (body) {
      return keyOf(body.slice(0), type).then(function (key) {
        if (!key) { throw new Error("a form without an idempotency key is not kept"); }
        return keep({ key: key, url: copy.url, type: type, body: body, at: Date.now() });
      });
    }).then(function () {
      if (self.registration.sync) { self.registration.sync.register("tide-outbox").catch(function () {}); }
      return waiting();
    }).then(function (items) { tell(items.length); return savedPage(items.length); });
  });
}

var flushing = null;
function flush() {
  if (flushing) { return flushing; }
  flushing = waiting().then(function (items) {
    return items.reduce(function (previous, item) {
      return previous.then(function () {
        return fetch(item.url, {
          method: "POST", body: item.body, credentials: "same-origin", redirect: "manual",
          headers: { "content-type": item.type, "idempotency-key": item.key }
        }).then(function (response) {
          // Landed (a redirect to what it made, or a replay of the first), or refused for good:
          // either way it is no longer waiting. A server error or a lapsed sign-in keeps it.
          if (response.type === "opaqueredirect" || (response.status < 500 && response.status !== 401)) {
            return forget(item.key);
          }
        });
      });
    }, Promise.resolve());
  }).catch(function () { /* still no signal: keep everything for next time */ })
    .then(waiting).then(function (items) { return tell(items.length); })
    .then(function () { flushing = null; }, function () { flushing = null; });
  return flushing;
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(VERSION).then(function (cache) { return cache.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== VERSION; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }).then(flush));
});
self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && OUTBOX.test(url.pathname)) {
    event.respondWith(sendOrKeep(request));
  } else if (request.method === "GET" && url.pathname.indexOf("/static/") === 0) {
    event.respondWith(fetch(request).catch(function () {
      return caches.match(url.pathname, { ignoreSearch: true });
    }));
  }
});
self.addEventListener("sync", function (event) {
  if (event.tag === "tide-outbox") { event.waitUntil(flush()); }
});
self.addEventListener("message", function (event) {
  if (event.data === "flush") { event.waitUntil(flush()); }
});
