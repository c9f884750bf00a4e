import { createApiKey, idTime, newIdAt, recomputeRollups } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./harness.ts";

// A late postback: the visit two days ago, the sale (with the network's `ts`) today. Reports credit
// it on the visit's day by default and on today's when asked to credit at conversion time; both
// agree with the raw rows, and the totals never change with the mode.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe("reports.run creditAt", () => {
  it("credits a late conversion at the visit's time by default and at the conversion's time on request", async () => {
    const { workspace } = await factories.workspace(h.t.db);
    const kit = await factories.campaign(h.t.db, workspace.id);
    const now = Date.now();
    const visitAt = now - 2 * DAY;
    const visitorId = newIdAt(visitAt);
    const lander = newIdAt(visitAt);
    const offer = newIdAt(visitAt + 1000);
    const hit = (id: string, node: "lander" | "offerA", prevHitId: string | null) => ({
      id,
      workspaceId: workspace.id,
      visitorId,
      funnelId: kit.funnelId,
      nodeId: kit.nodes[node],
      pageId: node === "lander" ? kit.landerId : kit.offerIds[0],
      pageKind: node === "lander" ? ("lander" as const) : ("offer" as const),
      trafficSourceId: kit.trafficSourceId,
      prevHitId,
      country: "DE",
      createdAt: new Date(idTime(id)),
    });
    await h.t.db.insert(schema.hits).values([hit(lander, "lander", null), hit(offer, "offerA", lander)]);
    const [conversion] = await h.t.db
      .insert(schema.conversions)
      .values({
        workspaceId: workspace.id,
        hitId: offer,
        revenue: "42",
        status: "approved",
        visitorId,
        funnelId: kit.funnelId,
        nodeId: kit.nodes.offerA,
        pageId: kit.offerIds[0],
        pageKind: "offer",
        trafficSourceId: kit.trafficSourceId,
        hitAt: new Date(idTime(offer)),
        convertedAt: new Date(now - 60_000),
      })
      .returning();
    if (!conversion) throw new Error("no conversion");
    await h.t.db.insert(schema.touches).values({
      workspaceId: workspace.id,
      conversionId: conversion.id,
      hitId: lander,
      funnelId: kit.funnelId,
      nodeId: kit.nodes.lander,
      pageId: kit.landerId,
      kind: "assisted",
      position: 0,
      hitAt: new Date(idTime(lander)),
    });
    await recomputeRollups(h.t.db, {
      workspaceId: workspace.id,
      from: new Date(now - 3 * DAY),
      to: new Date(now),
    });
    const { key } = await createApiKey(h.t.db, { workspaceId: workspace.id, name: "r", role: "viewer" });
    const client = h.client({ key });
    const range = { workspaceId: workspace.id, from: day(now - 3 * DAY), to: day(now) };

    const byDay = async (creditAt?: "visit" | "conversion") => {
      const r = await client.reports.run.query({
        ...range,
        groupBy: ["day"],
        ...(creditAt ? { creditAt } : {}),
      });
      return {
        rows: Object.fromEntries(
          r.rows.map((x) => [
            x.key.day,
            [x.metrics.visits, x.metrics.direct?.conversions, x.metrics.direct?.revenue],
          ]),
        ),
        totals: r.totals,
        notes: r.notes,
      };
    };
    const atVisit = await byDay();
    // One visitor's journey (lander, then offer) is one visit.
    expect(atVisit.rows).toEqual({ [day(visitAt)]: [1, 1, "42"] });
    const atConversion = await byDay("conversion");
    expect(atConversion.rows).toEqual({ [day(visitAt)]: [1, 0, "0"], [day(now)]: [0, 1, "42"] });
    expect(atConversion.notes.join(" ")).toMatch(/credited at the time they happened/);
    expect(atConversion.totals).toEqual(atVisit.totals);

    // Split by node: direct on the offer, assisted on the lander, in both modes; and by country.
    const byNode = await client.reports.run.query({
      ...range,
      groupBy: ["node", "country"],
      creditAt: "conversion",
    });
    const credit = Object.fromEntries(
      byNode.rows.map((x) => [
        `${x.key.node}/${x.key.country}`,
        [x.metrics.direct?.revenue, x.metrics.assisted?.revenue],
      ]),
    );
    expect(credit).toEqual({
      [`${kit.nodes.offerA}/DE`]: ["42", "0"],
      [`${kit.nodes.lander}/DE`]: ["0", "42"],
    });

    // A rejection takes it out of both.
    await h.t.db.update(schema.conversions).set({ deletedAt: new Date(), status: "rejected" });
    await recomputeRollups(h.t.db, {
      workspaceId: workspace.id,
      from: new Date(now - 3 * DAY),
      to: new Date(now),
    });
    expect((await byDay()).totals.direct).toEqual({ conversions: 0, revenue: "0" });
    expect((await byDay("conversion")).totals.direct).toEqual({ conversions: 0, revenue: "0" });
  });
});
