import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { newId } from "@hitrail/db";
import {
  createTestDatabase,
  factories,
  type TestDatabase,
  testRedisPrefix,
  testRedisUrl,
} from "@hitrail/db/testing";
import { eq, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { doctor, formatCheck } from "../src/commands/doctor.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const environment = () => ({
  PATH: process.env.PATH,
  DATABASE_URL: t.url,
  REDIS_URL: testRedisUrl(),
  REDIS_PREFIX: testRedisPrefix("doctor"),
  LOG_LEVEL: "silent",
});

/** `hitrail doctor` as an operator runs it: its outbox line and exit status. */
function doctorCommand() {
  const result = spawnSync(tsx, ["apps/cli/src/main.ts", "doctor"], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: environment(),
  });
  const outbox = result.stdout.split("\n").find((line) => /^\S+\s+outbox\s/.test(line));
  return { status: result.status, outbox, stdout: result.stdout, stderr: result.stderr };
}

/** The same checks in this process (quicker), as the command prints them. */
async function outboxLine(): Promise<string | undefined> {
  const check = (await doctor(environment())).find((c) => c.name === "outbox");
  return check && formatCheck(check);
}

describe("hitrail doctor: the outbox", () => {
  it("says it is empty, then warns in plain words once its oldest job waits longer than 5 minutes", async () => {
    expect(await outboxLine()).toMatch(/^ok\s+outbox\s+empty/);

    const { workspace } = await factories.workspace(t.db);
    const row = (minutesAgo: number) => ({
      id: newId(),
      workspaceId: workspace.id,
      topic: "postback.deliver",
      jobId: `doctor-${newId()}`,
      payload: { workspaceId: workspace.id, deliveryId: newId() },
      createdAt: new Date(Date.now() - minutesAgo * 60_000),
    });
    const fresh = row(1);
    await t.db.insert(schema.outbox).values(fresh);
    expect(await outboxLine()).toMatch(/^ok\s+outbox\s+1 job\(s\) waiting, the oldest for \d+ s$/);

    const stale = row(12);
    await t.db.insert(schema.outbox).values(stale);
    const behind = doctorCommand();
    expect(behind.outbox, behind.stdout + behind.stderr).toMatch(
      /^warn\s+outbox\s+2 job\(s\) waiting, the oldest for 12 minutes: is a worker running with its relay on \(WORKER_RELAY\)\?/,
    );
    // A warning, not a failure: Hitrail still takes traffic, the jobs wait.
    expect(behind.status).toBe(0);

    await t.db
      .update(schema.outbox)
      .set({ relayedAt: new Date() })
      .where(eq(schema.outbox.workspaceId, workspace.id));
    expect(await outboxLine()).toMatch(/^ok\s+outbox\s+empty/);
  }, 120_000);
});

describe("hitrail doctor: the read replica", () => {
  const replicaLine = async (extra: Record<string, string>) => {
    const check = (await doctor({ ...environment(), ...extra })).find((c) => c.name === "read replica");
    return check && formatCheck(check);
  };

  it("says nothing of a replica when DATABASE_READ_URL is unset", async () => {
    expect(await replicaLine({})).toBeUndefined();
  });

  it("warns, without failing, when DATABASE_READ_URL is not a standby or cannot be reached", async () => {
    // The primary itself is no replica: the api would read from the primary, so say so.
    expect(await replicaLine({ DATABASE_READ_URL: t.url })).toMatch(
      /^warn\s+read replica\s+DATABASE_READ_URL the read database is not in recovery \(not a standby\): the api reads from the primary$/,
    );
    const gone = new URL(t.url);
    gone.port = "1";
    expect(await replicaLine({ DATABASE_READ_URL: gone.toString() })).toMatch(
      /^warn\s+read replica\s+cannot use DATABASE_READ_URL \(.+\): the api reads from the primary$/,
    );
  });
});
