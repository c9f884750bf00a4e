import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newIdAt } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { schema } from "@hitrail/db/testing/sql";
import { describe, expect, it } from "vitest";
import { cliAgainstTestDatabase } from "./support/cli.ts";

const cli = cliAgainstTestDatabase();
const { hitrail } = cli;

describe("hitrail costs", () => {
  it("sets, lists, uploads (refusing a bad file whole) and undoes cost updates", async () => {
    const { workspace } = await factories.workspace(cli.db().db);
    const kit = await factories.campaign(cli.db().db, workspace.id);
    const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    const at = [Date.parse(`${day}T09:00:00Z`), Date.parse(`${day}T17:00:00Z`)];
    await cli
      .db()
      .db.insert(schema.hits)
      .values(
        at.map((ms, i) => ({
          id: newIdAt(ms),
          workspaceId: workspace.id,
          visitorId: newIdAt(ms),
          funnelId: kit.funnelId,
          nodeId: kit.nodes.lander,
          pageId: kit.landerId,
          pageKind: "lander" as const,
          trafficSourceId: kit.trafficSourceId,
          trackingFields: { zone: `z${i}` },
          createdAt: new Date(ms),
        })),
      );
    const ws = ["--workspace", workspace.slug];

    const set = hitrail([
      "costs",
      "set",
      ...ws,
      "--traffic-source",
      kit.trafficSourceId,
      "--from",
      day,
      "--to",
      day,
      "--amount",
      "0.05",
    ]);
    expect(set.stderr).toBe("");
    expect(set.status).toBe(0);
    const update = JSON.parse(set.stdout);
    expect(update).toMatchObject({
      status: "live",
      visits: 2,
      allocated: "0.05",
      origin: "cli",
      mode: "total",
    });

    const dir = mkdtempSync(join(tmpdir(), "hitrail-costs-"));
    const bad = join(dir, "bad.csv");
    writeFileSync(
      bad,
      `date,source,zone,amount\n${day},Demo traffic source,z0,3\n${day},Demo traffic source,z1,three\n`,
    );
    const refused = hitrail(["costs", "upload", ...ws, bad]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /hitrail costs upload: nothing was changed; 1 bad line\(s\): line 3: amount 'three'/,
    );

    const good = join(dir, "good.csv");
    writeFileSync(good, `date,source,zone,amount\n${day},Demo traffic source,z0,3\n`);
    const uploaded = hitrail(["costs", "upload", ...ws, good]);
    expect(uploaded.status).toBe(0);
    expect(JSON.parse(uploaded.stdout).updates).toMatchObject([
      { field: "zone=z0", visits: 1, file: "good.csv:2" },
    ]);

    const list = JSON.parse(hitrail(["costs", "list", ...ws]).stdout);
    expect(list.map((u: { status: string }) => u.status)).toEqual(["live", "live"]);

    const undo = hitrail(["costs", "undo", ...ws, "--update", update.id]);
    expect(undo.status).toBe(0);
    expect(JSON.parse(undo.stdout).status).toBe("undone");
    const again = hitrail(["costs", "undo", ...ws, "--update", update.id]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already undone/);

    const none = hitrail(["costs", "set", ...ws, "--from", day, "--to", day, "--amount", "1"]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/name what the cost is for/);
  }, 240_000);
});
