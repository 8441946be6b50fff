// refx.js: the browser client of refx. No dependencies.
//
// This file is the one source of two scripts (pkg/webclient builds them):
// GET /v1/refx.js, a classic <script> that sets window.refx, and
// GET /v1/refx.mjs, an ES module exporting the same functions. Both define
// VERSION and BASE (the URL the script came from) around this code.
//
// Events get their idempotency key (a UUID) when created and wait in a
// persistent queue (localStorage, else memory) until the server answers
// for them, so a retry or a reload re-sends the same ids and the server
// counts each event once.
const refx = (() => {
  const PREFIX = "refx:", MAX_QUEUE = 200, MAX_BATCH = 25, MAX_BYTES = 60000, MAX_BACKOFF = 60000;
  const CODE = /^[2-9A-HJKMNP-Z]{8}$/;
  // Flag answers are used as they are for FRESH ms, then revalidated;
  // storage keeps those of the last MAX_CONTEXTS contexts.
  const FRESH = 30000, MAX_CONTEXTS = 5;
  let endpoint = "", query = "", credentials, fetcher, storage, mem = {}, cache = {}, backoff = 0, timer, listening, chain = Promise.resolve();
  let attributes = {}, flagCache = {}, flagWait = {};

  // Storage degrades to memory for the page's life at its first failure:
  // Safari's private mode and blocked storage throw on access or on write.
  const degrade = () => {
    try {
      for (let i = 0; i < storage.length; i++) {
        const k = storage.key(i);
        if (k.startsWith(PREFIX)) mem[k.slice(PREFIX.length)] = storage.getItem(k);
      }
    } catch (e) {}
    storage = null;
  };
  const get = k => {
    if (storage) try { return storage.getItem(PREFIX + k); } catch (e) { degrade(); }
    return k in mem ? mem[k] : null;
  };
  const set = (k, v) => {
    if (storage) try { return storage.setItem(PREFIX + k, v); } catch (e) { degrade(); }
    mem[k] = v;
  };
  const load = (k, fallback) => {
    try { return JSON.parse(get(k)) || fallback; } catch (e) { return fallback; }
  };
  const save = (k, v) => set(k, JSON.stringify(v));

  const uuid = () => crypto.randomUUID ? crypto.randomUUID() :
    "10000000-1000-4000-8000-100000000000".replace(/[018]/g, c =>
      (c ^ crypto.getRandomValues(new Uint8Array(1))[0] & 15 >> c / 4).toString(16));

  // The anonymous visitor id, kept until identify; then the user's id.
  const visitor = () => {
    let v = get("vid");
    if (!v) set("vid", v = uuid());
    return v;
  };
  const user = () => get("uid") || visitor();

  // Bodies go as text/plain (no Content-Type set): a simple request, so a
  // cross-origin call needs no preflight. The server reads JSON regardless.
  // The client key travels in the URL: a header would cost a preflight,
  // and sendBeacon cannot set one. A client key is public by design.
  const url = path => endpoint + path + query;
  const post = async (path, body) => {
    const res = await fetcher(url(path), { method: "POST", body: JSON.stringify(body), credentials });
    let json = {};
    try { json = await res.json(); } catch (e) {}
    return { status: res.status, ok: res.ok, body: json };
  };
  // A missing or refused key (401, 403) is a configuration the site will
  // fix: events wait for it rather than being dropped.
  const retryable = status => !status || status >= 500 || status == 408 || status == 429 || status == 401 || status == 403;

  function init(opts = {}) {
    endpoint = (opts.endpoint || BASE.replace(/\/v1\/refx\.m?js([?#].*)?$/, "")).replace(/\/+$/, "");
    // The client key: given, or the one in the script's own URL
    // (<script src=".../v1/refx.js?key=rfx_pub_...">).
    let key = opts.key;
    try { key = key || new URL(BASE).searchParams.get("key"); } catch (e) {}
    query = key ? "?key=" + encodeURIComponent(key) : "";
    // "include" sends the visitor cookie of referral links with signups;
    // an API allowing any origin ("*") may need "omit".
    credentials = opts.credentials || "include";
    fetcher = opts.fetch || ((url, o) => fetch(url, o));
    mem = {}; cache = {}; backoff = 0; flagCache = {}; flagWait = {};
    clearTimeout(timer);
    try {
      storage = opts.storage !== undefined ? opts.storage : localStorage;
      storage.setItem(PREFIX + "t", "1");
      storage.removeItem(PREFIX + "t");
    } catch (e) { storage = null; }
    let ref;
    try { ref = (new URLSearchParams(location.search).get("ref") || "").toUpperCase(); } catch (e) {}
    if (CODE.test(ref)) set("ref", ref);
    if (!listening && typeof addEventListener == "function") {
      listening = 1;
      addEventListener("online", () => flush());
      addEventListener("pagehide", beacon);
      addEventListener("visibilitychange", () => document.visibilityState == "hidden" && beacon());
    }
    soon();
    return api;
  }

  // enrol asks for u's assignment, once per experiment and user on the
  // page while it succeeds; it rejects with the failure. attrs, when any,
  // are judged by the experiment's audience.
  function enrol(u, experiment, attrs = attributes) {
    const key = u + " " + experiment, body = { experiment, user: u };
    if (Object.keys(attrs || {}).length) body.attributes = attrs;
    // A pending identify goes first, or the user would be assigned afresh.
    return cache[key] = cache[key] || (load("link") ? flush() : Promise.resolve()).then(() => post("/v1/assign", body)).then(res => {
      if (!res.ok) throw res;
      const a = { variant: res.body.variant, payload: res.body.payload || null, inExperiment: res.body.in_experiment };
      const seen = load("asn", {});
      seen[key] = a;
      save("asn", seen);
      return a;
    }).catch(e => {
      delete cache[key];
      throw e;
    });
  }

  // assign answers the user's variant, remembered for the page; when the
  // API cannot be reached it answers the last variant seen, else
  // {variant: null}: a page shows its default rather than an error.
  function assign(experiment) {
    const u = user();
    return enrol(u, experiment).catch(() => load("asn", {})[u + " " + experiment] || { variant: null, payload: null, inExperiment: false });
  }

  // growthbookTracking returns the trackingCallback of a GrowthBook SDK
  // reading refx's payload (GET /api/features/{clientKey}): GrowthBook
  // chose the arm locally, and the exposure becomes the user's assignment
  // in refx, which persists the same arm and enrols the user once. The
  // user is the hashed attribute's value (hashAttribute "id"), judged by
  // the experiment's audience with the attributes GrowthBook judged (its
  // third argument), not flagContext's. A failed call is retried a few
  // times: GrowthBook reports an exposure once.
  const growthbookTracking = () => (experiment, result, ctx) => expose(String(result.hashValue), experiment.key, (ctx || {}).attributes || {});

  // expose enrols u in experiment for a value the page shows, retrying a
  // few times: the value is shown whether or not the call succeeds.
  function expose(u, experiment, attrs) {
    const attempt = n => enrol(u, experiment, attrs).catch(res => retryable(res.status) && n < 5 && setTimeout(attempt, 500 << n, n + 1));
    attempt(0);
  }

  // flagContext sets the attributes flag rules target (plan, country,
  // ...), sent with the user's id as OFREP's targetingKey; until it is
  // called, flags are evaluated for the user's id alone.
  function flagContext(attrs) {
    attributes = { ...attrs };
  }

  // values answers every flag's value for the context (API, key, user,
  // attributes), from one OFREP bulk evaluation that concurrent calls
  // share. The answer is kept in memory and storage with its ETag, used as
  // is for FRESH ms, then revalidated (304 keeps it); when the API cannot
  // be reached or refuses, the last answer stands, else there are no
  // values (every flag gets its default).
  function values() {
    const context = { targetingKey: user(), ...attributes }, k = url("") + " " + JSON.stringify(context);
    const e = flagCache[k] = flagCache[k] || load("flags", {})[k];
    if (e && Date.now() - e.at < FRESH) return Promise.resolve(e);
    return flagWait[k] = flagWait[k] || evaluate(k, context, e).finally(() => delete flagWait[k]);
  }

  // flags answers every flag's value (a prefetch, or for a page's own use).
  const flags = () => values().then(e => ({ ...e.values }));

  async function evaluate(k, context, e) {
    try {
      // The key stays in the URL and the body is text/plain, so the first
      // evaluation is a simple request; a revalidation's If-None-Match
      // costs a preflight, which the browser remembers for 10 minutes.
      const res = await fetcher(url("/ofrep/v1/evaluate/flags"), { method: "POST", body: JSON.stringify({ context }), credentials, headers: e && e.etag ? { "If-None-Match": e.etag } : {} });
      if (res.status == 304 && e) e = { ...e, at: Date.now() };
      else if (res.ok) {
        const v = {}, x = {};
        for (const f of (await res.json()).flags || []) {
          if (f.errorCode) continue;
          v[f.key] = f.value;
          // A linked refx experiment's arm, read without enrolling: the
          // page enrols the user when it shows the value (flag).
          if (f.metadata && f.metadata.experimentKey && !f.metadata.enrolled) x[f.key] = f.metadata.experimentKey;
        }
        e = { etag: res.headers.get("ETag") || "", at: Date.now(), values: v, experiments: x, user: context.targetingKey };
      } else throw res;
      flagCache[k] = e;
      const all = load("flags", {});
      delete all[k];
      all[k] = e;
      save("flags", Object.fromEntries(Object.entries(all).slice(-MAX_CONTEXTS)));
    } catch (err) {}
    return e || { values: {} };
  }

  // flag answers the flag's value, or defaultValue when the flag is
  // unknown, failed to evaluate or has a value of another type than
  // defaultValue's: a page written for a boolean never gets a string.
  // A value given by a linked refx experiment enrols the user, once.
  const flag = (key, defaultValue) => values().then(e => {
    const v = e.values, x = {}.hasOwnProperty.call(v, key) ? v[key] : undefined;
    if (x === undefined || defaultValue != null && (typeof x != typeof defaultValue || Array.isArray(x) != Array.isArray(defaultValue))) return defaultValue;
    const experiment = e.experiments && e.experiments[key];
    if (experiment) expose(e.user, experiment);
    return x;
  });

  function track(type, opts = {}) {
    const e = { id: uuid(), type, user: opts.user || user(), occurred_at: new Date().toISOString() };
    if (opts.value != null) e.value = opts.value;
    if (opts.properties) e.properties = opts.properties;
    if (type == "signup" && get("ref")) e.referral_code = get("ref");
    save("q", load("q", []).concat(e).slice(-MAX_QUEUE));
    soon();
    return e.id;
  }

  // identify switches to the user's id; the first time, it asks the server
  // to link the anonymous visitor's assignments to the user (before any of
  // the user's events is sent), so the user keeps the variants they saw.
  function identify(id) {
    id = String(id);
    if (id != user()) {
      if (!get("uid")) save("link", { anonymous: visitor(), user: id });
      set("uid", id);
      cache = {};
    }
    return flush();
  }

  const referralCode = () => get("ref");

  // reset forgets the user and the visitor (a logout): the next visitor is
  // new. Events still waiting are kept and sent.
  function reset() {
    set("uid", "");
    set("vid", "");
    set("link", "");
    cache = {};
  }

  // referralLink returns the referrer's (default: the user's) referral link
  // in a referral experiment.
  async function referralLink(experiment, referrer = user()) {
    const res = await post("/v1/referrals", { experiment, referrer });
    if (!res.ok) throw new Error((res.body.error || {}).message || "refx: HTTP " + res.status);
    return res.body;
  }

  // referralOffer describes the code this visitor came with; null without
  // one, or when the API cannot be reached.
  async function referralOffer() {
    const code = get("ref");
    try {
      const res = code && await fetcher(url("/v1/referrals/" + code), { credentials });
      return res && res.ok ? await res.json() : null;
    } catch (e) { return null; }
  }

  // flush sends what waits; calls run one after another, and each resolves
  // once what was queued when it was called has had an attempt.
  const flush = () => chain = chain.then(send);

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(flush, ms);
  }
  // soon sends new events shortly, unless a backoff is running.
  const soon = () => backoff || schedule(10);

  function batch(queue) {
    const out = [];
    let bytes = 0;
    for (const e of queue) {
      bytes += JSON.stringify(e).length;
      if (out.length && (out.length == MAX_BATCH || bytes > MAX_BYTES)) break;
      out.push(e);
    }
    return out;
  }

  async function send() {
    try {
      const link = load("link");
      if (link) {
        const res = await post("/v1/identify", link);
        if (retryable(res.status)) throw res;
        set("link", "");
      }
      for (let events; (events = batch(load("q", []))).length;) {
        const res = await post("/v1/events:batch", { events });
        const field = /^events\[(\d+)\]/.exec((res.body.error || {}).field);
        let done;
        if (res.ok && res.body.results) {
          // Per event: recorded, duplicate or refused for good are done;
          // unavailable and internal are sent again, with the same id.
          done = res.body.results.filter(r => !r.error || !/^(unavailable|internal)$/.test(r.error.code)).map(r => r.id);
        } else if (field) {
          done = [events[field[1]].id]; // one invalid event refuses the batch: drop it
        } else if (!retryable(res.status)) {
          done = events.map(e => e.id);
        } else throw res;
        save("q", load("q", []).filter(e => !done.includes(e.id)));
        if (events.some(e => !done.includes(e.id))) throw res;
      }
      backoff = 0;
    } catch (e) {
      backoff = Math.min(MAX_BACKOFF, (backoff || 500) * 2);
      schedule(backoff * (0.5 + Math.random() / 2));
    }
  }

  // beacon hands what waits to the browser when the page goes away. The
  // events stay queued: the next page sends them again with the same ids,
  // which the server answers as duplicates.
  function beacon() {
    if (!navigator.sendBeacon) return;
    const link = load("link");
    if (link) return navigator.sendBeacon(url("/v1/identify"), JSON.stringify(link));
    const events = batch(load("q", []));
    if (events.length) navigator.sendBeacon(url("/v1/events:batch"), JSON.stringify({ events }));
  }

  const pending = () => load("q", []);

  const api = { version: VERSION, init, assign, track, identify, reset, user, referralCode, referralLink, referralOffer, flush, pending, flag, flags, flagContext, growthbookTracking };
  init();
  return api;
})();
