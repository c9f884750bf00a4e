import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ConditionRoute,
  type FunnelGraph,
  type FunnelNode,
  localWeekdayHour,
  mulberry32,
  type NodeConfig,
  type Rule,
  resolveAction,
  resolveFromNode,
  ruleMatches,
  type VisitContext,
  validateFunnel,
  weightedPick,
} from "../src/index.ts";

const node = (id: string, config: NodeConfig, name = id): FunnelNode => ({ id, name, config });
const page = (pageId: string, weight = 1) => ({ pageId, weight });

function graph(nodes: FunnelNode[], extra: Partial<FunnelGraph> = {}): FunnelGraph {
  return {
    id: "f1",
    workspaceId: "w1",
    entryNodeId: "entry",
    timeZone: "UTC",
    nodes: Object.fromEntries(nodes.map((n) => [n.id, n])),
    actions: {},
    ...extra,
  };
}

// 2024-01-01 was a Monday; 10:30 UTC.
const MONDAY_1030_UTC = Date.UTC(2024, 0, 1, 10, 30);

const ctx = (over: Partial<VisitContext> = {}): VisitContext => ({
  country: "US",
  device: "mobile",
  os: "Android",
  browser: "Chrome",
  language: "en-US",
  ip: "203.0.113.7",
  query: { src: "fb", kw: "Shoes" },
  now: MONDAY_1030_UTC,
  ...over,
});

const rule = (field: Rule["field"], values: string[], op: Rule["op"] = "in", param?: string): Rule =>
  param === undefined ? { field, op, values } : { field, op, values, param };

describe("ruleMatches", () => {
  it.each<[string, Rule, Partial<VisitContext>, string, boolean]>([
    ["country in", rule("country", ["us", "CA"]), {}, "UTC", true],
    ["country not in", rule("country", ["DE"]), {}, "UTC", false],
    ["country not_in", rule("country", ["DE"], "not_in"), {}, "UTC", true],
    ["country unknown, in", rule("country", ["US"]), { country: null }, "UTC", false],
    ["country unknown, not_in", rule("country", ["US"], "not_in"), { country: null }, "UTC", true],
    ["device", rule("device", ["Mobile"]), {}, "UTC", true],
    ["device other", rule("device", ["desktop"]), {}, "UTC", false],
    ["os", rule("os", ["android", "ios"]), {}, "UTC", true],
    ["browser", rule("browser", ["safari"]), {}, "UTC", false],
    ["browser not_in", rule("browser", ["safari"], "not_in"), {}, "UTC", true],
    ["language primary subtag", rule("language", ["en"]), {}, "UTC", true],
    ["language exact", rule("language", ["en-us"]), {}, "UTC", true],
    ["language other region", rule("language", ["en-GB"]), {}, "UTC", false],
    ["language other", rule("language", ["de"]), {}, "UTC", false],
    ["language underscore", rule("language", ["pt-BR"]), { language: "pt_BR" }, "UTC", true],
    ["language header", rule("language", ["fr"]), { language: "fr-CA,fr;q=0.9,en;q=0.8" }, "UTC", true],
    ["language unknown", rule("language", ["en"]), { language: null }, "UTC", false],
    ["ip in v4 CIDR", rule("ip", ["203.0.113.0/24"]), {}, "UTC", true],
    ["ip outside v4 CIDR", rule("ip", ["198.51.100.0/24"]), {}, "UTC", false],
    ["ip single address", rule("ip", ["203.0.113.7"]), {}, "UTC", true],
    ["ip v4-mapped v6 in v4 CIDR", rule("ip", ["203.0.113.0/24"]), { ip: "::ffff:203.0.113.9" }, "UTC", true],
    ["ip v4 in mapped v6 CIDR", rule("ip", ["::ffff:203.0.113.0/120"]), {}, "UTC", true],
    ["ip v6 in v6 CIDR", rule("ip", ["2001:db8::/32"]), { ip: "2001:db8:1::5" }, "UTC", true],
    ["ip v6 outside", rule("ip", ["2001:db8::/32"]), { ip: "2001:db9::1" }, "UTC", false],
    ["ip v6 single", rule("ip", ["2001:DB8::1"]), { ip: "2001:db8:0:0:0:0:0:1" }, "UTC", true],
    ["ip v6 vs v4 range", rule("ip", ["10.0.0.0/8"]), { ip: "2001:db8::1" }, "UTC", false],
    ["ip not_in", rule("ip", ["10.0.0.0/8"], "not_in"), {}, "UTC", true],
    ["ip bad rule value is skipped", rule("ip", ["nope", "203.0.113.0/24"]), {}, "UTC", true],
    ["ip garbage visitor address", rule("ip", ["0.0.0.0/0"]), { ip: "garbage" }, "UTC", false],
    ["ip unknown", rule("ip", ["0.0.0.0/0"]), { ip: null }, "UTC", false],
    ["weekday UTC", rule("weekday", ["mon"]), {}, "UTC", true],
    ["weekday UTC, other day", rule("weekday", ["sat", "sun"]), {}, "UTC", false],
    // 10:30 UTC Monday is 05:30 Monday in New York and 20:30 Monday in Sydney; 02:00 UTC is Sunday in LA.
    [
      "weekday in zone",
      rule("weekday", ["Sun"]),
      { now: Date.UTC(2024, 0, 1, 2) },
      "America/Los_Angeles",
      true,
    ],
    [
      "weekday in zone, UTC day",
      rule("weekday", ["mon"]),
      { now: Date.UTC(2024, 0, 1, 2) },
      "America/Los_Angeles",
      false,
    ],
    ["hour UTC", rule("hour", ["10"]), {}, "UTC", true],
    ["hour in zone", rule("hour", ["5"]), {}, "America/New_York", true],
    ["hour in zone, leading zero", rule("hour", ["05"]), {}, "America/New_York", true],
    ["hour in zone east", rule("hour", ["21"]), {}, "Australia/Sydney", true],
    ["hour midnight is 0", rule("hour", ["0"]), { now: Date.UTC(2024, 0, 1, 0, 5) }, "UTC", true],
    ["hour other", rule("hour", ["11", "12"]), {}, "UTC", false],
    ["hour not_in", rule("hour", ["11"], "not_in"), {}, "UTC", true],
    ["bad time zone falls back to UTC", rule("hour", ["10"]), {}, "Mars/Base", true],
    ["query", rule("query", ["fb", "tt"], "in", "src"), {}, "UTC", true],
    ["query is case-sensitive", rule("query", ["shoes"], "in", "kw"), {}, "UTC", false],
    ["query missing parameter", rule("query", ["x"], "in", "nope"), {}, "UTC", false],
    ["query missing parameter, not_in", rule("query", ["x"], "not_in", "nope"), {}, "UTC", true],
    ["query rule without param", rule("query", ["fb"]), {}, "UTC", false],
    ["query prototype key", rule("query", ["x"], "in", "constructor"), {}, "UTC", false],
    ["no values, in", rule("country", []), {}, "UTC", false],
    ["no values, not_in", rule("country", [], "not_in"), {}, "UTC", true],
  ])("%s", (_name, r, over, timeZone, expected) => {
    expect(ruleMatches(r, ctx(over), timeZone)).toBe(expected);
  });

  it("reads weekday and hour in the funnel's zone", () => {
    expect(localWeekdayHour(MONDAY_1030_UTC, "Asia/Tokyo")).toEqual({ weekday: "mon", hour: 19 });
    expect(localWeekdayHour(Date.UTC(2024, 0, 6, 23, 59), "UTC")).toEqual({ weekday: "sat", hour: 23 });
  });
});

describe("resolveFromNode", () => {
  const cond = (routes: ConditionRoute[], defaultTo = "offerDefault"): NodeConfig => ({
    kind: "condition",
    routes,
    defaultTo,
  });
  const pages = (kind: "lander" | "offer", ...ids: string[]): NodeConfig => ({
    kind,
    pages: ids.map((id) => page(id)),
  });

  const g = graph([
    node("entry", { kind: "entry", routes: [{ to: "geo", weight: 1 }] }),
    node(
      "geo",
      cond([
        { match: "all", rules: [rule("country", ["US"]), rule("device", ["mobile"])], to: "usMobile" },
        { match: "any", rules: [rule("country", ["DE"]), rule("language", ["de"])], to: "german" },
      ]),
    ),
    node("usMobile", { kind: "rotator", routes: [{ to: "lander", weight: 1 }] }),
    node("lander", pages("lander", "L1")),
    node("german", pages("offer", "DE1")),
    node("offerDefault", pages("offer", "O1")),
    node("ext", { kind: "external", url: "https://elsewhere.example/?h={hit}" }),
  ]);

  it.each<[string, string, Partial<VisitContext>, { node: string; pageId: string | null; via: string[] }]>([
    ["all rules match", "entry", {}, { node: "lander", pageId: "L1", via: ["entry", "geo", "usMobile"] }],
    [
      "all: one rule fails → next route",
      "entry",
      { device: "desktop" },
      { node: "offerDefault", pageId: "O1", via: ["entry", "geo"] },
    ],
    [
      "any: one rule matches",
      "entry",
      { country: "AT", language: "de-AT" },
      { node: "german", pageId: "DE1", via: ["entry", "geo"] },
    ],
    [
      "first matching route wins",
      "entry",
      { country: "DE", device: "mobile" },
      { node: "german", pageId: "DE1", via: ["entry", "geo"] },
    ],
    [
      "nothing matches → default",
      "entry",
      { country: "FR", language: "fr" },
      { node: "offerDefault", pageId: "O1", via: ["entry", "geo"] },
    ],
    ["starting on a page node", "lander", {}, { node: "lander", pageId: "L1", via: [] }],
  ])("%s", (_name, from, over, expected) => {
    const r = resolveFromNode(g, from, ctx(over), mulberry32(1));
    expect(r).toMatchObject({
      ok: true,
      node: { id: expected.node },
      pageId: expected.pageId,
      url: null,
      via: expected.via,
    });
  });

  it("returns an external node's URL", () => {
    expect(resolveFromNode(g, "ext", ctx(), mulberry32(1))).toMatchObject({
      ok: true,
      pageId: null,
      url: "https://elsewhere.example/?h={hit}",
    });
  });

  it.each<[string, FunnelGraph, string]>([
    ["missing start node", g, "node nope does not exist in funnel f1"],
    [
      "route to a missing node",
      graph([node("entry", { kind: "entry", routes: [{ to: "gone", weight: 1 }] })]),
      "node gone does not exist in funnel f1 (reached from node entry)",
    ],
    [
      "rotator with zero weights",
      graph([node("entry", { kind: "rotator", routes: [{ to: "x", weight: 0 }] }, "Split")]),
      "node 'Split' (entry) has no route with a weight above 0",
    ],
    [
      "offer with no page",
      graph([
        node("entry", { kind: "entry", routes: [{ to: "o", weight: 1 }] }),
        node("o", { kind: "offer", pages: [] }, ""),
      ]),
      "node o has no page with a weight above 0",
    ],
    [
      "a loop",
      graph([
        node("entry", { kind: "entry", routes: [{ to: "a", weight: 1 }] }),
        node("a", { kind: "rotator", routes: [{ to: "b", weight: 1 }] }, "A"),
        node("b", { kind: "condition", routes: [], defaultTo: "a" }, "B"),
      ]),
      "routing loop at node 'A' (a)",
    ],
  ])("%s", (_name, funnel, reason) => {
    const from = funnel === g ? "nope" : "entry";
    expect(resolveFromNode(funnel, from, ctx(), mulberry32(1))).toEqual({ ok: false, reason });
  });

  it("gives up after 32 routing steps", () => {
    const chain = Array.from({ length: 40 }, (_, i) =>
      node(i === 0 ? "entry" : `r${i}`, { kind: "rotator", routes: [{ to: `r${i + 1}`, weight: 1 }] }),
    );
    expect(resolveFromNode(graph(chain), "entry", ctx(), mulberry32(1))).toEqual({
      ok: false,
      reason: "no page reached after 32 routing steps",
    });
  });

  it("splits a 70/30 rotator within ±2% over 10,000 visits", () => {
    const split = graph([
      node("entry", {
        kind: "entry",
        routes: [
          { to: "a", weight: 70 },
          { to: "b", weight: 30 },
        ],
      }),
      node("a", { kind: "offer", pages: [page("A")] }),
      node("b", { kind: "offer", pages: [page("B")] }),
    ]);
    const rng = mulberry32(42);
    let a = 0;
    for (let i = 0; i < 10_000; i++) {
      const r = resolveFromNode(split, "entry", ctx(), rng);
      if (r.ok && r.pageId === "A") a++;
    }
    expect(Math.abs(a / 10_000 - 0.7)).toBeLessThanOrEqual(0.02);
  });

  it("picks pages of a node by weight", () => {
    const offer = graph([
      node("entry", { kind: "offer", pages: [page("P1", 1), page("P2", 3), page("P0", 0)] }),
    ]);
    const rng = mulberry32(7);
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const r = resolveFromNode(offer, "entry", ctx(), rng);
      if (r.ok && r.pageId !== null) counts.set(r.pageId, (counts.get(r.pageId) ?? 0) + 1);
    }
    expect((counts.get("P2") ?? 0) / 10_000).toBeCloseTo(0.75, 1);
    expect(counts.has("P0")).toBe(false);
  });
});

describe("weightedPick and mulberry32", () => {
  it("is deterministic for a seed and stays in [0, 1)", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x >= 0 && x < 1).toBe(true);
    }
    expect(mulberry32(1)()).not.toBe(mulberry32(2)());
  });

  it.each<[string, Array<{ id: string; weight: number }>, number, string | null]>([
    ["empty", [], 0.5, null],
    ["all zero", [{ id: "a", weight: 0 }], 0.5, null],
    [
      "negative and NaN ignored",
      [
        { id: "a", weight: -5 },
        { id: "b", weight: Number.NaN },
        { id: "c", weight: 1 },
      ],
      0,
      "c",
    ],
    [
      "low end",
      [
        { id: "a", weight: 1 },
        { id: "b", weight: 1 },
      ],
      0,
      "a",
    ],
    [
      "boundary",
      [
        { id: "a", weight: 1 },
        { id: "b", weight: 1 },
      ],
      0.5,
      "b",
    ],
    [
      "rng of 1 (out of contract) still picks",
      [
        { id: "a", weight: 1 },
        { id: "b", weight: 1 },
        { id: "z", weight: 0 },
      ],
      1,
      "b",
    ],
    [
      "zero weight is never picked",
      [
        { id: "a", weight: 0 },
        { id: "b", weight: 2 },
      ],
      0,
      "b",
    ],
  ])("%s", (_name, items, r, expected) => {
    expect(weightedPick(items, () => r)?.id ?? null).toBe(expected);
  });

  it("only ever picks positive weights", () => {
    const items = fc.array(fc.record({ id: fc.nat(), weight: fc.oneof(fc.double(), fc.nat()) }), {
      maxLength: 10,
    });
    fc.assert(
      fc.property(items, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (list, r) => {
        const picked = weightedPick(list, () => r);
        const positive = list.filter((x) => Number.isFinite(x.weight) && x.weight > 0);
        if (positive.length === 0) expect(picked).toBeNull();
        else expect(picked !== null && positive.includes(picked)).toBe(true);
      }),
    );
  });
});

describe("resolveAction", () => {
  const g = graph(
    [
      node("entry", { kind: "entry", routes: [{ to: "lander", weight: 1 }] }),
      node("lander", { kind: "lander", pages: [page("L")] }, "Quiz"),
      node("offer", { kind: "offer", pages: [page("O")] }),
    ],
    {
      actions: {
        lander: {
          1: { from: "lander", number: 1, to: "offer", triggers: {} },
          2: { from: "lander", number: 2, to: "gone", triggers: {} },
        },
        entry: { 1: { from: "entry", number: 1, to: "offer", triggers: {} } },
      },
    },
  );

  it.each<[string, string, number, { to: string } | string]>([
    ["action 1", "lander", 1, { to: "offer" }],
    ["unknown number", "lander", 3, "node 'Quiz' (lander) has no action 3"],
    ["not a whole number", "lander", 1.5, "node 'Quiz' (lander) has no action 1.5"],
    ["leads to a missing node", "lander", 2, "action 2 of node 'Quiz' (lander) leads to missing node gone"],
    ["from a node with no actions", "offer", 1, "node 'offer' (offer) has no action 1"],
    ["from a missing node", "nope", 1, "node nope does not exist in funnel f1"],
    [
      "from a routing node",
      "entry",
      1,
      "node 'entry' (entry) is a entry node; actions start on landers and offers",
    ],
  ])("%s", (_name, from, n, expected) => {
    const r = resolveAction(g, from, n);
    if (typeof expected === "string") expect(r).toEqual({ ok: false, reason: expected });
    else expect(r).toMatchObject({ ok: true, action: expected });
  });
});

describe("validateFunnel", () => {
  const good = graph(
    [
      node("entry", { kind: "entry", routes: [{ to: "geo", weight: 1 }] }),
      node("geo", {
        kind: "condition",
        routes: [{ match: "all", rules: [rule("ip", ["10.0.0.0/8", "2001:db8::1"])], to: "lander" }],
        defaultTo: "lander",
      }),
      node("lander", { kind: "lander", pages: [page("L")] }),
      node("offer", { kind: "offer", pages: [page("O")] }),
      node("ext", { kind: "external", url: "https://x.example/{hit}" }),
    ],
    {
      timeZone: "Europe/Berlin",
      actions: {
        lander: {
          1: { from: "lander", number: 1, to: "offer", triggers: { conversion: { revenue: "1.5" } } },
          2: { from: "lander", number: 2, to: "ext", triggers: { events: [{ eventTypeId: "ev1" }] } },
        },
      },
    },
  );

  it("finds nothing wrong with a sound funnel", () => {
    expect(validateFunnel(good)).toEqual([]);
  });

  const withNodes = (...nodes: FunnelNode[]): FunnelGraph => ({
    ...good,
    nodes: { ...good.nodes, ...Object.fromEntries(nodes.map((n) => [n.id, n])) },
  });

  it.each<[string, FunnelGraph, Array<{ nodeId: string | null; message: string }>]>([
    ["no entry", { ...good, entryNodeId: "" }, [{ nodeId: null, message: "funnel has no entry node" }]],
    [
      "entry missing",
      { ...good, entryNodeId: "gone" },
      [{ nodeId: null, message: "funnel has no entry node" }],
    ],
    [
      "entry of the wrong kind",
      { ...good, entryNodeId: "lander" },
      [
        {
          nodeId: "lander",
          message: "node 'lander': the funnel starts here, so it must be an entry node",
        },
      ],
    ],
    [
      "bad time zone",
      { ...good, timeZone: "Mars/Base" },
      [{ nodeId: null, message: "time zone 'Mars/Base' is unknown" }],
    ],
    [
      "dangling route",
      withNodes(node("entry", { kind: "entry", routes: [{ to: "gone", weight: 1 }] }, "Traffic")),
      [{ nodeId: "entry", message: "node 'Traffic': route 1 leads to missing node gone" }],
    ],
    [
      "weights all zero",
      withNodes(node("entry", { kind: "entry", routes: [{ to: "lander", weight: 0 }] })),
      [{ nodeId: "entry", message: "node 'entry': all route weights are 0" }],
    ],
    [
      "negative weight",
      withNodes(
        node("entry", {
          kind: "entry",
          routes: [
            { to: "lander", weight: -1 },
            { to: "offer", weight: 1 },
          ],
        }),
      ),
      [{ nodeId: "entry", message: "node 'entry': route 1 has weight -1" }],
    ],
    [
      "no routes",
      withNodes(node("entry", { kind: "entry", routes: [] })),
      [{ nodeId: "entry", message: "node 'entry': has no route" }],
    ],
    [
      "lander with no page",
      withNodes(node("lander", { kind: "lander", pages: [] }, "Quiz")),
      [{ nodeId: "lander", message: "node 'Quiz': lander node has no page" }],
    ],
    [
      "offer pages all weight 0",
      withNodes(node("offer", { kind: "offer", pages: [page("O", 0)] })),
      [{ nodeId: "offer", message: "node 'offer': all page weights are 0" }],
    ],
    [
      "condition without default",
      withNodes(
        node("geo", {
          kind: "condition",
          routes: [{ match: "any", rules: [rule("country", ["US"])], to: "lander" }],
          defaultTo: "",
        }),
      ),
      [{ nodeId: "geo", message: "node 'geo': has no default route" }],
    ],
    [
      "condition default dangling",
      withNodes(node("geo", { kind: "condition", routes: [], defaultTo: "gone" })),
      [{ nodeId: "geo", message: "node 'geo': default route leads to missing node gone" }],
    ],
    [
      "bad rules",
      withNodes(
        node("geo", {
          kind: "condition",
          routes: [
            {
              match: "all",
              rules: [
                rule("weekday", ["monday"]),
                rule("hour", ["24", "9"]),
                rule("ip", ["10.0.0.0/33", "1.2.3"]),
                rule("query", ["x"]),
                rule("country", []),
              ],
              to: "lander",
            },
            { match: "any", rules: [], to: "offer" },
          ],
          defaultTo: "lander",
        }),
      ),
      [
        "route 1: weekday 'monday' is not one of mon, tue, wed, thu, fri, sat, sun",
        "route 1: hour '24' is not a whole hour from 0 to 23",
        "route 1: '10.0.0.0/33' is not an IP address or CIDR range",
        "route 1: '1.2.3' is not an IP address or CIDR range",
        "route 1: query rule names no parameter",
        "route 1: country rule has no values",
        "route 2 has no rules",
      ].map((m) => ({ nodeId: "geo", message: `node 'geo': ${m}` })),
    ],
    [
      "external without a URL",
      withNodes(node("ext", { kind: "external", url: "" })),
      [{ nodeId: "ext", message: "node 'ext': URL '' is not an http(s) URL" }],
    ],
    [
      "a cycle of routing nodes",
      withNodes(
        node("entry", { kind: "entry", routes: [{ to: "r1", weight: 1 }] }),
        node("r1", { kind: "rotator", routes: [{ to: "r2", weight: 1 }] }, "Split A"),
        node("r2", { kind: "condition", routes: [], defaultTo: "r1" }, "Split B"),
      ),
      [
        { nodeId: "r1", message: "routing loop that never reaches a page: Split A → Split B → Split A" },
        { nodeId: "entry", message: "node 'entry': no route from here reaches a page" },
      ],
    ],
    [
      "a dangling action",
      { ...good, actions: { lander: { 1: { from: "lander", number: 1, to: "gone", triggers: {} } } } },
      [{ nodeId: "lander", message: "node 'lander': action 1 leads to missing node gone" }],
    ],
    [
      "actions on a routing node, with a bad revenue",
      {
        ...good,
        actions: {
          entry: {
            1: { from: "entry", number: 1, to: "offer", triggers: { conversion: { revenue: "abc" } } },
          },
        },
      },
      [
        {
          nodeId: "entry",
          message: "node 'entry': is a entry node; actions start on landers and offers",
        },
        {
          nodeId: "entry",
          message: "node 'entry': action 1: conversion revenue 'abc' is not a number",
        },
      ],
    ],
    [
      "an action from a missing node",
      { ...good, actions: { gone: { 1: { from: "gone", number: 1, to: "offer", triggers: {} } } } },
      [{ nodeId: "gone", message: "some actions start at a node that is not in the funnel" }],
    ],
  ])("%s", (_name, funnel, problems) => {
    expect(validateFunnel(funnel)).toEqual(problems);
  });
});
