import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Hitrail demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
a.button{display:inline-block;padding:.6rem 1rem;margin:.3rem 0;background:#1f6feb;color:#fff;border-radius:6px;text-decoration:none}
code{background:#f0f0f0;padding:.1rem .3rem;border-radius:3px}</style></head>
<body>${body}</body></html>`;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The demo's lander and two offers, served from a second origin as a user's own pages would be,
 * so a newcomer can click the whole funnel in a browser.
 */
export async function startDemoPages(opts: { port: number; host: string; trackerUrl: string }): Promise<{
  url: string;
  close: () => Promise<void>;
}> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://demo");
    // Offers get the hit as the network would (`clickid`), the lander as `hit`.
    const hit = url.searchParams.get("hit") ?? url.searchParams.get("clickid") ?? "";
    const vid = url.searchParams.get("vid") ?? "";
    const t = opts.trackerUrl;
    let html: string | null = null;
    if (url.pathname === "/lander") {
      const q = `?vid=${encodeURIComponent(vid)}&hit=${encodeURIComponent(hit)}`;
      html = page(
        "Lander",
        `<h1>The demo lander</h1><p>You arrived through the entrance link. Your visit is hit <code>${esc(hit)}</code> of visitor <code>${esc(vid)}</code>.</p>
<p>Each button is a funnel action link; the tracker records the click and sends you to an offer.</p>
<a class="button" href="${t}/action/1${q}">Action 1 → Offer A</a><br>
<a class="button" href="${t}/action/2${q}">Action 2 → Offer B</a>`,
      );
    } else if (url.pathname === "/offer-a" || url.pathname === "/offer-b") {
      const name = url.pathname === "/offer-a" ? "Offer A (pays 12.50)" : "Offer B (pays 30.00)";
      html = page(
        name,
        `<h1>${name}</h1><p>This offer page got hit <code>${esc(hit)}</code>. An affiliate network would call the postback below when the visitor converts.</p>
<a class="button" href="${t}/pb/?hit=${encodeURIComponent(hit)}">Fire the postback (default payout)</a><br>
<a class="button" href="${t}/pb/?hit=${encodeURIComponent(hit)}&tx=upsell-1&rev=9.99">Fire an upsell (tx=upsell-1, rev=9.99)</a>`,
      );
    }
    if (!html) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not a demo page");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(html);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
