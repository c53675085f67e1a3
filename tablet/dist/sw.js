// The app's shell kept on the tablet, so that reopening or reloading the app without network
// still shows it (with its offline banner and any approval waiting to be confirmed) instead of
// the browser's error page. API calls (gRPC-web POSTs) never touch this cache.

const CACHE = "signq-shell";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/assets/")) {
    // Hashed names never change content: the cached copy is always right.
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate") {
    // The page itself: the newest when online, the kept one when not.
    event.respondWith(networkFirst(request));
  }
});

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) {
      const html = await response.clone().text();
      const previous = await cache.match("/");
      if (!previous || (await previous.text()) !== html) {
        await cache.put("/", response.clone());
        await prune(cache, html);
      }
    }
    return response;
  } catch (error) {
    const kept = await cache.match("/");
    if (kept) return kept;
    throw error;
  }
}

// A new version of the app: drops the assets the new page no longer names (lazily loaded ones,
// such as the PDF viewer, are fetched again when first needed).
async function prune(cache, html) {
  const named = new Set(html.match(/\/assets\/[^"']+/g) ?? []);
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/assets/") && !named.has(path)) await cache.delete(request);
  }
}
