/*
 * Hitrail universal tag. Runs on the user's page (any origin) and talks to the tracking domain it
 * was loaded from. Third-party cookies may be blocked, so the visitor travels in the URL (`vid`, or
 * the workspace's own name for it) and in first-party localStorage; the tracker cookie is only a bonus.
 */
type Dict = Record<string, string | undefined>;
type Answer = Dict & { error?: string; tokens?: Dict };
interface Config {
  funnel?: string;
  node?: string;
  page?: string;
  ts?: string;
  cost?: string;
  rewriteUrl?: boolean;
  rewriteLinks?: boolean;
  fullReferrer?: boolean;
}
interface Flux {
  q?: Array<[string, ArrayLike<unknown>]>;
  track: (event: string, data?: Dict) => Promise<Answer | undefined>;
  fill: (template: string) => string;
  tokens: Dict;
  vid?: string;
  hit?: string;
}

/** The workspace's visitor-ID parameter, written in when the tracker serves the tag. */
declare const __HITRAIL_VID_PARAM__: string;
const VID = __HITRAIL_VID_PARAM__;

const w = window as unknown as { flux?: Flux; fluxConfig?: Config };
const doc = document;
const script = doc.currentScript as HTMLScriptElement | null;
const origin = script ? new URL(script.src).origin : location.origin;
const data = script ? script.dataset : {};
const cfg: Config = { rewriteUrl: true, rewriteLinks: true, fullReferrer: true, ...w.fluxConfig };
for (const k of ["funnel", "node", "page", "ts", "cost"] as const) if (data[k]) cfg[k] = data[k];
for (const k of ["rewriteUrl", "rewriteLinks", "fullReferrer"] as const) {
  const v = data[k];
  if (v) cfg[k] = v !== "false";
}

const here = new URL(location.href);
const param = (k: string) => here.searchParams.get(k) || undefined;
const KEY = "hitrail_vid";
const store = {
  get(): string | undefined {
    try {
      return localStorage.getItem(KEY) || undefined;
    } catch {
      return undefined;
    }
  },
  set(v: string) {
    try {
      localStorage.setItem(KEY, v);
    } catch {}
  },
};

const waiting: Array<() => void> = [];
let ready = !cfg.funnel; // a page without funnel ids only tracks; nothing to wait for
const flux: Flux = {
  track,
  fill,
  tokens: {},
  // The URL first: a redirect put the visitor there, so on another origin (an offer on the network's
  // own domain) the page continues that visitor instead of whatever this origin stored earlier.
  vid: param(VID) || store.get(),
};
const earlier = w.flux;
w.flux = flux;

function post(path: string, body: unknown): Promise<Answer> {
  // text/plain keeps it a "simple" CORS request: no preflight on every call.
  return fetch(origin + path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "text/plain;charset=UTF-8" },
    credentials: "include",
    keepalive: true,
    referrerPolicy: "unsafe-url",
  }).then((r) => r.json() as Promise<Answer>);
}

function fill(template: string): string {
  return template.replace(/\{([a-z0-9_.-]+)\}/gi, (m, name: string) => {
    const v = flux.tokens[name.toLowerCase()];
    return v === undefined ? m : encodeURIComponent(v);
  });
}

function carry(a: HTMLAnchorElement) {
  if (a.hasAttribute("data-flux-fill")) {
    const tpl = a.getAttribute("data-flux-fill") || a.getAttribute("href") || "";
    a.setAttribute("data-flux-fill", tpl);
    a.href = fill(tpl);
  }
  if (!cfg.rewriteLinks || !(a.href.indexOf("/action/") > -1 || a.hasAttribute("data-flux-action"))) return;
  const u = new URL(a.href, location.href);
  if (flux.vid) u.searchParams.set("vid", flux.vid);
  if (flux.hit) u.searchParams.set("hit", flux.hit);
  if (cfg.node) u.searchParams.set("n", cfg.node);
  a.href = u.toString();
  if (cfg.fullReferrer) a.referrerPolicy = "unsafe-url";
}

function helpers() {
  if (cfg.rewriteUrl && flux.vid && history.replaceState) {
    const u = new URL(location.href);
    u.searchParams.set(VID, flux.vid);
    if (cfg.node) u.searchParams.set("n", cfg.node);
    history.replaceState(history.state, "", u.toString());
  }
  doc.querySelectorAll("a").forEach(carry);
  // Links added after load are fixed at click time.
  doc.addEventListener(
    "click",
    (e) => {
      const a = (e.target as Element | null)?.closest?.("a");
      if (a) carry(a as HTMLAnchorElement);
    },
    true,
  );
}

function done() {
  ready = true;
  while (waiting.length) waiting.shift()?.();
}

function view() {
  post("/js/view", {
    funnel: cfg.funnel,
    node: cfg.node,
    page: cfg.page,
    ts: cfg.ts,
    cost: cfg.cost,
    vid: flux.vid,
    hit: param("hit"),
    url: location.href,
    referrer: doc.referrer,
  })
    .then((r) => {
      if (r.error) return console.error("hitrail:", r.error);
      flux.vid = r.vid;
      flux.hit = r.hit;
      flux.tokens = r.tokens || {};
      if (r.vid) store.set(r.vid);
      if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", helpers);
      else helpers();
    })
    .catch((e) => console.error("hitrail: page view not recorded", e))
    .then(done);
}

function track(event: string, d?: Dict): Promise<Answer | undefined> {
  const o = d || {};
  if (o.vid && o.hit) {
    console.error(`hitrail: flux.track("${event}") takes vid or hit, not both`);
    return Promise.resolve(undefined);
  }
  const send = () =>
    post("/js/track", {
      event,
      rev: o.rev,
      p: o.p,
      vid: o.vid,
      hit: o.hit,
      tx: o.tx,
      current: { vid: flux.vid, hit: flux.hit },
    }).then((r) => {
      if (r.error) console.error("hitrail:", r.error);
      return r;
    });
  if (ready) return send();
  return new Promise((resolve) => waiting.push(() => resolve(send())));
}

if (cfg.funnel) view();
// Calls made before the tag loaded were queued by the snippet: replay them in order.
for (const [method, args] of earlier?.q || []) {
  if (method === "track") track(args[0] as string, args[1] as Dict);
}
