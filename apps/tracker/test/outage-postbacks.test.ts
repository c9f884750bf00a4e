import { and, asc, eq, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { TrackerHarness } from "./harness.ts";
import { enter, location } from "./support/clicks.ts";
import { createCutOffHarness } from "./support/cut-off.ts";
import type { TcpProxy } from "./support/tcp-proxy.ts";

// Issue 17: a postback received while PostgreSQL is down is answered 202 queued, and once the
// database is back the spooled postbacks leave exactly what the same postbacks leave without an
// outage: same-tx updates, rejections, repeats without tx, pending statuses, concurrent duplicates.

let h: TrackerHarness;
let proxy: TcpProxy;
beforeAll(async () => {
  ({ h, proxy } = await createCutOffHarness());
});
afterAll(async () => {
  await h?.close();
  await proxy?.close();
});

type Step = { hit: number; tx?: string; rev?: string; status?: string };

// One list of postbacks per identity kind the seed names; `together` steps are sent at once.
const SCRIPT: Array<Step | { together: Step[] }> = [
  { hit: 0, tx: "a", rev: "5" },
  { hit: 0, tx: "a", rev: "7" },
  { hit: 1, tx: "b", rev: "3" },
  { hit: 1, tx: "b", status: "rejected" },
  { hit: 2, rev: "2" },
  { hit: 2, rev: "4" },
  { hit: 3, tx: "c", rev: "9", status: "pending" },
  { hit: 3, tx: "c", rev: "9", status: "approved" },
  { hit: 1, tx: "e", rev: "-1" },
  { together: Array.from({ length: 5 }, () => ({ hit: 0, tx: "d", rev: "6" })) },
];

async function tenantWithHits() {
  const { workspaceId, host, kit } = await h.tenant();
  const hits: string[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId, external: `x${i}` } });
    hits.push(String(location(res).searchParams.get("hit")));
  }
  return { workspaceId, host, hits };
}

async function run(host: string, hits: string[]): Promise<number[]> {
  const send = async (s: Step) => {
    const q = new URLSearchParams({ hit: hits[s.hit] as string });
    if (s.tx) q.set("tx", s.tx);
    if (s.rev) q.set("rev", s.rev);
    if (s.status) q.set("status", s.status);
    const res = await h.app.inject({ method: "GET", url: `/pb/?${q}`, headers: { host } });
    return res.statusCode;
  };
  const statuses: number[] = [];
  for (const step of SCRIPT) {
    if ("together" in step) statuses.push(...(await Promise.all(step.together.map(send))));
    else statuses.push(await send(step));
  }
  return statuses;
}

/** The conversions of a workspace by (hit position, tx), as a report and the traffic source see them. */
async function stored(workspaceId: string, hits: string[]) {
  const c = schema.conversions;
  const rows = await h.t.db
    .select({ hitId: c.hitId, tx: c.tx, revenue: c.revenue, status: c.status, deleted: c.deletedAt })
    .from(c)
    .where(and(eq(c.workspaceId, workspaceId), eq(c.eventKey, "")))
    .orderBy(asc(c.tx));
  return rows
    .map((r) => ({
      hit: hits.indexOf(r.hitId),
      tx: r.tx,
      revenue: Number(r.revenue),
      status: r.status,
      deleted: r.deleted !== null,
    }))
    .sort((a, b) => a.hit - b.hit || a.tx.localeCompare(b.tx));
}

describe("postbacks during a PostgreSQL outage", () => {
  it("are answered 202 queued, then applied in arrival order to exactly the result of no outage", async () => {
    const control = await tenantWithHits();
    const outage = await tenantWithHits();

    const controlStatuses = await run(control.host, control.hits);
    expect(controlStatuses.every((s) => s === 200)).toBe(true);

    proxy.cut();
    const outageStatuses = await run(outage.host, outage.hits);
    // Every postback acknowledged (the first may still see the cut as a failed batch: 202 too).
    expect(outageStatuses.every((s) => s === 202)).toBe(true);
    const spool = `${h.deps.prefix}:spool:conversions`;
    expect(await h.redis.xlen(spool)).toBe(outageStatuses.length);
    expect(await stored(outage.workspaceId, outage.hits)).toEqual([]);

    proxy.restore();
    await vi.waitFor(async () => expect(await h.redis.xlen(spool)).toBe(0), {
      timeout: 20_000,
      interval: 100,
    });

    const expected = await stored(control.workspaceId, control.hits);
    expect(expected.length).toBeGreaterThan(0);
    expect(await stored(outage.workspaceId, outage.hits)).toEqual(expected);
    // Each spooled postback is in the log once, as each direct one is.
    const logged = async (workspaceId: string) =>
      (
        await h.t.db
          .select({ id: schema.receivedPostbacks.id })
          .from(schema.receivedPostbacks)
          .where(eq(schema.receivedPostbacks.workspaceId, workspaceId))
      ).length;
    expect(await logged(outage.workspaceId)).toBe(await logged(control.workspaceId));
  }, 60_000);
});
