// Corkboard's service worker: keeps this build of the app (its page, wasm,
// js, css, icons) so that the app opens, lists its boards and edits them
// with the signaling server unreachable or the machine offline. Boards are
// not here: they live in IndexedDB; WebSockets and other requests to the
// server pass through untouched.
//
// One cache per build, filled whole before the build is used: a page is
// always one build's page with that build's files, never half old and half
// new. A new build is fetched in the background while the old one runs and
// is used from the next load on (the page says "updated" then). The build
// before the current one is kept too, for a page of it still open that
// loads a file lazily (the file worker).
//
// VERSION and FILES are written by `stamp-service-worker.sh`, a Trunk
// post-build hook, from the files of the build.

const VERSION = "__VERSION__";
const FILES = __FILES__;
const PREFIX = "corkboard-app-";
const CACHE = PREFIX + VERSION;
const META = "corkboard-meta";
const scoped = (path) => new URL(path, self.registration.scope).href;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // `reload`: the server's copy, never the HTTP cache's.
      await cache.addAll(FILES.map((file) => new Request(scoped(file), { cache: "reload" })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const meta = await caches.open(META);
      const current = await meta.match(scoped("current-build"));
      const previous = current ? await current.text() : null;
      if (previous !== VERSION) {
        await meta.put(scoped("current-build"), new Response(VERSION));
        await meta.put(scoped("previous-build"), new Response(previous ?? ""));
      }
      const kept = previous !== VERSION ? previous : await (await meta.match(scoped("previous-build")))?.text();
      const keep = new Set([CACHE, PREFIX + (kept ?? "")]);
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && !keep.has(name)) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // The app is one page; a board is named by the fragment.
    event.respondWith(fromCache(scoped("./"), request));
  } else if (isShellFile(url)) {
    event.respondWith(fromCache(url.href, request));
  }
});

// A file of the app, this build's or the previous one's (their names
// differ by a hash); nothing else the server answers (TURN credentials,
// health) goes through a cache.
function isShellFile(url) {
  const scope = new URL(self.registration.scope);
  if (!url.pathname.startsWith(scope.pathname)) return false;
  const name = url.pathname.slice(scope.pathname.length);
  return FILES.includes(name) || /^[\w.-]+\.(js|wasm|css|svg|png|webmanifest)$/.test(name);
}

async function fromCache(key, request) {
  const cache = await caches.open(CACHE);
  const hit = (await cache.match(key, { ignoreSearch: true })) ?? (await caches.match(key, { ignoreSearch: true }));
  if (hit) return hit;
  // Not kept (this build is still being fetched, or a file of another
  // build): from the server.
  return fetch(request);
}
