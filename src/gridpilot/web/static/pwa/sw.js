/* gridpilot's service worker (served as /sw.js, scope /): the dashboard keeps working offline.
 *
 * - NiceGUI's versioned assets (/_nicegui/<version>/...) come from the cache first: they never
 *   change under one URL.
 * - Pages (navigations) come from the network; each good answer is kept as the page's last
 *   copy, shown when the server cannot be reached (else /pwa/offline.html).
 * - Other same-origin assets (/pwa/..., the manifest, unversioned NiceGUI files): network first,
 *   the cache when offline.
 * - The API (/api/...), NiceGUI's socket (/_nicegui_ws/...) and this file are never cached.
 * - Loading /login (log-out, expired session) forgets every kept page: no one's data stays
 *   readable in the browser after they left.
 */
"use strict";

const VERSION = "1";
const SHELL = `gridpilot-shell-${VERSION}`;
const PAGES = "gridpilot-pages";
const PRECACHE = [
  "/pwa/offline.html",
  "/pwa/pwa.js",
  "/pwa/pwa.css",
  "/pwa/icon-192.png",
  "/manifest.webmanifest",
];
const VERSIONED = /^\/_nicegui\/\d[^/]*\//;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys
            .filter((key) => key.startsWith("gridpilot-shell-") && key !== SHELL)
            .map((key) => caches.delete(key)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

async function page(request, url) {
  try {
    const fresh = await fetch(request);
    if (url.pathname === "/login") {
      await caches.delete(PAGES);
    } else if (fresh.ok && fresh.type === "basic" && !fresh.redirected) {
      const cache = await caches.open(PAGES);
      await cache.put(url.pathname + url.search, fresh.clone());
    }
    return fresh;
  } catch (error) {
    const cache = await caches.open(PAGES);
    const kept = await cache.match(url.pathname + url.search, { ignoreSearch: false });
    const near = kept || (await cache.match(url.pathname, { ignoreSearch: true }));
    return near || (await caches.match("/pwa/offline.html")) || Response.error();
  }
}

async function cacheFirst(request) {
  const kept = await caches.match(request);
  if (kept) return kept;
  const fresh = await fetch(request);
  if (fresh.ok) (await caches.open(SHELL)).put(request, fresh.clone());
  return fresh;
}

async function networkFirst(request) {
  try {
    const fresh = await fetch(request);
    if (fresh.ok) (await caches.open(SHELL)).put(request, fresh.clone());
    return fresh;
  } catch (error) {
    return (await caches.match(request)) || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (path.startsWith("/api/") || path.startsWith("/_nicegui_ws/") || path === "/sw.js") return;
  if (request.mode === "navigate") {
    event.respondWith(page(request, url));
  } else if (VERSIONED.test(path)) {
    event.respondWith(cacheFirst(request));
  } else if (path.startsWith("/_nicegui/") || path.startsWith("/pwa/") || path === "/manifest.webmanifest") {
    event.respondWith(networkFirst(request));
  }
});
