import { newId } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { eq, schema } from "@hitrail/db/testing/sql";
import { describe, expect, it } from "vitest";
import { cliAgainstTestDatabase } from "./support/cli.ts";

const cli = cliAgainstTestDatabase();
const { hitrail } = cli;

describe("hitrail deliveries replay --traffic-source --since", () => {
  it("sends every dead delivery of that source since the time again, and only those", async () => {
    const { workspace } = await factories.workspace(cli.db().db);
    const kit = await factories.campaign(cli.db().db, workspace.id);
    const other = await factories.campaign(cli.db().db, workspace.id);
    const delivery = async (trafficSourceId: string, status: "dead" | "delivered", createdAt: Date) => {
      const [row] = await cli
        .db()
        .db.insert(schema.outboundDeliveries)
        .values({
          workspaceId: workspace.id,
          conversionId: newId(),
          revision: 1,
          trafficSourceId,
          event: "conversion",
          url: "https://ads.example/pb?c=1",
          status,
          attempts: 8,
          createdAt,
        })
        .returning({ id: schema.outboundDeliveries.id });
      return row?.id as string;
    };
    const now = Date.now();
    const recent = await delivery(kit.trafficSourceId, "dead", new Date(now - 3_600_000));
    const before = await delivery(kit.trafficSourceId, "dead", new Date(now - 3 * 86_400_000));
    const done = await delivery(kit.trafficSourceId, "delivered", new Date(now - 3_600_000));
    const elsewhere = await delivery(other.trafficSourceId, "dead", new Date(now - 3_600_000));

    const result = hitrail([
      "deliveries",
      "replay",
      "--workspace",
      workspace.id,
      "--traffic-source",
      kit.trafficSourceId,
      "--since",
      new Date(now - 86_400_000).toISOString(),
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ replayed: 1, trafficSourceId: kit.trafficSourceId });
    const status = async (id: string) =>
      (
        await cli.db().db.select().from(schema.outboundDeliveries).where(eq(schema.outboundDeliveries.id, id))
      )[0]?.status;
    expect([await status(recent), await status(before), await status(done), await status(elsewhere)]).toEqual(
      ["pending", "dead", "delivered", "dead"],
    );

    const bad = hitrail(["deliveries", "replay", "--workspace", workspace.id, "--since", "yesterday"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/name --delivery, or --traffic-source and --since/);
  });

  it("hitrail deliveries resume re-enables a disabled endpoint and sends its paused deliveries", async () => {
    const { workspace } = await factories.workspace(cli.db().db);
    const kit = await factories.campaign(cli.db().db, workspace.id);
    await cli
      .db()
      .db.update(schema.trafficSources)
      .set({ postbackDisabledAt: new Date(), postbackDisabledReason: "every postback has failed since …" })
      .where(eq(schema.trafficSources.id, kit.trafficSourceId));
    const [paused] = await cli
      .db()
      .db.insert(schema.outboundDeliveries)
      .values({
        workspaceId: workspace.id,
        conversionId: newId(),
        revision: 1,
        trafficSourceId: kit.trafficSourceId,
        event: "conversion",
        url: "https://ads.example/pb?c=2",
        status: "paused",
      })
      .returning({ id: schema.outboundDeliveries.id });
    const result = hitrail([
      "deliveries",
      "resume",
      "--workspace",
      workspace.id,
      "--traffic-source",
      kit.trafficSourceId,
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ resumed: 1, trafficSourceId: kit.trafficSourceId });
    const [row] = await cli
      .db()
      .db.select()
      .from(schema.outboundDeliveries)
      .where(eq(schema.outboundDeliveries.id, paused?.id ?? ""));
    expect(row?.status).toBe("pending");
    const [source] = await cli
      .db()
      .db.select()
      .from(schema.trafficSources)
      .where(eq(schema.trafficSources.id, kit.trafficSourceId));
    expect(source?.postbackDisabledAt).toBeNull();
  });
});
