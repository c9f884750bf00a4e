import { randomUUID } from "node:crypto";
import { createRedis } from "@hitrail/queue";
import Fastify from "fastify";
import postgres from "postgres";

/**
 * The physical floor of a durable request on this machine (issue #21): a bare Fastify server that
 * does only the unavoidable work — for a click, one fixed hit-shaped row into a group commit (same
 * batch size and wait as the tracker's hit writer, the same JSON-recordset statement) plus one
 * pipelined Redis write of a session-sized value, then a 302; for a postback, one conversion-sized
 * row into the same kind of group commit, then a 200. No routing, no parsing, no rules: what is left
 * between this and the tracker is the tracker's own work.
 *
 * Run by the click and postback benchmarks as a process of its own (`node --import tsx`), configured
 * by FLOOR_* variables; prints one JSON line with its URL.
 */
const kind = process.env.FLOOR_KIND === "postback" ? "postback" : "click";
const table = process.env.FLOOR_TABLE ?? "bench_floor";
const template = JSON.parse(process.env.FLOOR_ROW ?? "{}") as Record<string, unknown>;
const maxBatch = Number(process.env.FLOOR_BATCH_MAX ?? 500);
const waitMs = Number(process.env.FLOOR_BATCH_WAIT_MS ?? 2);
const sql = postgres(process.env.FLOOR_DATABASE_URL ?? "", { max: 4, onnotice: () => undefined });
const redis =
  kind === "click" ? createRedis(process.env.FLOOR_REDIS_URL ?? "", { enableAutoPipelining: true }) : null;
const prefix = process.env.FLOOR_PREFIX ?? "hitrail-bench";
const session = "x".repeat(Number(process.env.FLOOR_SESSION_BYTES ?? 400));
const insert = `insert into ${table} select r.* from json_populate_recordset(null::${table}, $1::text::json) r on conflict do nothing`;

type Waiter = { row: Record<string, unknown>; done: (error?: unknown) => void };
let queue: Waiter[] = [];
let timer: NodeJS.Timeout | null = null;
let inFlight = 0;

function flush(): void {
  if (timer) clearTimeout(timer);
  timer = null;
  if (queue.length === 0 || inFlight >= 2) return;
  const batch = queue.slice(0, maxBatch);
  queue = queue.slice(maxBatch);
  inFlight++;
  sql
    .unsafe(insert, [JSON.stringify(batch.map((w) => w.row))], { prepare: true })
    .then(
      () => {
        for (const w of batch) w.done();
      },
      (error: unknown) => {
        for (const w of batch) w.done(error);
      },
    )
    .finally(() => {
      inFlight--;
      if (queue.length > 0) flush();
    });
}

function write(row: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    queue.push({ row, done: (error) => (error ? reject(error) : resolve()) });
    if (queue.length >= maxBatch) flush();
    else timer ??= setTimeout(flush, waitMs);
  });
}

const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 } });
app.get("/*", async (_req, reply) => {
  const id = randomUUID();
  if (kind === "click") {
    await Promise.all([write({ ...template, id }), redis?.set(`${prefix}:floor:${id}`, session, "EX", 600)]);
    return reply.code(302).header("location", "https://pages.example/lander?hit=x&vid=y").send();
  }
  await write({ ...template, id, hit_id: randomUUID() });
  return reply.code(200).send({ outcome: "created" });
});
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
console.log(
  JSON.stringify({ url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}` }),
);
process.on("SIGTERM", () => {
  void app
    .close()
    .then(() => sql.end())
    .then(() => redis?.quit())
    .finally(() => process.exit(0));
});
