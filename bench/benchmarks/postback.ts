import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createCampaignKit, createDb, createWorkspace, type DbClient, newId, newIdAt } from "@hitrail/db";
import { schema, sql } from "@hitrail/db/testing/sql";
import { createRedis } from "@hitrail/queue";
import type autocannon from "autocannon";
import { SessionStore } from "../../apps/tracker/src/sessions.ts";
import {
  bareServer,
  benchScratch,
  compareWithFloor,
  databaseBackends,
  describeWrites,
  type LoadResult,
  load,
  report,
  startFloorProcess,
  startTrackerProcess,
  type WriteCounts,
  writeCounts,
} from "../lib.ts";

// `pnpm bench postback`: conversion postbacks through the real tracker (its own process, from its
// production entry point: Fastify, group commit, Postgres, Redis) against a database of its own, by
// hit ID, by visitor ID and as revenue updates, beside a bare node:http server in the same run. After
// the tracker has drained, the committed conversions and revisions are counted against the 200s.

const VISITORS = 20_000;
const SESSION_VISITORS = 5_000;
const CONNECTIONS = 64;
/** The revenue-update run cycles over this many conversions: after the first pass every postback is an update. */
const UPDATED_HITS = 2_000;
/** Issue #21: postbacks by hit against the floor of a durable postback measured in the same run. */
const FLOOR_TARGET = { share: 0.5, p99Ms: 40 };

/** autocannon runs in a worker thread, so the per-request function lives in a file it can require. */
async function requestFile(dir: string, name: string, ids: string[], query: string): Promise<string> {
  const file = path.join(dir, `${name}.cjs`);
  await writeFile(
    file,
    `const ids = ${JSON.stringify(ids)};
let n = 0;
module.exports = function (req) {
  const i = n++;
  req.path = "/pb/?" + ${JSON.stringify(query)}.replace("ID", ids[i % ids.length]).replace("N", String(i));
  return req;
};
`,
  );
  return file;
}

export async function run(): Promise<void> {
  const scratch = await benchScratch();
  const { tag, dbUrl, appUrl, redisUrl, prefix, db, cleanups } = scratch;
  const dir = await mkdtemp(path.join(tmpdir(), "hitrail-bench-pb-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  try {
    const seeded = await seed(dbUrl);
    await seedSessions(redisUrl, prefix, seeded);
    // The operator's tuning (CONVERSION_BATCH_*) reaches the tracker through the environment.
    const tracker = await startTrackerProcess({
      DATABASE_URL: appUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      BASE_DOMAIN: "bench.localhost",
    });
    cleanups.unshift(() => tracker.stop());

    const bare = await bareServer(200, { "content-type": "application/json" }, '{"outcome":"created"}');
    let baseline: LoadResult;
    try {
      baseline = await load({
        url: `${bare.url}/pb/`,
        label: "bare node:http 200",
        connections: CONNECTIONS,
      });
    } finally {
      await bare.close();
    }

    const headers = { host: seeded.host };
    const byHit = await requestFile(dir, "by-hit", seeded.offerHits, `hit=ID&tx=${tag}-h-N&rev=1.5`);
    const byVid = await requestFile(dir, "by-vid", seeded.sessionVisitors, `vid=ID&tx=${tag}-v-N&rev=2,25`);
    // Search arbitrage: the same conversion posted again and again as its revenue firms up.
    const update = await requestFile(
      dir,
      "update",
      seeded.offerHits.slice(0, UPDATED_HITS),
      `hit=ID&tx=${tag}-u&rev=N`,
    );
    const warm = await requestFile(dir, "warm", seeded.offerHits, `hit=ID&tx=${tag}-w-N`);
    const cannon = (label: string, file: string, durationSeconds?: number) =>
      load({
        url: `${tracker.url}/pb/`,
        label,
        connections: CONNECTIONS,
        headers,
        requests: [{ setupRequest: file } as unknown as autocannon.Request],
        processes: { [tracker.pid]: "tracker" },
        processesAfter: () => databaseBackends(db, BACKENDS),
        ...(durationSeconds ? { durationSeconds } : {}),
      });

    await cannon("warm-up", warm, 3);
    // The floor: one conversion of the warm-up as the fixed row, into a table shaped like conversions.
    const [template] = await db.db.execute<{ row: Record<string, unknown> }>(
      sql`select row_to_json(c) as row from conversions c limit 1`,
    );
    if (!template) throw new Error("the warm-up stored no conversion");
    await db.db.execute(sql`create table bench_floor_conversions (like conversions including all)`);
    const floor = await startFloorProcess({
      kind: "postback",
      databaseUrl: dbUrl,
      redisUrl,
      prefix,
      table: "bench_floor_conversions",
      row: template.row,
    });
    cleanups.unshift(() => floor.stop());
    const writes: Array<[string, WriteCounts, WriteCounts, number]> = [];
    const floorBefore = await statsSettled(db);
    const floorRun = await load({
      url: `${floor.url}/pb/`,
      label: "floor: bare Fastify + group-committed conversion row",
      connections: CONNECTIONS,
      expectStatus: 200,
      processes: { [floor.pid]: "floor server" },
      processesAfter: () => databaseBackends(db, BACKENDS),
    });
    writes.push([floorRun.label, floorBefore, await statsSettled(db), floorRun.requests]);
    const phases = [
      { label: "postback by hit", file: byHit, count: () => countNew(db.sql, `${tag}-h-`) },
      { label: "postback by vid", file: byVid, count: () => countNew(db.sql, `${tag}-v-`) },
      { label: "revenue update by hit", file: update, count: () => countUpdates(db.sql, `${tag}-u`) },
    ];
    const results: LoadResult[] = [];
    for (const phase of phases) {
      const before = await statsSettled(db);
      const r = await cannon(phase.label, phase.file);
      results.push(r);
      // Requests cut off when the load stopped may still commit: let them land before the next run.
      await settled(phase.count);
      writes.push([phase.label, before, await statsSettled(db), r.requests]);
    }

    // SIGTERM: the tracker drains its conversion writer before it exits; then every 200 must be there.
    await tracker.stop();
    report(
      `postback (${CONNECTIONS} connections; by hit and by vid each request a new conversion, updates a new revenue for one of ${UPDATED_HITS} conversions)`,
      baseline,
      [floorRun, ...results],
    );
    for (const [label, before, after, requests] of writes)
      console.log(`${label}:\n${describeWrites(before, after, requests)}`);
    const [byHitRun, byVidRun] = results as [LoadResult, LoadResult];
    console.log(compareWithFloor(byHitRun, "tracker", floorRun, "floor server", FLOOR_TARGET).line);
    const vidGap = 1 - byVidRun.rps / byHitRun.rps;
    console.log(
      `by vid vs by hit: ${(vidGap * 100).toFixed(1)}% slower (target ≤ 15%) → ${vidGap <= 0.15 ? "met" : "MISSED"}`,
    );
    for (const [i, phase] of phases.entries()) {
      const r = results[i] as LoadResult;
      const ok = r.requests - r.non2xx3xx;
      const stored = await phase.count();
      // A request still in flight when the load stopped may commit without its 200 being counted, so
      // the rows can exceed the 200s by at most the connections; they may never be fewer.
      const durable = stored.ok && stored.rows >= ok && stored.rows - ok <= CONNECTIONS;
      console.log(
        `${phase.label}: ${ok} answered 200, ${stored.text}, ${r.non2xx3xx} non-2xx, ${r.errors} errors → ${durable ? "DURABLE" : "NOT DURABLE"}`,
      );
      if (!durable) process.exitCode = 1;
    }
  } finally {
    await scratch.dispose();
  }
}

/** On a shared machine "postgres" is every database's backends: these are the run's own. */
const BACKENDS = "postgres: this run's backends";

/**
 * Table statistics once the backends' last commits have reached them: a busy backend flushes its
 * counts at most once a second, and an idle one still holding some after at most 10 s
 * (PGSTAT_IDLE_INTERVAL), so a shorter wait credits the end of one run to the next.
 */
async function statsSettled(db: DbClient): Promise<WriteCounts> {
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  return writeCounts(db);
}

/** Waits until a count stops moving (two equal reads 200 ms apart, at most 10 s). */
async function settled(count: () => Promise<Stored>): Promise<void> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    const { rows } = await count();
    if (rows === last) return;
    last = rows;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface Seeded {
  workspaceId: string;
  funnelId: string;
  trafficSourceId: string;
  host: string;
  offerHits: string[];
  sessionVisitors: string[];
  sessions: Array<{
    visitorId: string;
    hits: Array<typeof schema.hits.$inferInsert>;
  }>;
}

/** A workspace with the campaign kit and many entry → lander → offer paths, as clicks would leave them. */
export async function seed(url: string): Promise<Seeded> {
  const client = createDb(url, { max: 4 });
  try {
    const { workspace, host } = await createWorkspace(client.db, {
      slug: `bench-${randomBytes(3).toString("hex")}`,
      name: "Bench",
      baseDomain: "bench.localhost",
    });
    const kit = await createCampaignKit(client.db, {
      workspaceId: workspace.id,
      trafficSourcePostbackUrl: "https://ts.example/cb?cid={external}&payout={payout}&zone={zone}",
      landerUrl: "https://pages.example/lander?hit={hit}",
      offerUrls: ["https://pages.example/a?clickid={hit}", "https://pages.example/b?clickid={hit}"],
    });
    const offerHits: string[] = [];
    const sessions: Seeded["sessions"] = [];
    const rows: Array<typeof schema.hits.$inferInsert> = [];
    const start = Date.now() - 3_600_000;
    for (let v = 0; v < VISITORS; v++) {
      const visitorId = newId();
      const at = start + v * 100;
      const common = {
        workspaceId: workspace.id,
        visitorId,
        funnelId: kit.funnelId,
        trafficSourceId: kit.trafficSourceId,
        externalId: `ext-${v}`,
        campaign: "bench",
        cost: "0.01",
        trackingFields: { zone: `z${v % 50}`, creative: `c${v % 7}` },
      };
      const entry = {
        ...common,
        id: newIdAt(at),
        nodeId: kit.nodes.entry,
        pageKind: "none" as const,
        createdAt: new Date(at),
      };
      const lander = {
        ...common,
        id: newIdAt(at + 1),
        nodeId: kit.nodes.lander,
        pageId: kit.landerId,
        pageKind: "lander" as const,
        prevHitId: entry.id,
        createdAt: new Date(at + 1),
      };
      const offer = {
        ...common,
        id: newIdAt(at + 2),
        nodeId: kit.nodes.offerA,
        pageId: kit.offerIds[0],
        pageKind: "offer" as const,
        prevHitId: lander.id,
        createdAt: new Date(at + 2),
      };
      rows.push(entry, lander, offer);
      offerHits.push(offer.id);
      if (v < SESSION_VISITORS) sessions.push({ visitorId, hits: [entry, lander, offer] });
    }
    for (let i = 0; i < rows.length; i += 2_000)
      await client.db.insert(schema.hits).values(rows.slice(i, i + 2_000));
    await client.db.execute(sql`analyze`);
    // Shuffled so consecutive requests hit different hits, as real postbacks do.
    offerHits.sort(() => Math.random() - 0.5);
    return {
      workspaceId: workspace.id,
      funnelId: kit.funnelId,
      trafficSourceId: kit.trafficSourceId,
      host,
      offerHits,
      sessionVisitors: sessions.map((s) => s.visitorId),
      sessions,
    };
  } finally {
    await client.close();
  }
}

/** Live visitor sessions for the by-vid run, written the way the tracker writes them. */
async function seedSessions(redisUrl: string, prefix: string, seeded: Seeded): Promise<void> {
  const redis = createRedis(redisUrl);
  const sessions = new SessionStore(redis, prefix);
  const now = Date.now();
  try {
    for (let i = 0; i < seeded.sessions.length; i += 500) {
      await Promise.all(
        seeded.sessions.slice(i, i + 500).map(async (s) => {
          for (const hit of s.hits) {
            await sessions.recordHit({
              workspaceId: seeded.workspaceId,
              visitorId: s.visitorId,
              ttlSeconds: 3_600,
              hit: {
                hitId: hit.id,
                nodeId: hit.nodeId,
                pageId: hit.pageId ?? null,
                pageKind: hit.pageKind,
                funnelId: hit.funnelId,
                at: (hit.createdAt as Date).getTime(),
              },
              ...(hit.pageKind === "none"
                ? {
                    entry: {
                      trafficSourceId: null,
                      externalId: null,
                      campaign: null,
                      cost: null,
                      fields: {},
                    },
                  }
                : {}),
              now,
            });
          }
        }),
      );
    }
  } finally {
    await redis.quit();
  }
}

type SqlClient = DbClient["sql"];

interface Stored {
  /** Rows that each stand for one answered 200. */
  rows: number;
  /** Whether the rows are shaped as they must be (no doubles). */
  ok: boolean;
  text: string;
}

/** Each 200 of a new-conversion run is one conversion with its own tx. */
async function countNew(sqlClient: SqlClient, prefix: string): Promise<Stored> {
  const [row] = await sqlClient<Array<{ total: number; distinct: number }>>`
    select count(*)::int as total, count(distinct tx)::int as distinct from conversions where tx like ${`${prefix}%`}`;
  const total = row?.total ?? 0;
  const distinct = row?.distinct ?? 0;
  return {
    rows: total,
    ok: total === distinct,
    text: `${total} conversions committed (${distinct} distinct tx)`,
  };
}

/** Each 200 of the update run is one revision (created, then updated) of one conversion per hit. */
async function countUpdates(sqlClient: SqlClient, tx: string): Promise<Stored> {
  const [row] = await sqlClient<Array<{ conversions: number; hits: number; revisions: number }>>`
    select count(distinct c.id)::int as conversions, count(distinct c.hit_id)::int as hits, count(r.id)::int as revisions
    from conversions c join conversion_revisions r on r.workspace_id = c.workspace_id and r.conversion_id = c.id
    where c.tx = ${tx}`;
  const conversions = row?.conversions ?? 0;
  const revisions = row?.revisions ?? 0;
  return {
    rows: revisions,
    ok: conversions === (row?.hits ?? -1) && conversions <= UPDATED_HITS,
    text: `${revisions} revisions committed on ${conversions} conversions (one per hit)`,
  };
}
