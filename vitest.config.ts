import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// One vitest process runs every package's suite; each project is a package or app.
// The global setup prepares a migrated template database that every test file clones.
const project = (name: string, dir: string) => ({
  extends: true as const,
  test: { name, root: here(dir), include: ["test/**/*.test.ts", "src/**/*.test.ts"] },
});

export default defineConfig({
  test: {
    globalSetup: [here("./packages/db/src/testing/global-setup.ts")],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      project("core", "packages/core"),
      project("config", "packages/config"),
      project("observability", "packages/observability"),
      project("db", "packages/db"),
      project("conversions", "packages/conversions"),
      project("queue", "packages/queue"),
      project("tracker", "apps/tracker"),
      project("api", "apps/api"),
      project("worker", "apps/worker"),
      project("cli", "apps/cli"),
      project("tag", "packages/tag"),
      project("web", "apps/web"),
      project("infra", "infra"),
      project("tooling", "tooling"),
      // The topology suite starts a PostgreSQL primary and replica (and more) of its own: only
      // `pnpm test:topology` runs it.
      ...(process.env.HITRAIL_TOPOLOGY
        ? [
            {
              extends: true as const,
              test: {
                name: "topology",
                root: here("test/topology"),
                include: ["**/*.test.ts"],
                testTimeout: 120_000,
                hookTimeout: 180_000,
              },
            },
          ]
        : []),
      // The fault suite stops and kills servers of its own for minutes: only `pnpm test:faults` runs it.
      ...(process.env.HITRAIL_FAULTS
        ? [
            {
              ...project("faults", "faults"),
              test: { ...project("faults", "faults").test, testTimeout: 600_000 },
            },
          ]
        : []),
    ],
  },
});
