import { type AddressInfo, createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { Supervisor } from "../src/supervisor.ts";

const ENTRY = "apps/cli/test/fixtures/short-lived-app.ts";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the supervisor of pnpm start", () => {
  it("restarts an app that keeps exiting, then gives up past the cap, saying so in one line each", async () => {
    const port = await freePort();
    const lines: string[] = [];
    const supervisor = new Supervisor({
      env: { ...process.env, APP_PORT: String(port), APP_LIFE_MS: "1500" },
      say: (line) => lines.push(line),
      maxRestartsPerMinute: 2,
      backoffMs: (n) => 50 * n,
    });
    try {
      await supervisor.start({ name: "flaky", entry: ENTRY, healthUrl: `http://127.0.0.1:${port}/healthz` });
      await until("the supervisor to give up", () => lines.length >= 3, 45_000);
      expect(lines).toEqual([
        "hitrail: flaky exited (exit code 3); restarting it in 0.1 s (restart 1 of at most 2 a minute)",
        "hitrail: flaky exited (exit code 3); restarting it in 0.1 s (restart 2 of at most 2 a minute)",
        "hitrail: flaky exited (exit code 3) 3 times within a minute; not restarting it again (the other apps keep running; see its log above)",
      ]);
      await new Promise((r) => setTimeout(r, 500));
      expect(lines).toHaveLength(3);
    } finally {
      await supervisor.stop();
    }
  }, 60_000);

  it("stops its apps with SIGTERM and restarts none of them while stopping", async () => {
    const port = await freePort();
    const lines: string[] = [];
    const supervisor = new Supervisor({
      env: { ...process.env, APP_PORT: String(port) },
      say: (l) => lines.push(l),
    });
    await supervisor.start({ name: "steady", entry: ENTRY, healthUrl: `http://127.0.0.1:${port}/healthz` });
    const pid = supervisor.pid("steady");
    expect(pid).toBeGreaterThan(0);
    await supervisor.stop();
    expect(() => process.kill(pid!, 0)).toThrow();
    expect(lines).toEqual([]);
  }, 60_000);

  it("fails the start of an app that exits before it answers, without restarting it", async () => {
    const lines: string[] = [];
    const supervisor = new Supervisor({
      // Not a port: the app exits at once, with code 1.
      env: { ...process.env, APP_PORT: "not-a-port" },
      say: (l) => lines.push(l),
    });
    await expect(
      supervisor.start({ name: "broken", entry: ENTRY, healthUrl: "http://127.0.0.1:1/healthz" }),
    ).rejects.toThrow(/broken exited before it answered \(exit code 1/);
    await supervisor.stop();
    expect(lines).toEqual([]);
  }, 60_000);
});
