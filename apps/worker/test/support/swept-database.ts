import { createDb, type DbClient, sweepHitRollups } from "@hitrail/db";
import { createTestDatabase, type TestDatabase } from "@hitrail/db/testing";
import { afterAll, beforeAll, expect } from "vitest";

export interface SweptDatabase {
  /** The test file's own database; `t.db` is the app role's pool. */
  t: TestDatabase;
  /** The worker's maintenance role, which row-level security lets see every workspace: the sweeps run on it. */
  maintenance: DbClient;
  /** A second app-role pool, for transactions held open while a sweep runs. */
  other: DbClient;
}

/**
 * The database of a visit-rollup test file, made before its tests and dropped after them. The first
 * hit sweep has run (it starts the watermark), so every sweep a test makes is a regular one.
 */
export function useSweptDatabase(options: { otherPool?: number } = {}): SweptDatabase {
  const rig = {} as SweptDatabase;
  beforeAll(async () => {
    rig.t = await createTestDatabase();
    rig.maintenance = createDb(rig.t.maintenanceUrl, { max: 2 });
    rig.other = createDb(rig.t.url, { max: options.otherPool ?? 2 });
    expect((await sweepHitRollups(rig.maintenance.db)).status).toBe("started");
  });
  afterAll(async () => {
    await rig.maintenance?.close();
    await rig.other?.close();
    await rig.t?.drop();
  });
  return rig;
}
