import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema, withWorkspace } from "../src/index.ts";
import { createTestDatabase, factories, type TestDatabase } from "../src/testing/index.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

describe("row-level security", () => {
  it("hides another workspace's rows even from a query that forgets to filter", async () => {
    const a = await factories.workspace(t.db);
    const b = await factories.workspace(t.db);
    await factories.campaign(t.db, a.workspace.id);
    await factories.campaign(t.db, b.workspace.id);

    const seenByA = await withWorkspace(t.db, a.workspace.id, (tx) => tx.select().from(schema.offers));
    expect(seenByA).toHaveLength(2);
    expect(seenByA.every((o) => o.workspaceId === a.workspace.id)).toBe(true);

    const workspacesSeenByB = await withWorkspace(t.db, b.workspace.id, (tx) =>
      tx.select().from(schema.workspaces),
    );
    expect(workspacesSeenByB.map((w) => w.id)).toEqual([b.workspace.id]);
  });

  it("refuses to write a row into another workspace", async () => {
    const a = await factories.workspace(t.db);
    const b = await factories.workspace(t.db);
    await expect(
      withWorkspace(t.db, a.workspace.id, (tx) =>
        tx
          .insert(schema.landers)
          .values({ workspaceId: b.workspace.id, name: "sneaky", url: "https://x.example" }),
      ),
    ).rejects.toMatchObject({ cause: { message: expect.stringMatching(/row-level security/) } });
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
    const updated = await withWorkspace(t.db, a.workspace.id, (tx) =>
      tx
        .update(schema.offers)
        .set({ name: "hijacked" })
        .where(eq(schema.offers.id, kitB.offerIds[0]))
        .returning(),
    );
    expect(updated).toHaveLength(0);
    const deleted = await withWorkspace(t.db, a.workspace.id, (tx) =>
      tx.delete(schema.funnels).where(eq(schema.funnels.id, kitB.funnelId)).returning(),
    );
    expect(deleted).toHaveLength(0);
  });

  it("shows nothing at all when no workspace is set", async () => {
    await factories.workspace(t.db);
    const rows = await t.db.transaction(async (tx) => {
      await tx.execute("set local role hitrail_tenant" as never);
      return tx.select().from(schema.workspaces);
    });
    expect(rows).toHaveLength(0);
  });
});
