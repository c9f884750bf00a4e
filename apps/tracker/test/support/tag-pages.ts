import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { TAG_STUB } from "@hitrail/tag";

export interface PageIds {
  funnel: string;
  node: string;
  page: string;
}

/**
 * The user's own site, on another origin than the tracker: a lander (with action link 1) and an
 * offer page, each carrying the universal tag as the dashboard hands it out.
 */
export interface PagesSite {
  origin: string;
  close: () => Promise<void>;
}

export async function startPagesSite(opts: {
  tracker: string;
  lander: PageIds;
  offer: PageIds;
}): Promise<PagesSite> {
  const tag = (ids: PageIds) =>
    `<script>${TAG_STUB}</script>\n<script src="${opts.tracker}/tag.js" data-funnel="${ids.funnel}" data-node="${ids.node}" data-page="${ids.page}"></script>`;
  const html = (title: string, ids: PageIds, body: string) =>
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}\n${tag(ids)}</body></html>`;
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://pages").pathname;
    let page: string | null = null;
    if (path === "/lander") {
      page = html("Lander", opts.lander, `<a id="go" href="${opts.tracker}/action/1">Go to the offer</a>`);
    } else if (path === "/offer-a") {
      page = html("Offer", opts.offer, "<p>Buy now</p>");
    }
    if (page === null) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
