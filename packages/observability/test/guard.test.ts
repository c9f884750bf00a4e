import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isTransientError } from "../src/index.ts";

const tsx = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url));
const fixture = fileURLToPath(new URL("./fixtures/guarded.ts", import.meta.url));

function run(kind: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(tsx, [fixture, kind], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

describe("isTransientError", () => {
  it.each([
    [{ code: "ECONNRESET" }, true],
    [{ code: "CONNECTION_CLOSED" }, true],
    [{ code: "57P01" }, true],
    [{ code: "08006" }, true],
    [{ message: "Connection is closed." }, true],
    [{ message: "wrapped", cause: { code: "ECONNREFUSED" } }, true],
    [new TypeError("Cannot read properties of null (reading 'write')"), false],
    [{ code: "23505" }, false],
    [null, false],
  ])("%o → %s", (error, expected) => {
    expect(isTransientError(error)).toBe(expected);
  });
});

describe("guardProcess", () => {
  it.each(["reset", "pg-closed", "rejection"])("keeps serving after an escaped %s", async (kind) => {
    const { code, out } = await run(kind);
    expect(out).toContain("alive 3");
    expect(code).toBe(0);
  });

  it("shuts down gracefully and exits non-zero on a bug, for the supervisor to restart", async () => {
    const { code, out } = await run("bug");
    expect(out).toContain("graceful shutdown ran");
    expect(out).toContain("uncaught exception: shutting down to be restarted");
    expect(out).not.toContain("alive 3");
    expect(code).toBe(1);
  });
});
