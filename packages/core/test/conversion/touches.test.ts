import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildTouches, type ChainHit, MAX_ATTRIBUTION_STEPS, type PageKind } from "../../src/index.ts";

function h(hitId: string, prevHitId: string | null, pageKind: PageKind, funnelId = "f1"): ChainHit {
  const pageId = pageKind === "lander" || pageKind === "offer" ? `page-${hitId}` : null;
  return { hitId, prevHitId, nodeId: `node-${hitId}`, pageId, pageKind, funnelId, at: 0 };
}

const summary = (chain: ChainHit[], converting: string) =>
  buildTouches(chain, converting).map((t) => `${t.position}:${t.kind}:${t.hitId}`);

describe("buildTouches", () => {
  it.each<[string, ChainHit[], string, string[]]>([
    ["a lone hit", [h("o", null, "offer")], "o", ["0:direct:o"]],
    [
      "entry → lander → offer: the lander assists, the entry is not a page",
      [h("o", "l", "offer"), h("l", "e", "lander"), h("e", null, "none")],
      "o",
      ["0:direct:o", "1:assisted:l"],
    ],
    [
      "input order does not matter",
      [h("e", null, "none"), h("l1", "e", "lander"), h("o", "l2", "offer"), h("l2", "l1", "lander")],
      "o",
      ["0:direct:o", "1:assisted:l2", "2:assisted:l1"],
    ],
    [
      "an earlier offer (upsell path) assists",
      [h("o2", "o1", "offer"), h("o1", "l", "offer"), h("l", null, "lander")],
      "o2",
      ["0:direct:o2", "1:assisted:o1", "2:assisted:l"],
    ],
    [
      "conversion on a lander",
      [h("l2", "l1", "lander"), h("l1", null, "lander")],
      "l2",
      ["0:direct:l2", "1:assisted:l1"],
    ],
    [
      "rotator/condition and external hits are walked through, not credited",
      [h("o", "r", "offer"), h("r", "x", "none"), h("x", "l", "external"), h("l", null, "lander")],
      "o",
      ["0:direct:o", "1:assisted:l"],
    ],
    [
      "another funnel's pages are not credited",
      [h("o", "l", "offer"), h("l", "other", "lander"), h("other", null, "lander", "f2")],
      "o",
      ["0:direct:o", "1:assisted:l"],
    ],
    [
      "a missing link ends the walk",
      [h("o", "l", "offer"), h("l", "gone", "lander"), h("unlinked", null, "lander")],
      "o",
      ["0:direct:o", "1:assisted:l"],
    ],
    [
      "a cycle ends the walk",
      [h("o", "l", "offer"), h("l", "o", "lander")],
      "o",
      ["0:direct:o", "1:assisted:l"],
    ],
    ["a self-loop ends the walk", [h("o", "o", "offer")], "o", ["0:direct:o"]],
    [
      "a repeated hit is counted once",
      [h("o", "l", "offer"), h("l", null, "lander"), h("l", null, "lander"), h("o", "l", "offer")],
      "o",
      ["0:direct:o", "1:assisted:l"],
    ],
    ["the converting hit is not in the chain", [h("l", null, "lander")], "o", []],
    ["an empty chain", [], "o", []],
  ])("%s", (_name, chain, converting, expected) => {
    expect(summary(chain, converting)).toEqual(expected);
  });

  it("keeps the hit's details on every touch", () => {
    const [direct, assisted] = buildTouches([h("o", "l", "offer"), h("l", null, "lander")], "o");
    expect(direct).toEqual({
      hitId: "o",
      nodeId: "node-o",
      pageId: "page-o",
      pageKind: "offer",
      funnelId: "f1",
      at: 0,
      kind: "direct",
      position: 0,
    });
    expect(assisted).toMatchObject({ hitId: "l", pageKind: "lander", kind: "assisted", position: 1 });
  });

  it(`stops after ${MAX_ATTRIBUTION_STEPS} steps back`, () => {
    const chain = Array.from({ length: 200 }, (_, i) => h(`h${i}`, i === 199 ? null : `h${i + 1}`, "lander"));
    const touches = buildTouches(chain, "h0");
    expect(touches).toHaveLength(MAX_ATTRIBUTION_STEPS + 1);
    expect(touches.at(-1)?.hitId).toBe(`h${MAX_ATTRIBUTION_STEPS}`);
  });

  it("on any graph: one direct touch first, distinct hits, positions 0..n-1", () => {
    const kinds = fc.constantFrom<PageKind>("lander", "offer", "external", "none");
    const chain = fc.array(
      fc.record({
        id: fc.integer({ min: 0, max: 20 }),
        prev: fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }),
        kind: kinds,
        funnel: fc.constantFrom("f1", "f2"),
      }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(chain, fc.integer({ min: 0, max: 20 }), (rows, start) => {
        const hits = rows.map((r) => h(`h${r.id}`, r.prev === null ? null : `h${r.prev}`, r.kind, r.funnel));
        const touches = buildTouches(hits, `h${start}`);
        if (!hits.some((x) => x.hitId === `h${start}`)) {
          expect(touches).toEqual([]);
          return;
        }
        expect(touches[0]).toMatchObject({ hitId: `h${start}`, kind: "direct", position: 0 });
        expect(new Set(touches.map((t) => t.hitId)).size).toBe(touches.length);
        touches.forEach((t, i) => {
          expect(t.position).toBe(i);
          if (i > 0) expect(t).toMatchObject({ kind: "assisted", funnelId: touches[0]?.funnelId });
        });
      }),
    );
  });
});
