import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type DbClient, idTime, newId, withLookup, withWorkspace } from "../src/index.ts";
import { createTestDatabase, factories, type TestDatabase } from "../src/testing/index.ts";
import { schema } from "../src/testing/sql.ts";

// The owner (t.db, a superuser on the test server) sets rows up; every check runs as the roles the
// apps connect as: t.app (hitrail_tenant) and the maintenance role.
let t: TestDatabase;
let maintenance: DbClient;
beforeAll(async () => {
  t = await createTestDatabase();
  maintenance = createDb(t.maintenanceUrl, { max: 2 });
});
afterAll(async () => {
  await maintenance?.close(1);
  await t?.drop();
});

const hit = (workspaceId: string) => {
  const id = newId();
  return {
    id,
    workspaceId,
    visitorId: newId(),
    funnelId: newId(),
    nodeId: newId(),
    pageKind: "lander" as const,
    createdAt: new Date(idTime(id)),
  };
};

describe("the roles the apps connect as", () => {
  it("are neither the owner nor a superuser, cannot bypass row-level security, and RESET ROLE keeps them", async () => {
    const [me] = await t.app.sql<{ user: string; super: boolean; bypass: boolean; owner: string }[]>`
      select current_user as user, r.rolsuper as super, r.rolbypassrls as bypass,
             (select tableowner from pg_tables where tablename = 'hits') as owner
      from pg_roles r where r.rolname = current_user`;
    expect(me?.super).toBe(false);
    expect(me?.bypass).toBe(false);
    expect(me?.user).not.toBe(me?.owner);
    // A tenant transaction sets a workspace, not a role: RESET ROLE has nothing privileged to return to.
    const after = await t.app.sql.begin(async (tx) => {
      await tx`reset role`;
      const [row] = await tx<{ user: string; super: string }[]>`
        select current_user as user, current_setting('is_superuser') as super`;
      return row;
    });
    expect(after).toEqual({ user: me?.user, super: "off" });
    await expect(t.app.sql`set role postgres`).rejects.toThrow(/permission denied/);
  });

  it("forces row-level security on every tenant table", async () => {
    const rows = await t.db.execute<{ relname: string; force: boolean }>(sql`
      select c.relname, c.relforcerowsecurity as force from pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r','p') and not c.relispartition
        and (c.relname = 'workspaces' or exists (select 1 from pg_attribute a
             where a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped))`);
    expect(rows.length).toBeGreaterThan(15);
    expect(rows.filter((r) => !r.force).map((r) => r.relname)).toEqual([]);
  });
});

describe("row-level security", () => {
  it("a query that forgets its workspace returns nothing; with the setting, only that workspace's rows", async () => {
    const a = await factories.workspace(t.db);
    const b = await factories.workspace(t.db);
    await t.db.insert(schema.hits).values([hit(a.workspace.id), hit(a.workspace.id), hit(b.workspace.id)]);

    expect(await t.app.sql`select * from hits`).toHaveLength(0);
    expect(await t.app.sql`select * from workspaces`).toHaveLength(0);

    const seenByA = await withWorkspace(t.app.db, a.workspace.id, (tx) => tx.select().from(schema.hits));
    expect(seenByA).toHaveLength(2);
    expect(seenByA.every((h) => h.workspaceId === a.workspace.id)).toBe(true);

    // A group-commit batch names each workspace it spans, and sees exactly those.
    const c = await factories.workspace(t.db);
    await t.db.insert(schema.hits).values(hit(c.workspace.id));
    const batch = await withWorkspace(t.app.db, [a.workspace.id, b.workspace.id], (tx) =>
      tx.select().from(schema.hits),
    );
    expect(new Set(batch.map((h) => h.workspaceId))).toEqual(new Set([a.workspace.id, b.workspace.id]));
    expect(batch).toHaveLength(3);
  });

  it("hides another workspace's rows even from a query that forgets to filter", async () => {
    const a = await factories.workspace(t.db);
    const b = await factories.workspace(t.db);
    await factories.campaign(t.db, a.workspace.id);
    await factories.campaign(t.db, b.workspace.id);

    const seenByA = await withWorkspace(t.app.db, a.workspace.id, (tx) => tx.select().from(schema.offers));
    expect(seenByA).toHaveLength(2);
    expect(seenByA.every((o) => o.workspaceId === a.workspace.id)).toBe(true);

    const workspacesSeenByB = await withWorkspace(t.app.db, b.workspace.id, (tx) =>
      tx.select().from(schema.workspaces),
    );
    expect(workspacesSeenByB.map((w) => w.id)).toEqual([b.workspace.id]);
  });

  it("refuses to write a row into another workspace, or with no workspace set", async () => {
    const a = await factories.workspace(t.db);
    const b = await factories.workspace(t.db);
    await expect(
      withWorkspace(t.app.db, a.workspace.id, (tx) =>
        tx
          .insert(schema.landers)
          .values({ workspaceId: b.workspace.id, name: "sneaky", url: "https://x.example" }),
      ),
    ).rejects.toMatchObject({ cause: { message: expect.stringMatching(/row-level security/) } });
    await expect(t.app.db.insert(schema.hits).values(hit(b.workspace.id))).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/row-level security/) },
    });
    const landers = await t.db
      .select()
      .from(schema.landers)
      .where(eq(schema.landers.workspaceId, b.workspace.id));
    expect(landers).toHaveLength(0);
  });

  it("cannot update or delete across workspaces", async () => {
    const a = await factories.workspace(t.db);
    const b = await factories.workspace(t.db);
    const kitB = await factories.campaign(t.db, b.workspace.id);
    const updated = await withWorkspace(t.app.db, a.workspace.id, (tx) =>
      tx
        .update(schema.offers)
        .set({ name: "hijacked" })
        .where(eq(schema.offers.id, kitB.offerIds[0]))
        .returning(),
    );
    expect(updated).toHaveLength(0);
    const deleted = await withWorkspace(t.app.db, a.workspace.id, (tx) =>
      tx.delete(schema.funnels).where(eq(schema.funnels.id, kitB.funnelId)).returning(),
    );
    expect(deleted).toHaveLength(0);
  });

  it("the setting ends with its transaction", async () => {
    const a = await factories.workspace(t.db);
    await t.db.insert(schema.hits).values(hit(a.workspace.id));
    const conn = await t.app.sql.reserve();
    try {
      await conn`begin`;
      await conn`select set_config('hitrail.workspace_id', ${a.workspace.id}, true)`;
      expect(await conn`select * from hits`).toHaveLength(1);
      await conn`commit`;
      expect(await conn`select * from hits`).toHaveLength(0);
    } finally {
      conn.release();
    }
  });
});

describe("the narrow look-ups across workspaces", () => {
  it("a host shows only its verified domain and workspace; a user only their memberships", async () => {
    const a = await factories.workspace(t.db);
    const b = await factories.workspace(t.db);
    const rows = await withLookup(t.app.db, { host: a.host }, async (tx) => ({
      domains: await tx.select().from(schema.trackingDomains),
      workspaces: await tx.select().from(schema.workspaces),
      hits: await tx.select().from(schema.hits),
    }));
    expect(rows.domains.map((d) => d.host)).toEqual([a.host]);
    expect(rows.workspaces.map((w) => w.id)).toEqual([a.workspace.id]);
    expect(rows.hits).toHaveLength(0);
    // Read-only: a look-up cannot change what it sees.
    const renamed = await withLookup(t.app.db, { host: b.host }, (tx) =>
      tx.update(schema.workspaces).set({ name: "mine now" }).returning(),
    );
    expect(renamed).toHaveLength(0);
  });
});

describe("the maintenance role", () => {
  it("sees every workspace, for the worker's sweeps", async () => {
    const a = await factories.workspace(t.db);
    const b = await factories.workspace(t.db);
    await t.db.insert(schema.hits).values([hit(a.workspace.id), hit(b.workspace.id)]);
    const seen = await maintenance.sql<{ workspace_id: string }[]>`
      select workspace_id from hits where workspace_id in (${a.workspace.id}, ${b.workspace.id})`;
    expect(seen).toHaveLength(2);
  });

  it("partition upkeep runs through the owner's functions only", async () => {
    await expect(t.app.sql`select hitrail_ensure_hit_partitions(1, 3)`).resolves.toBeDefined();
    await expect(
      t.app
        .sql`create table hits_y2099m01 partition of hits for values from ('a0000000-0000-7000-8000-000000000000') to ('a1000000-0000-7000-8000-000000000000')`,
    ).rejects.toThrow(/must be owner|permission denied/);
    await expect(t.app.sql`select hitrail_drop_postback_log_partitions(30)`).rejects.toThrow(
      /permission denied/,
    );
  });
});
