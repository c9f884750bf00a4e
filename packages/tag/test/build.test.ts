import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildTag, TAG_GZIP_BUDGET, tagFor, tagSnippet } from "../src/index.ts";

describe("tag build", () => {
  it("fits the gzip budget", async () => {
    const tag = await buildTag();
    expect(tag.code.length).toBeGreaterThan(500);
    expect(tag.gzipBytes).toBeLessThanOrEqual(TAG_GZIP_BUDGET);
    expect(gunzipSync(gzipSync(tag.code)).toString()).toBe(tag.code);
  });

  it("makes no third-party requests: the only network calls go to the tag's own origin", async () => {
    const { code } = await buildTag();
    expect(code).not.toMatch(/https?:\/\//);
    expect(code).toContain("/js/view");
    expect(code).toContain("/js/track");
  });

  it("is served with the workspace's visitor-ID parameter written in, never a name that breaks out", async () => {
    const built = await buildTag();
    const fvid = tagFor(built, "fvid");
    expect(fvid.code).toContain('"fvid"');
    expect(fvid.code).not.toContain("__hitrail_vid_param__");
    expect(fvid.etag).not.toBe(tagFor(built, "vid").etag);
    // The API validates names; a stored one that could end the string literal is never written in.
    const hostile = tagFor(built, 'x";alert(1);"');
    expect(hostile.code).toBe(tagFor(built, "vid").code);
  });

  it("snippet queues calls before the tag loads", () => {
    const html = tagSnippet({ src: "https://t.example/tag.js", funnel: "f1", node: "n1", page: "p1" });
    expect(html).toContain('data-funnel="f1" data-node="n1" data-page="p1"');
    expect(html.indexOf("window.flux")).toBeLessThan(html.indexOf("tag.js"));
  });
});
