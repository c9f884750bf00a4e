import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { idTime, newId, newIdAt } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { eq, schema } from "@hitrail/db/testing/sql";
import { describe, expect, it } from "vitest";
import { cliAgainstTestDatabase } from "./support/cli.ts";

const cli = cliAgainstTestDatabase();
const { hitrail } = cli;

describe("hitrail conversions import FILE --workspace SLUG", () => {
  it("imports a CSV with progress, and the same file again changes nothing", async () => {
    const { workspace } = await factories.workspace(cli.db().db);
    const kit = await factories.campaign(cli.db().db, workspace.id);
    const at = Date.now() - 86_400_000;
    const offer = newIdAt(at);
    await cli
      .db()
      .db.insert(schema.hits)
      .values({
        id: offer,
        workspaceId: workspace.id,
        visitorId: newId(),
        funnelId: kit.funnelId,
        nodeId: kit.nodes.offerA,
        pageId: kit.offerIds[0],
        pageKind: "offer",
        trafficSourceId: kit.trafficSourceId,
        externalId: "ZX-9",
        createdAt: new Date(idTime(offer)),
      });
    const dir = mkdtempSync(join(tmpdir(), "hitrail-import-"));
    const file = join(dir, "feed.csv");
    writeFileSync(file, `subid;amount;order\n${offer};4.20;o-1\n${newId()};1;o-2\n${offer};abc;o-3\n`);

    const first = hitrail([
      "conversions",
      "import",
      file,
      "--workspace",
      workspace.slug,
      "--map",
      "hit=subid,rev=amount,tx=order",
    ]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/100% 3 rows .*1 created, 0 updated, 0 deleted, 0 unchanged, 2 refused/);
    expect(first.stdout).toMatch(
      /^import [0-9a-f-]+: 3 rows in [\d.]+ s — 1 created, 0 updated, 0 deleted, 0 unchanged, 2 refused\n$/,
    );
    const [conversion] = await cli
      .db()
      .db.select()
      .from(schema.conversions)
      .where(eq(schema.conversions.workspaceId, workspace.id));
    expect([conversion?.hitId, conversion?.tx, conversion?.revenue]).toEqual([offer, "o-1", "4.200000"]);

    // Again, with the remembered mapping and JSON output: nothing changes.
    const second = hitrail(["conversions", "import", file, "--workspace", workspace.slug, "--json"]);
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      status: "done",
      resumed: false,
      rows: 3,
      created: 0,
      unchanged: 1,
      refused: 2,
    });
    expect(
      (
        await cli
          .db()
          .db.select()
          .from(schema.conversions)
          .where(eq(schema.conversions.workspaceId, workspace.id))
      ).length,
    ).toBe(1);

    const bad = hitrail(["conversions", "import", file, "--workspace", workspace.slug, "--map", "tx=order"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/mapping: Hit ID, External click ID or Visitor ID/);
  });
});
