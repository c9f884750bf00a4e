import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../src/testing/index.ts";
import { sql } from "../src/testing/sql.ts";

// The `postgres` driver is patched (patches/postgres@3.4.9.patch, upstream porsager/postgres#1208
// and #1209): a reserved connection (sql.reserve, and every transaction) whose backend dies used
// to kill the process from a setImmediate, or leave its next queries waiting forever. These tests
// kill our own backends on the test server (never anyone else's) and demand a catchable error
// within a deadline, then a pool that works again.

let t: TestDatabase;
let killer: postgres.Sql;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  t = await createTestDatabase();
  killer = postgres(t.url, { max: 1, onnotice: () => {} });
  process.on("uncaughtException", onUncaught);
});
afterAll(async () => {
  process.off("uncaughtException", onUncaught);
  await killer?.end({ timeout: 1 });
  await t?.drop();
});

/** Settles within `ms` or says it hung: a hang is the failure we are guarding against. */
function settle<T>(
  p: PromiseLike<T>,
  ms = 5_000,
): Promise<{ ok: true; value: T } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, code: "HUNG" }), ms);
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve({ ok: true, value });
      },
      (error: { code?: string }) => {
        clearTimeout(timer);
        resolve({ ok: false, code: String(error?.code ?? error) });
      },
    );
  });
}

const CLOSED = /^(CONNECTION_CLOSED|ECONNRESET|EPIPE|57P01|CONNECTION_DESTROYED)$/;

async function terminate(pid: number): Promise<void> {
  await killer`select pg_terminate_backend(${pid})`;
}

describe("a PostgreSQL backend dying under a reserved connection", () => {
  it("rejects every later query on it catchably, then the pool serves again", async () => {
    for (let round = 0; round < 5; round++) {
      const client = postgres(t.url, { max: 2, onnotice: () => {} });
      const reserved = await client.reserve();
      const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await terminate(Number(row?.pid));
      const outcomes = [];
      for (let i = 0; i < 3; i++) outcomes.push(await settle(reserved`select 1`));
      for (const o of outcomes) expect(o.ok === false && CLOSED.test(o.code), JSON.stringify(o)).toBe(true);
      reserved.release();
      expect(await settle(client`select 1 as one`)).toMatchObject({ ok: true, value: [{ one: 1 }] });
      expect(await settle(client.end({ timeout: 2 }))).toMatchObject({ ok: true });
    }
    expect(uncaught).toEqual([]);
  });

  it("fails a transaction whose backend dies, and later transactions commit", async () => {
    const client = postgres(t.url, { max: 3, onnotice: () => {} });
    await client`create table if not exists driver_probe (n int)`;
    for (let round = 0; round < 5; round++) {
      const tx = client.begin(async (q) => {
        const [row] = await q<{ pid: number }[]>`select pg_backend_pid() as pid`;
        await q`insert into driver_probe values (${round})`;
        await terminate(Number(row?.pid));
        await q`insert into driver_probe values (${round + 100})`;
        await q`select 1`;
      });
      const outcome = await settle(tx);
      expect(outcome.ok, JSON.stringify(outcome)).toBe(false);
    }
    // Nothing of the broken transactions committed; the pool commits new ones.
    expect(await settle(client.begin((q) => q`insert into driver_probe values (-1)`))).toMatchObject({
      ok: true,
    });
    const rows = await client<{ n: number }[]>`select n from driver_probe order by n`;
    expect(rows.map((r) => r.n)).toEqual([-1]);
    expect(await settle(client.end({ timeout: 2 }))).toMatchObject({ ok: true });
    expect(uncaught).toEqual([]);
  });

  it("keeps drizzle transactions on the app's own client working after their backends die", async () => {
    const [row] = await t.db.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
    expect(row).toBeDefined();
    for (let round = 0; round < 3; round++) {
      const outcome = await settle(
        t.db.transaction(async (tx) => {
          const [r] = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
          await terminate(Number(r?.pid));
          await tx.execute(sql`select 1`);
        }),
      );
      expect(outcome.ok).toBe(false);
    }
    expect(await settle(t.db.execute(sql`select 1`))).toMatchObject({ ok: true });
    expect(uncaught).toEqual([]);
  });
});
