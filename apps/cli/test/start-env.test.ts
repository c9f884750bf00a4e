import { describe, expect, it } from "vitest";
import { startEnv } from "../src/env.ts";

// Issue 18 (5, 14): `pnpm start` runs the apps in production mode unless told otherwise.
describe("pnpm start's environment", () => {
  it("is production when NODE_ENV is unset, for the apps and for libraries", () => {
    const raw: Record<string, string | undefined> = {};
    expect(startEnv(raw).NODE_ENV).toBe("production");
    expect(raw.NODE_ENV).toBe("production");
  });

  it("keeps what it is told", () => {
    expect(startEnv({ NODE_ENV: "development" }).NODE_ENV).toBe("development");
  });
});
