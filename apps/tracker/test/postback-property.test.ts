import { mulberry32 } from "@hitrail/core";
import { conversionRollupDrift, newId, sweepConversionRollups } from "@hitrail/db";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { conversionTables } from "./support/postback-db.ts";
import { type ClickThrough, clickThrough, type Tenant } from "./support/postback-hits.ts";

// Random query strings (and bodies) thrown at /pb/: the tracker must never answer 5xx, must log every
// request, and must never write a conversion row for a request it refused. Deterministic: a failure
// replays with the same seed.
const SEED = 0x5eed_2026;
const RUNS = 600;
const DAY = 86_400_000;

let h: TrackerHarness;
let t: Tenant;
let paths: ClickThrough[];
beforeAll(async () => {
  h = await createTrackerHarness();
  t = await h.tenant({ postbackUrl: "https://ts.example/cb?c={external}&p={payout}&z={zone}" });
  paths = [await clickThrough(h, t), await clickThrough(h, t, { offer: "offerB" })];
});
afterAll(async () => {
  await h?.close();
});

function generator(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const chars = "aZ09-_.~!*'();:@&=+$,/?#[]{}%<> \t\"\\|^`é漢😀";
  const randomText = (max: number) => {
    let s = "";
    const n = Math.floor(rand() * max);
    for (let i = 0; i < n; i++)
      s += rand() < 0.1 ? String.fromCharCode(Math.floor(rand() * 0x30)) : pick([...chars]);
    return s;
  };
  // Raw, possibly malformed, percent-encodings: invalid UTF-8, lone surrogates, truncated escapes, NUL.
  const rawBits = [
    "%",
    "%Z",
    "%E0%A4%A",
    "%ED%A0%80",
    "%C3",
    "%FF%FE",
    "%00",
    "%2",
    "+",
    "%25",
    "%26",
    "%3D",
    "&&",
    "==",
  ];
  const hits = () => [...paths.flatMap((p) => [p.offer, p.lander, p.entry])];
  const values = (name: string): string => {
    const r = rand();
    if (r < 0.25) {
      switch (name) {
        case "hit":
          return pick([
            ...hits(),
            newId(),
            hits()[0]?.toUpperCase() ?? "",
            hits()[0]?.replace(/-/g, "") ?? "",
          ]);
        case "vid":
          return pick([...paths.map((p) => p.visitorId), newId()]);
        case "p":
          return pick([...t.kit.offerIds, t.kit.landerId, newId()]);
        case "rev":
          return pick([
            "12.5",
            "12,50",
            "0",
            "-1",
            "1e3",
            "NaN",
            "Infinity",
            "9".repeat(13),
            ".5",
            "5.",
            "1,234.50",
          ]);
        case "status":
          return pick([
            "pending",
            "HOLD",
            "preapproved",
            "rejected",
            "Trash",
            "cancelled",
            "sale",
            "approved",
            "",
          ]);
        case "disable_postbacks":
          return pick(["true", "1", "false", "yes", "TRUE", ""]);
        case "tx":
          return pick(["T1", "T2", "", "x".repeat(300), "a\u0000b"]);
        default:
          return randomText(20);
      }
    }
    if (r < 0.45)
      return pick(["{payout}", "[payout]", "%payout%", "#payout#", "$payout", "{{clickid}}", "REPLACE", ""]);
    if (r < 0.6) return randomText(rand() < 0.05 ? 3_000 : 40);
    return encodeURIComponent(randomText(30).toWellFormed());
  };
  const names = [
    "hit",
    "vid",
    "p",
    "tx",
    "rev",
    "status",
    "disable_postbacks",
    "e",
    "key",
    "__proto__",
    "constructor",
    "",
  ];
  return function next(): {
    method: "GET" | "POST";
    url: string;
    headers: Record<string, string>;
    payload?: string;
  } {
    const pairs: string[] = [];
    // Many requests start from a real target, so acceptance paths (and the batches they share with
    // refusals) get exercised as much as the refusals.
    if (rand() < 0.45) {
      pairs.push(
        rand() < 0.75
          ? `hit=${pick(paths.flatMap((p) => [p.offer, p.lander]))}`
          : `vid=${pick(paths.map((p) => p.visitorId))}`,
      );
      if (rand() < 0.7) pairs.push(`tx=${pick(["A", "B", "C", "D"])}`);
    }
    const n = 1 + Math.floor(rand() * 7);
    for (let i = 0; i < n; i++) {
      const name = rand() < 0.9 ? pick(names) : randomText(8);
      let value = values(name);
      // Raw values go in unencoded on purpose; a few get malformed escapes spliced in.
      if (rand() < 0.2) value += pick(rawBits);
      const encodedName = rand() < 0.95 ? encodeURIComponent(name.toWellFormed()) : `${name}${pick(rawBits)}`;
      pairs.push(
        rand() < 0.05
          ? encodedName
          : `${encodedName}=${rand() < 0.5 ? encodeURIComponent(value.toWellFormed()) : value.replace(/[#\s]/g, "")}`,
      );
    }
    const query = pairs.join("&");
    const host = t.host;
    const kind = rand();
    if (kind < 0.75) return { method: "GET", url: `${pick(["/pb/", "/pb"])}?${query}`, headers: { host } };
    if (kind < 0.9) {
      return {
        method: "POST",
        url: "/pb/",
        headers: { host, "content-type": "application/x-www-form-urlencoded" },
        payload: query,
      };
    }
    const json =
      rand() < 0.7
        ? JSON.stringify(Object.fromEntries(pairs.map((p) => p.split("="))))
        : `{${randomText(20)}`;
    return {
      method: "POST",
      url: "/pb/",
      headers: { host, "content-type": pick(["application/json", "text/plain"]) },
      payload: json,
    };
  };
}

describe("random postbacks", () => {
  it(`${RUNS} random requests: never a 5xx, always logged, never a write on a refusal`, async () => {
    const next = generator(mulberry32(SEED));
    const answers: Array<{ req: ReturnType<typeof next>; res: LightMyRequestResponse }> = [];
    for (let i = 0; i < RUNS; i += 6) {
      // A few at a time, so refusals and conversions share group-commit batches.
      const reqs = Array.from({ length: Math.min(6, RUNS - i) }, () => next());
      const results = await Promise.all(
        reqs.map((req, k) =>
          h.app.inject({ ...req, remoteAddress: `10.9.${(i + k) >> 8}.${(i + k) & 255}` }),
        ),
      );
      for (const [k, res] of results.entries())
        answers.push({ req: reqs[k] as ReturnType<typeof next>, res });
    }
    expect(answers).toHaveLength(RUNS);

    const accepted = new Set<string>();
    const changedPostbacks = new Set<string>();
    const refused = new Set<string>();
    const statuses = new Map<number, number>();
    for (const { req, res } of answers) {
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500)
        throw new Error(`${res.statusCode} for ${req.method} ${req.url}: ${res.body}`);
      const body = res.json();
      expect(body.postbackId, `${req.url} → ${res.body}`).toEqual(expect.any(String));
      if (res.statusCode === 200) {
        expect(["created", "updated", "deleted", "restored", "ignored"]).toContain(body.outcome);
        if (body.conversion) accepted.add(body.conversion.id);
        if (body.outcome !== "ignored") changedPostbacks.add(body.postbackId);
      } else {
        expect([400, 401, 403, 404, 422]).toContain(res.statusCode);
        expect(body).toMatchObject({ outcome: "rejected", error: expect.any(String) });
        refused.add(body.postbackId);
      }
    }
    // The generator must reach both sides, or the test proves little.
    expect(changedPostbacks.size).toBeGreaterThan(20);
    expect(refused.size).toBeGreaterThan(RUNS / 3);

    const db = conversionTables(h.t.db, t.workspaceId);
    const log = await db.log();
    expect(log).toHaveLength(RUNS);
    for (const entry of log) {
      if (refused.has(entry.id)) expect(entry).toMatchObject({ outcome: "rejected", conversionId: null });
    }
    const conversions = await db.conversions();
    for (const c of conversions) expect(accepted.has(c.id)).toBe(true);
    const revisions = await db.revisions();
    for (const r of revisions) expect(changedPostbacks.has(r.receivedPostbackId ?? "")).toBe(true);
    expect(revisions).toHaveLength(changedPostbacks.size);
    // No rollup job per revision: one sweep brings the reports exactly to the raw rows.
    expect((await db.outbox()).filter((o) => o.topic === "rollup.conversion")).toEqual([]);
    expect(await sweepConversionRollups(h.t.db, { wait: true })).toMatchObject({
      status: "swept",
      revisions: revisions.length,
    });
    const range = { from: new Date(h.clock.now - 30 * DAY), to: new Date(h.clock.now + 30 * DAY) };
    expect(await conversionRollupDrift(h.t.db, { workspaceId: t.workspaceId, ...range })).toEqual([]);
    const touchedConversions = new Set((await db.allTouches()).map((x) => x.conversionId));
    for (const id of touchedConversions) expect(accepted.has(id)).toBe(true);
  });
});
