// ADR 0005: PostgreSQL vs ClickHouse's engine (chdb, in-process) on the report bench's data.
// Not part of the build: chdb is not a dependency of Hitrail. To re-run:
//   pnpm bench report --hits 10000000 --keep          # prints "kept database: postgres://…"
//   mkdir /tmp/chdb-scratch && cp docs/adr/0005-analytics-sink/measure.mjs /tmp/chdb-scratch
//   cd /tmp/chdb-scratch && npm init -y && npm install chdb@3.4.0 postgres@3.4.9
//   node measure.mjs <kept database URL> [runs]       # psql must be on PATH; drop the database after
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Session } from "chdb";
import postgres from "postgres";

const url = process.argv[2];
const runs = Number(process.argv[3] ?? 7);
const dir = process.cwd();
const sql = postgres(url, { max: 1, onnotice: () => {} });
const [{ ws, ts, hi }] = await sql`
  select workspace_id::text as ws, (select traffic_source_id::text from hits limit 1) as ts,
         max(created_at) as hi from hits group by 1`;
const dayEnd = new Date(Math.floor(hi.getTime() / 86_400_000) * 86_400_000);
const dayStart = new Date(dayEnd.getTime() - 86_400_000);
const iso = (d) => d.toISOString().replace("T", " ").replace("Z", "");

const pct = (xs, p) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
async function measure(label, fn) {
  await fn(); // warm-up
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  const r = { label, p50: pct(t, 50).toFixed(0), max: Math.max(...t).toFixed(0) };
  console.log(JSON.stringify(r));
  return r;
}

// The same questions in both engines: visits, bots, entrances and cost by the `zone` tracking field,
// for all 30 days and for one day of one traffic source; and live conversions by the zone of the hit
// they converted on (a join of conversions to hits), 30 days.
const pg = {
  zones30: () =>
    sql.unsafe(
      `
    select tracking_fields->>'zone' as zone, count(*) filter (where not is_bot) as visits,
           count(*) filter (where is_bot) as bots, count(*) filter (where prev_hit_id is null and not is_bot) as entrances,
           coalesce(sum(cost), 0) as cost
    from hits where workspace_id = $1 group by 1`,
      [ws],
    ),
  zonesDay: () =>
    sql.unsafe(
      `
    select tracking_fields->>'zone' as zone, count(*) filter (where not is_bot) as visits,
           count(*) filter (where is_bot) as bots, count(*) filter (where prev_hit_id is null and not is_bot) as entrances,
           coalesce(sum(cost), 0) as cost
    from hits where workspace_id = $1 and traffic_source_id = $2 and created_at >= $3 and created_at < $4 group by 1`,
      [ws, ts, dayStart, dayEnd],
    ),
  conversions30: () =>
    sql.unsafe(
      `
    select h.tracking_fields->>'zone' as zone, count(*) as conversions, sum(c.revenue) as revenue
    from conversions c join hits h on h.id = c.hit_id and h.workspace_id = c.workspace_id
    where c.workspace_id = $1 and c.deleted_at is null and c.status <> 'rejected' group by 1`,
      [ws],
    ),
};

// Load: the hits and conversions as CSV (what a sink would stream), into MergeTree tables ordered
// the way a report reads them (workspace, time).
const session = new Session(`${dir}/ch`);
const csv = (name, query) => {
  const file = `${dir}/${name}.csv`;
  if (!existsSync(file))
    execFileSync("psql", [url, "-c", `\\copy (${query}) to '${file}' with (format csv, header)`]);
  return file;
};
const hitsCsv = csv(
  "hits",
  `select id, workspace_id, traffic_source_id, created_at at time zone 'UTC' as created_at, is_bot,
   coalesce(cost, 0) as cost, prev_hit_id is null as entrance, tracking_fields::text as tracking_fields from hits`,
);
const convCsv = csv(
  "conversions",
  `select id, workspace_id, hit_id, revenue from conversions where deleted_at is null and status <> 'rejected'`,
);
console.log(JSON.stringify({ hitsCsvMB: (statSync(hitsCsv).size / 1e6).toFixed(0) }));
const t0 = performance.now();
session.query("DROP TABLE IF EXISTS hits");
session.query("DROP TABLE IF EXISTS conversions");
session.query(`CREATE TABLE hits (id UUID, workspace_id UUID, traffic_source_id UUID, created_at DateTime64(3),
  is_bot Bool, cost Decimal(18, 6), entrance Bool, tracking_fields Map(String, String))
  ENGINE = MergeTree ORDER BY (workspace_id, created_at)`);
session.query(`INSERT INTO hits SELECT id, workspace_id, traffic_source_id, created_at, is_bot, cost, entrance,
  CAST(JSONExtractKeysAndValues(tracking_fields, 'String'), 'Map(String, String)')
  FROM file('${hitsCsv}', CSVWithNames, 'id UUID, workspace_id UUID, traffic_source_id UUID, created_at DateTime64(3), is_bot Bool, cost Decimal(18, 6), entrance Bool, tracking_fields String')`);
session.query(`CREATE TABLE conversions (id UUID, workspace_id UUID, hit_id UUID, revenue Decimal(18, 6))
  ENGINE = MergeTree ORDER BY (workspace_id, hit_id)`);
session.query(`INSERT INTO conversions SELECT * FROM file('${convCsv}', CSVWithNames)`);
session.query("OPTIMIZE TABLE hits FINAL");
console.log(
  JSON.stringify({
    chLoadSeconds: ((performance.now() - t0) / 1000).toFixed(1),
    chBytes: session
      .query("SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND table = 'hits'", "CSV")
      .trim(),
  }),
);
const [{ pgBytes }] =
  await sql`select (select sum(pg_total_relation_size(c.oid)) from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'hits'::regclass)::bigint as "pgBytes"`;
console.log(JSON.stringify({ pgHitsBytes: String(pgBytes) }));

const ch = {
  zones30: () =>
    session.query(
      `SELECT tracking_fields['zone'] AS zone, countIf(NOT is_bot) AS visits, countIf(is_bot) AS bots,
    countIf(entrance AND NOT is_bot) AS entrances, sum(cost) AS cost FROM hits WHERE workspace_id = '${ws}' GROUP BY zone`,
      "CSV",
    ),
  zonesDay: () =>
    session.query(
      `SELECT tracking_fields['zone'] AS zone, countIf(NOT is_bot) AS visits, countIf(is_bot) AS bots,
    countIf(entrance AND NOT is_bot) AS entrances, sum(cost) AS cost FROM hits WHERE workspace_id = '${ws}'
    AND traffic_source_id = '${ts}' AND created_at >= '${iso(dayStart)}' AND created_at < '${iso(dayEnd)}' GROUP BY zone`,
      "CSV",
    ),
  conversions30: () =>
    session.query(
      `SELECT h.tracking_fields['zone'] AS zone, count() AS conversions, sum(c.revenue) AS revenue
    FROM hits h INNER JOIN (SELECT hit_id, revenue FROM conversions WHERE workspace_id = '${ws}') c ON h.id = c.hit_id
    WHERE h.workspace_id = '${ws}' GROUP BY zone`,
      "CSV",
    ),
};

// Same answers first: a comparison of different questions would be worthless.
const pgRows = await pg.zones30();
for (const q of Object.keys(pg)) {
  const a = (await pg[q]()).length,
    b = ch[q]().trim().split("\n").filter(Boolean).length;
  console.log(JSON.stringify({ check: `${q} groups`, pg: a, ch: b }));
}
console.log(
  JSON.stringify({
    sample: ch.conversions30().split("\n").slice(0, 2),
    pg: (await pg.conversions30()).slice(0, 2),
  }),
);
const chRows = ch.zones30().trim().split("\n").length;
console.log(
  JSON.stringify({
    check: "zones30 groups",
    pg: pgRows.length,
    ch: chRows,
    pgVisits: pgRows.reduce((a, r) => a + Number(r.visits), 0),
    chVisits: Number(
      session.query(`SELECT countIf(NOT is_bot) FROM hits WHERE workspace_id = '${ws}'`, "CSV").trim(),
    ),
  }),
);

for (const q of Object.keys(pg)) {
  await measure(`postgres ${q}`, pg[q]);
  await measure(`chdb ${q}`, async () => ch[q]());
}
session.cleanup?.();
await sql.end();
