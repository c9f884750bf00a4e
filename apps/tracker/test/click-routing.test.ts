import { mulberry32, type NodeConfig, type Rule } from "@hitrail/core";
import { createLander, newId, saveFunnelGraph } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { count, eq, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { type ClickOptions, enter, GB_IP, location, UA } from "./support/clicks.ts";

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness({ rng: mulberry32(20_240_101) });
});
afterAll(async () => {
  await h?.close();
});

/** A workspace whose funnel is entry → `routing` node → one lander node per name. */
async function routedFunnel(
  routing: (landerNodes: Record<string, string>) => NodeConfig,
  names: string[],
  opts: { timeZone?: string } = {},
) {
  const { workspace, host } = await factories.workspace(
    h.t.db,
    opts.timeZone ? { timeZone: opts.timeZone } : {},
  );
  const landerNodes: Record<string, string> = {};
  const nodes: Array<{ id: string; name: string; config: NodeConfig }> = [];
  for (const name of names) {
    const lander = await createLander(h.t.db, {
      workspaceId: workspace.id,
      name,
      url: `https://pages.example/${name}`,
    });
    const id = newId();
    landerNodes[name] = id;
    nodes.push({ id, name, config: { kind: "lander", pages: [{ pageId: lander.id, weight: 1 }] } });
  }
  const entry = newId();
  const router = newId();
  const { funnelId } = await saveFunnelGraph(h.t.db, {
    workspaceId: workspace.id,
    name: "routed",
    entryNodeId: entry,
    nodes: [
      { id: entry, name: "entry", config: { kind: "entry", routes: [{ to: router, weight: 1 }] } },
      { id: router, name: "router", config: routing(landerNodes) },
      ...nodes,
    ],
    actions: [],
  });
  return { workspaceId: workspace.id, host, funnelId, landerNodes };
}

const pageOf = async (host: string, funnelId: string, o: ClickOptions = {}) =>
  location(await enter(h, host, funnelId, o)).pathname.slice(1);

describe("routing", () => {
  it("splits a rotator by weight over 10,000 visits (fixed seed)", async () => {
    const weights = { a: 60, b: 30, c: 10 };
    const f = await routedFunnel(
      (n) => ({
        kind: "rotator",
        routes: Object.entries(weights).map(([name, weight]) => ({ to: n[name] as string, weight })),
      }),
      Object.keys(weights),
    );
    const seen: Record<string, number> = { a: 0, b: 0, c: 0 };
    const visits = 10_000;
    for (let done = 0; done < visits; done += 500) {
      const pages = await Promise.all(Array.from({ length: 500 }, () => pageOf(f.host, f.funnelId)));
      for (const p of pages) seen[p] = (seen[p] ?? 0) + 1;
    }
    for (const [name, weight] of Object.entries(weights)) {
      const share = (seen[name] ?? 0) / visits;
      // Three standard deviations of a binomial share at n = 10,000 are under 1.5 points.
      expect(Math.abs(share - weight / 100), `${name}: ${share}`).toBeLessThan(0.015);
    }
    const rows = await h.t.db
      .select({ nodeId: schema.hits.nodeId, n: count() })
      .from(schema.hits)
      .where(eq(schema.hits.workspaceId, f.workspaceId))
      .groupBy(schema.hits.nodeId);
    const byNode = Object.fromEntries(rows.map((r) => [r.nodeId, Number(r.n)]));
    for (const name of Object.keys(weights)) expect(byNode[f.landerNodes[name] as string]).toBe(seen[name]);
  }, 120_000);

  // 2024-01-01 20:30 UTC is Monday evening in UTC but Tuesday 05:30 in Tokyo.
  const MONDAY_2030_UTC = Date.UTC(2024, 0, 1, 20, 30);

  it.each<[string, Rule, ClickOptions, ClickOptions]>([
    ["country", { field: "country", op: "in", values: ["GB"] }, { ip: GB_IP }, { ip: "127.0.0.1" }],
    [
      "device type",
      { field: "device", op: "in", values: ["mobile"] },
      { headers: { "user-agent": UA.iphone } },
      {},
    ],
    [
      "OS",
      { field: "os", op: "in", values: ["Android"] },
      { headers: { "user-agent": UA.androidChrome } },
      { headers: { "user-agent": UA.iphone } },
    ],
    [
      "browser",
      { field: "browser", op: "in", values: ["Firefox"] },
      { headers: { "user-agent": UA.macFirefox } },
      {},
    ],
    [
      "language",
      { field: "language", op: "in", values: ["de"] },
      { headers: { "accept-language": "fr;q=0.5, de-AT" } },
      { headers: { "accept-language": "fr, de;q=0.9" } },
    ],
    [
      "IP range",
      { field: "ip", op: "in", values: ["203.0.113.0/24", "2001:db8::/32"] },
      { ip: "203.0.113.77" },
      { ip: "203.0.114.1" },
    ],
    [
      "IP range (IPv6)",
      { field: "ip", op: "in", values: ["2001:db8::/32"] },
      { ip: "2001:db8::5" },
      { ip: "2001:db9::5" },
    ],
    ["weekday in the workspace time zone", { field: "weekday", op: "in", values: ["tue"] }, {}, {}],
    ["hour in the workspace time zone", { field: "hour", op: "in", values: ["5"] }, {}, {}],
    [
      "query parameter",
      { field: "query", op: "in", values: ["fb"], param: "src" },
      { query: { src: "fb" } },
      { query: { src: "FB" } },
    ],
    ["negated rule", { field: "country", op: "not_in", values: ["GB"] }, { ip: "127.0.0.1" }, { ip: GB_IP }],
  ])("routes on %s", async (_name, rule, matching, other) => {
    const f = await routedFunnel(
      (n) => ({
        kind: "condition",
        routes: [{ match: "all", rules: [rule], to: n.match as string }],
        defaultTo: n.default as string,
      }),
      ["match", "default"],
      { timeZone: "Asia/Tokyo" },
    );
    const saved = h.clock.now;
    h.clock.now = MONDAY_2030_UTC;
    try {
      expect(await pageOf(f.host, f.funnelId, matching)).toBe("match");
      if (rule.field === "weekday" || rule.field === "hour") {
        h.clock.now = MONDAY_2030_UTC + 4 * 60 * 60 * 1000; // 09:30 Tuesday in Tokyo, still Tuesday
        if (rule.field === "hour") expect(await pageOf(f.host, f.funnelId, other)).toBe("default");
        h.clock.now = MONDAY_2030_UTC - 6 * 60 * 60 * 1000; // 23:30 Monday in Tokyo
        if (rule.field === "weekday") expect(await pageOf(f.host, f.funnelId, other)).toBe("default");
      } else {
        expect(await pageOf(f.host, f.funnelId, other)).toBe("default");
      }
    } finally {
      h.clock.now = saved;
    }
  });

  it("takes the first matching route in order; 'any' needs one rule, 'all' every rule", async () => {
    const gb: Rule = { field: "country", op: "in", values: ["GB"] };
    const mobile: Rule = { field: "device", op: "in", values: ["mobile"] };
    const f = await routedFunnel(
      (n) => ({
        kind: "condition",
        routes: [
          { match: "all", rules: [gb, mobile], to: n.both as string },
          { match: "any", rules: [gb, mobile], to: n.either as string },
          { match: "any", rules: [gb], to: n.never as string },
        ],
        defaultTo: n.neither as string,
      }),
      ["both", "either", "never", "neither"],
    );
    const iphone = { "user-agent": UA.iphone };
    expect(await pageOf(f.host, f.funnelId, { ip: GB_IP, headers: iphone })).toBe("both");
    expect(await pageOf(f.host, f.funnelId, { ip: GB_IP })).toBe("either");
    expect(await pageOf(f.host, f.funnelId, { headers: iphone })).toBe("either");
    expect(await pageOf(f.host, f.funnelId)).toBe("neither");
  });

  it("sends external nodes to their URL with tokens, recorded as an external hit", async () => {
    const { workspace, host } = await factories.workspace(h.t.db);
    const entry = newId();
    const external = newId();
    const { funnelId } = await saveFunnelGraph(h.t.db, {
      workspaceId: workspace.id,
      name: "out",
      entryNodeId: entry,
      nodes: [
        { id: entry, name: "entry", config: { kind: "entry", routes: [{ to: external, weight: 1 }] } },
        {
          id: external,
          name: "away",
          config: { kind: "external", url: "https://away.example/x?h={hit}&n={node}" },
        },
      ],
      actions: [],
    });
    const url = location(await enter(h, host, funnelId));
    const [row] = await h.t.db.select().from(schema.hits).where(eq(schema.hits.workspaceId, workspace.id));
    expect(url.toString()).toBe(`https://away.example/x?h=${row?.id}&n=${external}`);
    expect(row).toMatchObject({ pageKind: "external", pageId: null, nodeId: external });
  });

  it("picks up a saved funnel without a restart (funnels.version)", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    expect(await pageOf(host, kit.funnelId)).toBe("lander");
    // The user re-wires the entry straight to offer B.
    await saveFunnelGraph(h.t.db, {
      workspaceId,
      funnelId: kit.funnelId,
      name: "rewired",
      entryNodeId: kit.nodes.entry,
      nodes: [
        {
          id: kit.nodes.entry,
          name: "entry",
          config: { kind: "entry", routes: [{ to: kit.nodes.offerB, weight: 1 }] },
        },
        {
          id: kit.nodes.offerB,
          name: "Offer B",
          config: { kind: "offer", pages: [{ pageId: kit.offerIds[1], weight: 1 }] },
        },
      ],
      actions: [],
    });
    await vi.waitFor(async () => expect(await pageOf(host, kit.funnelId)).toBe("offer-b"), {
      timeout: 5_000,
      interval: 200,
    });
  });
});
