import { newId } from "@hitrail/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPostbackAccess, ipAllowed } from "../src/postback/access.ts";
import { flattenPostbackParams, paramsForLog, UnreadableBody } from "../src/postback/params.ts";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { conversionTables, setWorkspace } from "./support/postback-db.ts";
import { clickThrough, postback } from "./support/postback-hits.ts";

describe("ipAllowed", () => {
  it.each<[string, string[], boolean]>([
    ["203.0.113.7", ["203.0.113.0/24"], true],
    ["203.0.114.7", ["203.0.113.0/24"], false],
    ["203.0.113.7", ["203.0.113.7"], true],
    ["::ffff:203.0.113.7", ["203.0.113.0/24"], true],
    ["203.0.113.7", ["::ffff:203.0.113.0/120"], true],
    ["2001:db8::1", ["2001:db8::/32"], true],
    ["2001:db9::1", ["2001:db8::/32"], false],
    ["2001:db8::1", ["203.0.113.0/24"], false],
    ["203.0.113.7", ["not a cidr", "10.0.0.0/8"], false],
    ["203.0.113.7", ["not a cidr", " 203.0.113.0/24 "], true],
    ["garbage", ["0.0.0.0/0"], false],
  ])("%s in %j → %s", (ip, list, allowed) => {
    expect(ipAllowed(ip, list)).toBe(allowed);
  });
});

describe("checkPostbackAccess", () => {
  const open = { postbackSecret: null, postbackIpAllowlist: [] };
  it.each<[string, Parameters<typeof checkPostbackAccess>, ReturnType<typeof checkPostbackAccess>]>([
    ["off by default", [open, "1.2.3.4", undefined], { ok: true }],
    ["an empty secret is off", [{ ...open, postbackSecret: "" }, "1.2.3.4", undefined], { ok: true }],
    ["right key", [{ ...open, postbackSecret: "s3cret" }, "1.2.3.4", " s3cret "], { ok: true }],
    [
      "missing key",
      [{ ...open, postbackSecret: "s3cret" }, "1.2.3.4", undefined],
      {
        ok: false,
        httpStatus: 401,
        error: "key required: this workspace's postbacks must carry key=<postback key>",
      },
    ],
    [
      "wrong key",
      [{ ...open, postbackSecret: "s3cret" }, "1.2.3.4", "guess"],
      { ok: false, httpStatus: 403, error: "bad key: key does not match this workspace's postback key" },
    ],
    [
      "IP outside the allow-list",
      [{ ...open, postbackIpAllowlist: ["10.0.0.0/8"] }, "1.2.3.4", undefined],
      { ok: false, httpStatus: 403, error: "IP 1.2.3.4 is not on this workspace's postback allow-list" },
    ],
  ])("%s", (_name, args, expected) => {
    expect(checkPostbackAccess(...args)).toEqual(expected);
  });
});

describe("flattenPostbackParams", () => {
  it.each<[string, unknown, unknown, Record<string, string>, string | null]>([
    ["query only", { hit: "h", tx: ["a", "b"] }, undefined, { hit: "h", tx: "a" }, null],
    ["query wins over body", { hit: "q" }, { hit: "b", rev: 3 }, { hit: "q", rev: "3" }, null],
    [
      "JSON scalars become strings",
      {},
      { disable_postbacks: true, rev: 1.5, x: null, y: {} },
      { disable_postbacks: "true", rev: "1.5" },
      null,
    ],
    ["unreadable body", {}, new UnreadableBody("bad"), {}, "bad"],
    ["array body", {}, [1, 2], {}, "the JSON body must be an object of parameters, not an array"],
    ["text body ignored", { hit: "h" }, "hello", { hit: "h" }, null],
  ])("%s", (_name, query, body, values, problem) => {
    const got = flattenPostbackParams(query, body);
    expect({ ...got.values }).toEqual(values);
    expect(got.bodyProblem).toBe(problem);
  });

  it("treats __proto__ as a plain parameter", () => {
    const got = flattenPostbackParams(JSON.parse('{"__proto__":"x","hit":"h"}'), undefined);
    expect(Object.hasOwn(got.values, "__proto__")).toBe(true);
    expect(got.values.hit).toBe("h");
  });

  it("redacts the key and bounds values for the log", () => {
    expect(paramsForLog({ key: "s3cret", KEY: "x", tx: "t".repeat(2_000) })).toEqual({
      key: "[redacted]",
      KEY: "[redacted]",
      tx: `${"t".repeat(1_000)}…`,
    });
  });
});

describe("postback walls and abuse protection", () => {
  let h: TrackerHarness;
  beforeAll(async () => {
    h = await createTrackerHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("a workspace postback key: missing 401, wrong 403, right 200, never stored", async () => {
    const t = await h.tenant();
    await setWorkspace(h.t.db, t.workspaceId, { postbackSecret: "k-123" });
    const path = await clickThrough(h, t);
    expect((await postback(h, t.host, { hit: path.offer })).statusCode).toBe(401);
    expect((await postback(h, t.host, { hit: path.offer, key: "nope" })).statusCode).toBe(403);
    const ok = await postback(h, t.host, { hit: path.offer, key: "k-123" });
    expect(ok.json()).toMatchObject({ outcome: "created" });
    const log = await conversionTables(h.t.db, t.workspaceId).log();
    expect(log.map((l) => [l.httpStatus, (l.params as Record<string, string>).key])).toEqual([
      [401, undefined],
      [403, "[redacted]"],
      [200, "[redacted]"],
    ]);
    const [revision] = await conversionTables(h.t.db, t.workspaceId).revisions();
    expect(JSON.stringify(revision?.raw)).not.toContain("k-123");
  });

  it("an IP allow-list admits only its CIDRs", async () => {
    const t = await h.tenant();
    await setWorkspace(h.t.db, t.workspaceId, { postbackIpAllowlist: ["198.51.100.0/24"] });
    const path = await clickThrough(h, t);
    const refused = await postback(h, t.host, { hit: path.offer }, { ip: "203.0.113.9" });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toBe("IP 203.0.113.9 is not on this workspace's postback allow-list");
    expect((await postback(h, t.host, { hit: path.offer }, { ip: "198.51.100.20" })).statusCode).toBe(200);
  });

  it("repeated failing postbacks from one source get a clear 429; other sources and tenants do not", async () => {
    const t = await h.tenant();
    const other = await h.tenant();
    const path = await clickThrough(h, t);
    const ip = "192.0.2.66";
    const statuses: number[] = [];
    for (let i = 0; i < 125; i++)
      statuses.push((await postback(h, t.host, { hit: newId() }, { ip })).statusCode);
    expect(statuses.slice(0, 120).every((s) => s === 404)).toBe(true);
    expect(statuses.slice(121)).toEqual([429, 429, 429, 429]);
    const blocked = await postback(h, t.host, { hit: newId() }, { ip });
    expect(blocked.headers["retry-after"]).toMatch(/^\d+$/);
    expect(blocked.json()).toMatchObject({
      outcome: "rejected",
      error: expect.stringContaining("too many failing postbacks"),
    });
    // Another source of the same tenant, and the same source on another tenant, are unaffected.
    expect((await postback(h, t.host, { hit: path.offer }, { ip: "192.0.2.67" })).statusCode).toBe(200);
    expect((await postback(h, other.host, { hit: newId() }, { ip })).statusCode).toBe(404);
    // Blocked requests are not written to the postback log (that is what the block protects).
    expect(await conversionTables(h.t.db, t.workspaceId).log()).toHaveLength(121 + 1);
  });

  it("valid postbacks are never limited, however many", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    const ip = "192.0.2.77";
    for (let i = 0; i < 200; i++) {
      const res = await postback(h, t.host, { hit: path.offer, tx: `T${i}` }, { ip });
      expect(res.statusCode).toBe(200);
    }
  });
});
