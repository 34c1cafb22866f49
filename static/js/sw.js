// Worker Classroom's service worker, served as /sw.js after a line `const SETTINGS = {…}` (classroom/main/
// webapp_views.py): this version's static files, the pages kept for offline reading, the log-in/out paths.
// Static files live under content-hashed names, so a cached copy is always right: cache first.
// The pages in SETTINGS.pages (a worker's badge, certificates, hours): network first, the last copy offline.
/* global SETTINGS */
"use strict";

var STATIC_CACHE = "static-" + SETTINGS.version;
var PAGES_CACHE = "pages";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC_CACHE)
    .then(function (cache) { return cache.addAll(SETTINGS.precache); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys()
    .then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("static-") === 0 && name !== STATIC_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    })
    .then(function () { return self.clients.claim(); })
    .then(keepPages));
});

// Once installed, a copy of each page kept offline, so that they read offline even if the page open when the
// worker started (fetched before it) is the only one visited. A visitor who is not signed in is sent to the
// log-in page: the redirect is neither followed nor kept.
function keepPages() {
  return Promise.all(SETTINGS.pages.map(function (path) {
    return networkFirst(new Request(path, { credentials: "same-origin", redirect: "manual" }))
      .catch(function () { return null; });
  }));
}

function cacheFirst(request) {
  return caches.match(request).then(function (cached) {
    return cached || fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(STATIC_CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

function networkFirst(request) {
  return fetch(request).then(function (response) {
    if (response.ok && response.type === "basic" && !response.redirected) {
      var copy = response.clone();
      return caches.open(PAGES_CACHE)
        .then(function (cache) { return cache.put(request.url, copy); })
        .then(function () { return response; });
    }
    return response;
  }).catch(function (error) {
    return caches.match(request.url, { cacheName: PAGES_CACHE, ignoreVary: true }).then(function (cached) {
      if (cached) { return cached; }
      throw error;
    });
  });
}

// A form sent while the connection is down (the page's script stops it when the browser knows it is offline):
// a short page saying that nothing was sent, in the platform's languages, instead of the browser's error.
function notSent() {
  var lines = SETTINGS.notSent.map(function (line) {
    return "<p>" + line.replace(/&/g, "&amp;").replace(/</g, "&lt;") + "</p>";
  }).join("");
  return new Response("<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">" +
    "<title>" + SETTINGS.notSentTitle + "</title>" + lines, { headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && SETTINGS.forget.indexOf(url.pathname) !== -1) {
    event.waitUntil(caches.delete(PAGES_CACHE));  // another person may sign in on this phone
    return;
  }
  if (request.method === "POST" && request.mode === "navigate") {
    event.respondWith(fetch(request).catch(notSent));
    return;
  }
  if (request.method !== "GET") { return; }
  if (url.pathname.indexOf(SETTINGS.assets) === 0 && /^[0-9a-f]{10}\//.test(url.pathname.slice(SETTINGS.assets.length))) {
    event.respondWith(cacheFirst(request));
  } else if (SETTINGS.pages.indexOf(url.pathname) !== -1) {
    event.respondWith(networkFirst(request));
  }
});
