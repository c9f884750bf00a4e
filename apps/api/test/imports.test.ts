import { importLaneOf, runImport, runStoredImport } from "@hitrail/conversions";
import { normalizeMoney } from "@hitrail/core";
import {
  applyConversionRollup,
  conversionRollupDrift,
  createApiKey,
  createDb,
  idTime,
  lockWorkspaceImports,
  newId,
  newIdAt,
  reportConversionsRaw,
} from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { eq, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./harness.ts";

// Conversion import end to end against real PostgreSQL: a file with every kind of row, imported
// twice, and once more into a second workspace with a crash mid-file, with the exact counts, the
// stored conversions and what reports.run shows.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A workspace with three visitors (lander → offer), each from its own traffic-source click id. */
async function world() {
  const { workspace } = await factories.workspace(h.t.db);
  const kit = await factories.campaign(h.t.db, workspace.id);
  const visitAt = Date.now() - 2 * DAY;
  const visitors = [0, 1, 2].map((i) => {
    const at = visitAt + i * 60_000;
    return { vid: newIdAt(at), lander: newIdAt(at), offer: newIdAt(at + 1000), click: `CLK-${i + 1}`, at };
  });
  const rows = visitors.flatMap((v, i) => {
    const base = {
      workspaceId: workspace.id,
      visitorId: v.vid,
      funnelId: kit.funnelId,
      trafficSourceId: kit.trafficSourceId,
      externalId: v.click,
      country: "DE",
      // By zone, reports read the conversions-by-field rollup each batch settles.
      trackingFields: (i === 2 ? {} : { zone: `z${i + 1}` }) as Record<string, string>,
    };
    return [
      {
        ...base,
        id: v.lander,
        nodeId: kit.nodes.lander,
        pageId: kit.landerId,
        pageKind: "lander" as const,
        prevHitId: null,
        createdAt: new Date(idTime(v.lander)),
      },
      {
        ...base,
        id: v.offer,
        nodeId: i === 1 ? kit.nodes.offerB : kit.nodes.offerA,
        pageId: i === 1 ? kit.offerIds[1] : kit.offerIds[0],
        pageKind: "offer" as const,
        prevHitId: v.lander,
        createdAt: new Date(idTime(v.offer)),
      },
    ];
  });
  await h.t.db.insert(schema.hits).values(rows);
  const { key } = await createApiKey(h.t.db, { workspaceId: workspace.id, name: "feeds", role: "member" });
  return { workspace, kit, visitors, visitAt, client: h.client({ key }) };
}

type World = Awaited<ReturnType<typeof world>>;

/** Every kind of row, one per line (line 1 is the header). */
function file(w: World): string {
  const [v1, , v3] = w.visitors as [World["visitors"][0], World["visitors"][0], World["visitors"][0]];
  const lines = [
    "click,ext,visitor,page,txid,payout,state",
    `${v1.offer},,,,A,10,`, // 2: by hit → create 10
    `,CLK-2,,,B,20,`, // 3: by external click id → create 20 on visitor 2's offer
    `,,${v3.vid},${w.kit.offerIds[0]},C,5,`, // 4: by vid + p → create 5
    `${v1.offer},,,,A,15,`, // 5: same hit and tx → update 10 → 15
    `,CLK-2,,,B,,rejected`, // 6: rejected status → delete
    `${newId()},,,,X,3,`, // 7: unknown hit → refused
    `,NOPE,,,Y,3,`, // 8: unknown click id → refused
    `${v1.offer},,,,D,"12,50.7",`, // 9: bad money → refused
    `,,${v3.vid},${w.kit.offerIds[0]},C,5,`, // 10: the same row as line 4 → unchanged
    `${v3.offer},,,,E,-1,`, // 11: rev=-1 with nothing to delete → unchanged
    `${v1.offer},,,,,,pending`, // 12: pending, no tx → create 0.01
  ];
  return `${lines.join("\n")}\n`;
}

const MAPPING = {
  hit: "click",
  external: "ext",
  vid: "visitor",
  p: "page",
  tx: "txid",
  rev: "payout",
  status: "state",
};
const FIRST = { created: 4, updated: 1, deleted: 1, unchanged: 2, refused: 3 };

async function upload(w: World, text: string, name = "feed.csv") {
  const created = await w.client.imports.create.mutate({
    workspaceId: w.workspace.id,
    fileName: name,
    mapping: MAPPING,
  });
  // Two pieces, as the dashboard sends large files.
  const cut = Math.floor(text.length / 2);
  await w.client.imports.upload.mutate({
    workspaceId: w.workspace.id,
    importId: created.id,
    seq: 0,
    data: text.slice(0, cut),
  });
  await w.client.imports.upload.mutate({
    workspaceId: w.workspace.id,
    importId: created.id,
    seq: 1,
    data: text.slice(cut),
  });
  const started = await w.client.imports.start.mutate({ workspaceId: w.workspace.id, importId: created.id });
  expect(started.status).toBe("queued");
  return created.id;
}

/** An import run straight from a CSV source, as the CLI runs one (no upload, no job). */
async function importStreamed(w: World, fileName: string, mapping: Record<string, string>, csv: string) {
  const [created] = await h.t.db
    .insert(schema.conversionImports)
    .values({
      workspaceId: w.workspace.id,
      fileName,
      format: "csv",
      mapping,
      options: { postbacks: false },
      actorLabel: "cli",
    })
    .returning();
  if (!created) throw new Error("no import");
  const { csvSource } = await import("@hitrail/conversions");
  const { Readable } = await import("node:stream");
  return runImport({
    client: h.t.app,
    workspace: { workspaceId: w.workspace.id, currency: "USD", sessionTtlSeconds: 345_600 },
    importId: created.id,
    source: csvSource(Readable.from([Buffer.from(csv)])),
  });
}

async function conversionsOf(workspaceId: string) {
  const rows = await h.t.db
    .select()
    .from(schema.conversions)
    .where(eq(schema.conversions.workspaceId, workspaceId));
  return rows
    .map((c) => ({
      hit: c.hitId,
      tx: c.tx,
      revenue: Number(c.revenue),
      status: c.status,
      deleted: c.deletedAt !== null,
      revision: c.revision,
    }))
    .sort((a, b) => `${a.hit}${a.tx}`.localeCompare(`${b.hit}${b.tx}`));
}

/** The line of the import row a revision's raw request came from. */
const lineOf = (raw: Record<string, unknown>) => (raw.params as { line?: string } | undefined)?.line;

function counts(r: {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  refused: number;
}) {
  const { created, updated, deleted, unchanged, refused } = r;
  return { created, updated, deleted, unchanged, refused };
}

/** The rollups each batch settled against what a rebuild from raw rows would hold: [] when exact. */
async function drift(w: World) {
  return conversionRollupDrift(h.t.db, {
    workspaceId: w.workspace.id,
    from: new Date(w.visitAt - DAY),
    to: new Date(Date.now() + DAY),
  });
}

/**
 * What reports.run shows by zone (from the rollups by field; crossed with country, from the rollups
 * by visit tuple), checked against the same numbers computed from the raw conversions, touches and
 * hits; and the same credited at conversion time (from the rollups at conversion time).
 */
async function byZone(w: World, groupBy: Array<"field:zone" | "country"> = ["field:zone"]) {
  await creditedByZone(w, groupBy, "conversion");
  return creditedByZone(w, groupBy, "visit");
}

async function creditedByZone(
  w: World,
  groupBy: Array<"field:zone" | "country">,
  creditAt: "visit" | "conversion",
) {
  const range = { from: day(w.visitAt - DAY), to: day(Date.now()) };
  const r = await w.client.reports.run.query({ workspaceId: w.workspace.id, ...range, groupBy, creditAt });
  const raw = await reportConversionsRaw(h.t.db, {
    workspaceId: w.workspace.id,
    timeZone: "UTC",
    fromDate: range.from,
    toDate: range.to,
    groupBy,
    creditAt,
  });
  const keyOf = (key: Record<string, string | null>) => groupBy.map((d) => key[d] ?? "(none)").join(" × ");
  const shown = Object.fromEntries(
    r.rows
      .filter((row) => (row.metrics.direct?.conversions ?? 0) + (row.metrics.assisted?.conversions ?? 0) > 0)
      .map((row) => [keyOf(row.key), [row.metrics.direct?.revenue, row.metrics.assisted?.revenue]]),
  );
  const expected = Object.fromEntries(
    raw.map((row) => [
      keyOf(row.key),
      [normalizeMoney(row.directRevenue), normalizeMoney(row.assistedRevenue)],
    ]),
  );
  expect(shown).toEqual(expected);
  return shown;
}

/** What reports.run shows for the file's visits, by node (direct and assisted revenue). */
async function byNode(w: World) {
  const r = await w.client.reports.run.query({
    workspaceId: w.workspace.id,
    from: day(w.visitAt - DAY),
    to: day(Date.now()),
    groupBy: ["node"],
  });
  return Object.fromEntries(
    r.rows.map((row) => [
      row.key.node,
      [row.metrics.direct?.conversions, row.metrics.direct?.revenue, row.metrics.assisted?.revenue],
    ]),
  );
}

describe("conversion import", () => {
  it("previews every kind of row without writing anything", async () => {
    const w = await world();
    const preview = await w.client.imports.preview.mutate({ workspaceId: w.workspace.id, csv: file(w) });
    // No mapping remembered yet: guessed from the header ("click" is a hit id, "payout" the revenue…).
    expect(preview.mappingSource).toBe("guessed");
    expect(preview.mapping).toMatchObject({ hit: "click", rev: "payout", status: "state" });
    const given = await w.client.imports.preview.mutate({
      workspaceId: w.workspace.id,
      csv: file(w),
      mapping: MAPPING,
    });
    expect(given.problem).toBeNull();
    expect(given.rows.map((r) => [r.line, r.outcome])).toEqual([
      [2, "create"],
      [3, "create"],
      [4, "create"],
      [5, "update"],
      [6, "delete"],
      [7, "refuse"],
      [8, "refuse"],
      [9, "refuse"],
      [10, "unchanged"],
      [11, "unchanged"],
      [12, "create"],
    ]);
    const reasons = Object.fromEntries(given.rows.map((r) => [r.line, r.reason]));
    expect(reasons[7]).toMatch(/hit not found/);
    expect(reasons[8]).toMatch(/unknown external click ID 'NOPE'/);
    expect(reasons[9]).toMatch(/^Revenue: rev '12,50.7' is not a number/);
    expect(reasons[10]).toBe("same as line 4");
    expect(given.rows.find((r) => r.line === 5)?.revenue).toBe("15");
    expect(given.rows.find((r) => r.line === 12)?.revenue).toBe("0.01");
    expect(await conversionsOf(w.workspace.id)).toEqual([]);
    // A mapping naming a column the file lacks is a clear problem, by the field's label.
    const bad = await w.client.imports.preview.mutate({
      workspaceId: w.workspace.id,
      csv: file(w),
      mapping: { hit: "nope" },
    });
    expect(bad.problem).toMatch(/^Hit ID: the file has no column 'nope'/);
  });

  it("imports a file with every kind of row, and a second import of it changes nothing", async () => {
    const w = await world();
    const [v1, v2, v3] = w.visitors as [World["visitors"][0], World["visitors"][0], World["visitors"][0]];
    const first = await upload(w, file(w));
    const done = await runStoredImport({
      client: h.t.app,
      workspaceId: w.workspace.id,
      importId: first,
      batchSize: 4,
    });
    expect(done.status).toBe("done");
    expect(done.rowsDone).toBe(11);
    expect(counts(done)).toEqual(FIRST);
    const expected = [
      { hit: v1.offer, tx: "", revenue: 0.01, status: "pending", deleted: false, revision: 1 },
      { hit: v1.offer, tx: "A", revenue: 15, status: "approved", deleted: false, revision: 2 },
      { hit: v2.offer, tx: "B", revenue: 20, status: "rejected", deleted: true, revision: 2 },
      { hit: v3.offer, tx: "C", revenue: 5, status: "approved", deleted: false, revision: 1 },
    ].sort((a, b) => `${a.hit}${a.tx}`.localeCompare(`${b.hit}${b.tx}`));
    expect(await conversionsOf(w.workspace.id)).toEqual(expected);
    // Backward attribution and revisions, as for a postback; no traffic-source postback by default.
    const revisions = await h.t.db
      .select()
      .from(schema.conversionRevisions)
      .where(eq(schema.conversionRevisions.workspaceId, w.workspace.id));
    expect(revisions.map((r) => r.source)).toEqual(Array(6).fill("import"));
    // Each revision's request is its row: the parameters it became, its import and its line.
    expect(revisions.map((r) => r.raw).sort((a, b) => Number(lineOf(a)) - Number(lineOf(b)))).toEqual([
      { params: { hit: v1.offer, tx: "A", rev: "10", import: first, line: "2" } },
      { params: { hit: v2.offer, tx: "B", rev: "20", import: first, line: "3" } },
      { params: { hit: v3.offer, tx: "C", rev: "5", import: first, line: "4" } },
      { params: { hit: v1.offer, tx: "A", rev: "15", import: first, line: "5" } },
      { params: { hit: v2.offer, tx: "B", status: "rejected", import: first, line: "6" } },
      { params: { hit: v1.offer, status: "pending", import: first, line: "12" } },
    ]);
    const touches = await h.t.db
      .select()
      .from(schema.touches)
      .where(eq(schema.touches.workspaceId, w.workspace.id));
    // One assisted touch (the lander) per conversion; the direct touch is the conversion itself.
    expect(touches.map((t) => t.kind)).toEqual(Array(4).fill("assisted"));
    expect(
      await h.t.db
        .select()
        .from(schema.outboundDeliveries)
        .where(eq(schema.outboundDeliveries.workspaceId, w.workspace.id)),
    ).toEqual([]);

    // The report, credited at the visits' day: 15 + 5 + 0.01.
    const report = await w.client.reports.run.query({
      workspaceId: w.workspace.id,
      from: day(w.visitAt - DAY),
      to: day(Date.now()),
      groupBy: ["day"],
    });
    expect(
      report.rows.map((r) => [r.key.day, r.metrics.direct?.conversions, r.metrics.direct?.revenue]),
    ).toEqual([[day(w.visitAt), 3, "20.01"]]);
    // Each batch settled its own rollups: exactly what a rebuild from raw rows holds, no row left at 0.
    expect(await drift(w)).toEqual([]);
    expect(await byNode(w)).toEqual({
      [w.kit.nodes.offerA]: [3, "20.01", "0"],
      [w.kit.nodes.lander]: [0, "0", "20.01"],
    });

    // The refused rows, line by line, ready to fix.
    const refused = await w.client.imports.refusals.query({ workspaceId: w.workspace.id, importId: first });
    expect(refused.rows).toBe(3);
    expect(refused.csv.split("\n")[0]).toBe("line,reason,click,ext,visitor,page,txid,payout,state");
    expect(
      refused.csv
        .split("\n")
        .slice(1, 4)
        .map((l) => l.split(",")[0]),
    ).toEqual(["7", "8", "9"]);

    // The same file again: nothing changes.
    const second = await upload(w, file(w), "feed-again.csv");
    const again = await runStoredImport({ client: h.t.app, workspaceId: w.workspace.id, importId: second });
    expect(counts(again)).toEqual({ created: 0, updated: 0, deleted: 0, unchanged: 8, refused: 3 });
    expect(await conversionsOf(w.workspace.id)).toEqual(expected);
    const revisionsAfter = await h.t.db
      .select()
      .from(schema.conversionRevisions)
      .where(eq(schema.conversionRevisions.workspaceId, w.workspace.id));
    expect(revisionsAfter.length).toBe(6);

    // The rollup ledger was settled with the rebuild: a later change to an imported conversion (a
    // postback raising A from 15 to 40) moves the report by exactly its difference.
    const a = (
      await h.t.db.select().from(schema.conversions).where(eq(schema.conversions.workspaceId, w.workspace.id))
    ).find((c) => c.tx === "A");
    if (!a) throw new Error("no conversion A");
    await h.t.db
      .update(schema.conversions)
      .set({ revenue: "40", revision: a.revision + 1 })
      .where(eq(schema.conversions.id, a.id));
    expect(
      (await applyConversionRollup(h.t.db, { workspaceId: w.workspace.id, conversionId: a.id })).status,
    ).toBe("applied");
    const after = await w.client.reports.run.query({
      workspaceId: w.workspace.id,
      from: day(w.visitAt - DAY),
      to: day(Date.now()),
      groupBy: ["node"],
    });
    expect(
      Object.fromEntries(
        after.rows.map((r) => [r.key.node, [r.metrics.direct?.revenue, r.metrics.assisted?.revenue]]),
      ),
    ).toEqual({
      [w.kit.nodes.offerA]: ["45.01", "0"],
      [w.kit.nodes.lander]: ["0", "45.01"],
    });
    // By zone too, at the visits' time and at the conversions' (the ledger's converted_hour).
    await byZone(w);
    await h.t.db
      .update(schema.conversions)
      .set({ revenue: "15", revision: a.revision + 2 })
      .where(eq(schema.conversions.id, a.id));
    await applyConversionRollup(h.t.db, { workspaceId: w.workspace.id, conversionId: a.id });

    // History: both imports, newest first, with who ran them; the mapping is remembered.
    const list = await w.client.imports.list.query({ workspaceId: w.workspace.id });
    expect(list.items.map((i) => [i.fileName, i.status, i.ranBy])).toEqual([
      ["feed-again.csv", "done", expect.stringMatching(/^API key /)],
      ["feed.csv", "done", expect.stringMatching(/^API key /)],
    ]);
    expect((await w.client.imports.mapping.query({ workspaceId: w.workspace.id })).mapping).toEqual(MAPPING);

    // Another workspace sees none of it, and cannot convert this workspace's hits.
    const other = await world();
    expect((await other.client.imports.list.query({ workspaceId: other.workspace.id })).items).toEqual([]);
    const foreign = await other.client.imports.preview.mutate({
      workspaceId: other.workspace.id,
      csv: file(w),
      mapping: MAPPING,
    });
    expect(foreign.rows.find((r) => r.line === 2)?.reason).toMatch(/hit not found/);
    await expect(
      other.client.imports.get.query({ workspaceId: other.workspace.id, importId: first }),
    ).rejects.toThrow(/not found/);
  });

  it("resumed after a crash mid-file, ends exactly where a clean run does", async () => {
    const w = await world();
    const id = await upload(w, file(w));
    await expect(
      runStoredImport({
        client: h.t.app,
        workspaceId: w.workspace.id,
        importId: id,
        batchSize: 3,
        afterBatch: (n) => {
          if (n === 2) throw new Error("simulated crash");
        },
      }),
    ).rejects.toThrow(/simulated crash/);
    const crashed = await w.client.imports.get.query({ workspaceId: w.workspace.id, importId: id });
    expect([crashed.status, crashed.rowsDone]).toEqual(["failed", 6]);
    const resumed = await runStoredImport({
      client: h.t.app,
      workspaceId: w.workspace.id,
      importId: id,
      batchSize: 3,
    });
    expect(counts(resumed)).toEqual(FIRST);
    expect(
      (await conversionsOf(w.workspace.id)).map((c) => [c.tx, c.revenue, c.deleted, c.revision]),
    ).toEqual(
      expect.arrayContaining([
        ["A", 15, false, 2],
        ["B", 20, true, 2],
        ["C", 5, false, 1],
        ["", 0.01, false, 1],
      ]),
    );
    expect((await conversionsOf(w.workspace.id)).length).toBe(4);
    // The batches committed before the crash settled their rollups once, the resumed ones theirs.
    expect(await drift(w)).toEqual([]);
    expect(await byNode(w)).toEqual({
      [w.kit.nodes.offerA]: [3, "20.01", "0"],
      [w.kit.nodes.lander]: [0, "0", "20.01"],
    });
  });

  it("commits a step's lanes side by side and ends where one serial batch does, one hit's rows far apart", async () => {
    /** One hit's rows spread over the file, named by hit, click id and visitor, in steps of two rows. */
    const text = (w: World) => {
      const [v1, v2, v3] = w.visitors as [World["visitors"][0], World["visitors"][0], World["visitors"][0]];
      const lines = [
        "click,ext,visitor,page,txid,payout,state",
        `${v1.offer},,,,A,10,`, // create A 10
        `${v2.offer},,,,B,5,`, // create B 5
        `,CLK-3,,,C,7,`, // create C 7 (visitor 3's offer)
        `${v1.offer},,,,A,11,`, // A → 11
        `,CLK-1,,,A,12,`, // the same identity by click id: A → 12
        `${v2.offer},,,,B,,rejected`, // B deleted
        `,,${v3.vid},${w.kit.offerIds[0]},C,8,`, // the same identity by visitor and page: C → 8
        `${v1.offer},,,,A,10,`, // line 2 again: unchanged, A stays 12
        `${v2.offer},,,,B,6,`, // B restored at 6
        `,CLK-3,,,C,,rejected`, // C deleted
        `${v1.offer},,,,A,13,`, // A → 13
        `${v2.offer},,,,B,6,`, // line 10 again: unchanged
      ];
      return `${lines.join("\n")}\n`;
    };
    /** `spread`: the fewest lanes (from 2) that do not put the three hits in one lane. */
    const run = async (lanesOf: "one" | "spread", batchSize: number) => {
      const w = await world();
      const offers = w.visitors.map((v) => v.offer);
      let lanes = 1;
      if (lanesOf === "spread")
        for (lanes = 2; new Set(offers.map((o) => importLaneOf(o, lanes))).size === 1; ) lanes++;
      const id = await upload(w, text(w));
      const done = await runStoredImport({
        client: h.t.app,
        workspaceId: w.workspace.id,
        importId: id,
        lanes,
        batchSize,
      });
      const name = new Map(w.visitors.flatMap((v, i) => [[v.offer, `offer ${i + 1}`] as const]));
      const nodeName = new Map(Object.entries(w.kit.nodes).map(([k, v]) => [v, k]));
      return {
        lanes,
        counts: counts(done),
        conversions: (await conversionsOf(w.workspace.id))
          .map((c) => ({ ...c, hit: name.get(c.hit) }))
          .sort((a, b) => a.tx.localeCompare(b.tx)),
        rowsDone: (await w.client.imports.get.query({ workspaceId: w.workspace.id, importId: id })).rowsDone,
        drift: await drift(w),
        report: Object.fromEntries(
          Object.entries(await byNode(w)).map(([node, m]) => [nodeName.get(node) ?? node, m]),
        ),
      };
    };
    const serial = await run("one", 1000);
    const lanes = await run("spread", 2);
    expect(serial.counts).toEqual({ created: 3, updated: 5, deleted: 2, unchanged: 2, refused: 0 });
    expect(serial.conversions.map((c) => [c.hit, c.tx, c.revenue, c.deleted])).toEqual([
      ["offer 1", "A", 13, false],
      ["offer 2", "B", 6, false],
      ["offer 3", "C", 8, true],
    ]);
    expect({ ...lanes, lanes: serial.lanes }).toEqual(serial);
    expect(lanes.drift).toEqual([]);
  });

  it("resumed after a crash with a step half committed (one lane failed, the others in), ends where a clean run does", async () => {
    const w = await world();
    const id = await upload(w, file(w));
    let failed = false;
    await expect(
      runStoredImport({
        client: h.t.app,
        workspaceId: w.workspace.id,
        importId: id,
        batchSize: 4,
        lanes: 3,
        beforeLaneCommit: (step) => {
          if (step === 2 && !failed) {
            failed = true;
            throw new Error("simulated crash");
          }
        },
      }),
    ).rejects.toThrow(/simulated crash/);
    const crashed = await w.client.imports.get.query({ workspaceId: w.workspace.id, importId: id });
    expect([crashed.status, crashed.rowsDone]).toEqual(["failed", 4]);
    // Lanes of the second step committed: the resumed run must skip exactly their rows.
    const half = await h.t.db
      .select()
      .from(schema.conversionImportBatches)
      .where(eq(schema.conversionImportBatches.importId, id));
    expect(half.length).toBeGreaterThan(0);
    const resumed = await runStoredImport({
      client: h.t.app,
      workspaceId: w.workspace.id,
      importId: id,
      batchSize: 4,
      lanes: 3,
    });
    expect([resumed.rowsDone, counts(resumed)]).toEqual([11, FIRST]);
    expect(
      (await conversionsOf(w.workspace.id)).map((c) => [c.tx, c.revenue, c.deleted, c.revision]),
    ).toEqual(
      expect.arrayContaining([
        ["A", 15, false, 2],
        ["B", 20, true, 2],
        ["C", 5, false, 1],
        ["", 0.01, false, 1],
      ]),
    );
    expect((await conversionsOf(w.workspace.id)).length).toBe(4);
    const refusals = await w.client.imports.refusals.query({ workspaceId: w.workspace.id, importId: id });
    // Each refused row once, line by line (lines 7 and 8 were in the crashed step).
    expect([
      refusals.rows,
      refusals.csv
        .split("\n")
        .slice(1, 4)
        .map((l) => l.split(",")[0]),
    ]).toEqual([3, ["7", "8", "9"]]);
    expect(
      await h.t.db
        .select()
        .from(schema.conversionImportBatches)
        .where(eq(schema.conversionImportBatches.importId, id)),
    ).toEqual([]);
    expect(await drift(w)).toEqual([]);
  });

  it("applies repeats of one identity in one batch in file order, and settles the batch's rollups once", async () => {
    const w = await world();
    const [v1, v2] = w.visitors as [World["visitors"][0], World["visitors"][0]];
    const lines = [
      "click,ext,visitor,page,txid,payout,state",
      `${v1.offer},,,,A,10,`, // create 10
      `${v1.offer},,,,A,10,`, // the same row: unchanged, never applied twice
      `${v1.offer},,,,A,12.5,`, // update → 12.5
      `${v1.offer},,,,A,12.50,`, // the same row written differently: unchanged
      `${v2.offer},,,,B,7,`, // create 7
      `${v2.offer},,,,B,,rejected`, // delete
      `${v2.offer},,,,B,9,`, // restored at 9
      `${v1.offer},,,,A,10,`, // line 2 again: unchanged, A stays 12.5
    ];
    const id = await upload(w, `${lines.join("\n")}\n`);
    const done = await runStoredImport({ client: h.t.app, workspaceId: w.workspace.id, importId: id });
    expect(counts(done)).toEqual({ created: 2, updated: 2, deleted: 1, unchanged: 3, refused: 0 });
    expect(
      (await conversionsOf(w.workspace.id)).map((c) => [c.tx, c.revenue, c.status, c.deleted, c.revision]),
    ).toEqual(
      expect.arrayContaining([
        ["A", 12.5, "approved", false, 2],
        ["B", 9, "approved", false, 3],
      ]),
    );
    expect(await drift(w)).toEqual([]);
    expect(await byNode(w)).toEqual({
      [w.kit.nodes.offerA]: [1, "12.5", "0"],
      [w.kit.nodes.offerB]: [1, "9", "0"],
      [w.kit.nodes.lander]: [0, "0", "21.5"],
    });
    expect(await byZone(w)).toEqual({ z1: ["12.5", "12.5"], z2: ["9", "9"] });
    expect(Object.keys(await byZone(w, ["field:zone", "country"])).length).toBe(2);
    // The revisions are kept, as for postbacks: 2 for A, 3 for B.
    const revisions = await h.t.db
      .select()
      .from(schema.conversionRevisions)
      .where(eq(schema.conversionRevisions.workspaceId, w.workspace.id));
    expect(revisions.map((r) => r.action).sort()).toEqual(
      ["created", "created", "deleted", "restored", "updated"].sort(),
    );
  });

  it("runs one import of a workspace at a time: the second waits for the first to end", async () => {
    const w = await world();
    const other = await world();
    const id = await upload(w, file(w));
    const otherId = await upload(other, file(other));
    // An import of this workspace is running (its lock held here, on the owner's connection).
    const held = await lockWorkspaceImports(h.t, { workspaceId: w.workspace.id });
    let waited = false;
    const second = runStoredImport({
      client: h.t.app,
      workspaceId: w.workspace.id,
      importId: id,
      onWait: () => {
        waited = true;
      },
    });
    // Another workspace's import is not held up (run as another process would: its own pool).
    const elsewhere = createDb(h.t.appUrl, { max: 3 });
    try {
      expect(
        counts(
          await runStoredImport({ client: elsewhere, workspaceId: other.workspace.id, importId: otherId }),
        ),
      ).toEqual(FIRST);
    } finally {
      await elsewhere.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(waited).toBe(true);
    const meanwhile = await w.client.imports.get.query({ workspaceId: w.workspace.id, importId: id });
    expect([meanwhile.status, meanwhile.rowsDone]).toEqual(["queued", 0]);
    await held.release();
    const done = await second;
    expect([done.status, counts(done)]).toEqual(["done", FIRST]);
    expect(await drift(w)).toEqual([]);
  });

  it("gives the same counts whatever the batch size (a repeated row in the batch committing meanwhile)", async () => {
    for (const batchSize of [1, 5, 100]) {
      const w = await world();
      const id = await upload(w, file(w));
      const done = await runStoredImport({
        client: h.t.app,
        workspaceId: w.workspace.id,
        importId: id,
        batchSize,
      });
      expect([batchSize, counts(done)]).toEqual([batchSize, FIRST]);
      expect((await conversionsOf(w.workspace.id)).map((c) => [c.tx, c.revenue, c.deleted])).toEqual(
        expect.arrayContaining([
          ["A", 15, false],
          ["B", 20, true],
          ["C", 5, false],
          ["", 0.01, false],
        ]),
      );
    }
  });

  it("takes JSON rows through the API, and refuses bad input by the field's name", async () => {
    const w = await world();
    const [v1] = w.visitors as [World["visitors"][0]];
    const posted = await w.client.imports.rows.mutate({
      workspaceId: w.workspace.id,
      rows: [
        { hit: v1.offer, tx: "J1", rev: 7 },
        { external: "CLK-3", tx: "J2", rev: "8.5", status: "approved" },
      ],
    });
    expect(posted.status).toBe("queued");
    const done = await runStoredImport({ client: h.t.app, workspaceId: w.workspace.id, importId: posted.id });
    expect(counts(done)).toEqual({ created: 2, updated: 0, deleted: 0, unchanged: 0, refused: 0 });
    await expect(w.client.imports.rows.mutate({ workspaceId: w.workspace.id, rows: [] })).rejects.toThrow(
      /rows: must hold at least one row/,
    );
    await expect(
      w.client.imports.create.mutate({
        workspaceId: w.workspace.id,
        fileName: "x.csv",
        mapping: { tx: "t" },
      }),
    ).rejects.toThrow(/mapping: Hit ID, External click ID or Visitor ID/);
  });

  it("stores each row's transaction ID and request as sent, whatever characters they hold", async () => {
    // The batch's rows go to PostgreSQL as array literals: quotes, backslashes, commas, braces, a
    // "NULL" and emoji arrive as sent. A NUL is refused by the postback's rules (its refusal, with the
    // row as sent, is stored all the same).
    const w = await world();
    const v1 = w.visitors[0] as World["visitors"][0];
    const txs = ['q"uote', "back\\slash", "a,b", "a{b}c", "NULL", "sp ace", "emoji 🎯", 'x\\"}'];
    const rows = [...txs, "nul\u0000x"];
    const csv = [
      "click,txid,payout",
      ...rows.map((t, i) => `${v1.offer},"${t.replaceAll('"', '""')}",${i + 1}`),
    ].join("\n");
    const done = await importStreamed(w, "chars.csv", { hit: "click", tx: "txid", rev: "payout" }, csv);
    expect(counts(done)).toEqual({ created: txs.length, updated: 0, deleted: 0, unchanged: 0, refused: 1 });
    const stored = await h.t.db
      .select({
        tx: schema.conversions.tx,
        revenue: schema.conversions.revenue,
        raw: schema.conversionRevisions.raw,
      })
      .from(schema.conversions)
      .innerJoin(
        schema.conversionRevisions,
        eq(schema.conversionRevisions.conversionId, schema.conversions.id),
      )
      .where(eq(schema.conversions.workspaceId, w.workspace.id));
    expect(stored.map((r) => r.tx).sort()).toEqual([...txs].sort());
    for (const r of stored) {
      const i = txs.indexOf(r.tx);
      expect(normalizeMoney(r.revenue)).toBe(normalizeMoney(String(i + 1)));
      expect((r.raw as { params: Record<string, string> }).params.tx).toBe(r.tx);
    }
  });

  it("streams rows straight from a source (the CLI's way) with the same result", async () => {
    const w = await world();
    const done = await importStreamed(w, "direct.csv", MAPPING, file(w));
    expect(counts(done)).toEqual(FIRST);
  });
});
