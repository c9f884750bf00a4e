import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { type AddressInfo, createServer, type Server } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase, testRedisPrefix, testRedisUrl } from "@hitrail/db/testing";
import { createRedis } from "@hitrail/queue";
import { afterAll, describe, expect, it, vi } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;

describe("a wrong DATABASE_URL", () => {
  // The tracker is the exception: it must start during a database outage (issue 17), so an
  // unreachable server is no reason to exit for it; a database that does not exist still is.
  it("makes the tracker exit non-zero with a one-line reason when the database does not exist", () => {
    const server = new URL(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
    server.pathname = "/hitrail_no_such_database";
    const result = spawnSync(tsx, ["apps/tracker/src/main.ts"], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: server.toString(),
        REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
        REDIS_PREFIX: "hitrail-test:startup-tracker",
        TRACKER_PORT: "0",
      },
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hitrail tracker: .*database does not exist/);
  });

  it("lets the tracker start while PostgreSQL is unreachable, saying so", async () => {
    const child = spawn(tsx, ["apps/tracker/src/main.ts"], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: "postgres://nobody@127.0.0.1:1/nothing",
        REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
        REDIS_PREFIX: "hitrail-test:startup-tracker-down",
        TRACKER_PORT: "0",
        HOST: "127.0.0.1",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    try {
      await vi.waitFor(() => expect(output).toContain("tracker listening"), {
        timeout: 30_000,
        interval: 100,
      });
      expect(output).toContain("starting without PostgreSQL");
      expect(child.exitCode).toBeNull();
    } finally {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    }
  });

  it.each(["api", "worker"])("makes the %s exit non-zero with a one-line reason", (app) => {
    const result = spawnSync(tsx, [`apps/${app}/src/main.ts`], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: "postgres://nobody@127.0.0.1:1/nothing",
        MAINTENANCE_DATABASE_URL: "postgres://nobody@127.0.0.1:1/nothing",
        REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
        REDIS_PREFIX: `hitrail-test:startup-${app}`,
        TRACKER_PORT: "0",
        API_PORT: "0",
        WORKER_PORT: "0",
      },
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^hitrail ${app}: .*connection refused at 127\\.0\\.0\\.1:1`));
  });

  it("is refused before connecting when it is not a postgres URL", () => {
    const result = spawnSync(tsx, ["apps/tracker/src/main.ts"], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: process.env.PATH, DATABASE_URL: "mysql://x", LOG_LEVEL: "loud" },
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'hitrail tracker: configuration: invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL; LOG_LEVEL Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"',
    );
  });
});

/** Ports nobody listens on right now. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve) => {
          const server = createServer();
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Processes under `root` (children, grandchildren, …) with their command lines. */
function descendants(root: number): Array<{ pid: number; args: string }> {
  const ps = spawnSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" }).stdout;
  const rows = ps
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] ?? "" }));
  const found: Array<{ pid: number; args: string }> = [];
  const walk = (pid: number) => {
    for (const row of rows.filter((r) => r.ppid === pid)) {
      found.push({ pid: row.pid, args: row.args });
      walk(row.pid);
    }
  };
  walk(root);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(
  what: string,
  check: () => Promise<T | null | undefined> | T | null | undefined,
  ms: number,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const answers = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.ok,
    () => false,
  );

describe("pnpm start", () => {
  let t: TestDatabase | undefined;
  let dataDir: string | undefined;
  const prefix = testRedisPrefix("start");
  afterAll(async () => {
    await t?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    // The worker's queues and schedules, under this test's prefix.
    const redis = createRedis(testRedisUrl());
    try {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== "0");
    } finally {
      await redis.quit();
    }
  });

  it("says which databases it uses, restarts an app that dies, and stops cleanly on Ctrl-C", async () => {
    t = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), "hitrail-start-"));
    const [tracker, api, web, pages, worker] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    // A password the server (trust) ignores, to see it masked.
    const databaseUrl = new URL(t.url);
    databaseUrl.password = "s3cret-pw";
    // Under pnpm, the same pnpm; else the one on PATH.
    const pnpm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ["pnpm"];
    const child = spawn(pnpm[0]!, [...pnpm.slice(1), "start"], {
      cwd: root,
      // Its own process group, as a terminal's foreground job: Ctrl-C is a SIGINT to the whole group.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl.toString(),
        REDIS_URL: testRedisUrl(),
        REDIS_PREFIX: prefix,
        DATA_DIR: dataDir,
        TRACKER_PORT: String(tracker),
        API_PORT: String(api),
        WEB_PORT: String(web),
        DEMO_PAGES_PORT: String(pages),
        WORKER_PORT: String(worker),
        HOST: "",
        LOG_LEVEL: "info",
      },
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    try {
      await until(
        "Hitrail is running",
        () => output.includes("Stop with Ctrl-C.") || child.exitCode !== null,
        180_000,
      );
      expect(child.exitCode, output).toBeNull();

      // One line each: which PostgreSQL and which Redis, the password masked.
      const lines = output.split("\n");
      const pgLine = lines.filter((l) => l.startsWith("hitrail: PostgreSQL "));
      expect(pgLine).toEqual([
        expect.stringMatching(
          /^hitrail: PostgreSQL from DATABASE_URL: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:/,
        ),
      ]);
      expect(output).not.toContain("s3cret-pw");
      expect(lines.filter((l) => l.startsWith("hitrail: Redis "))).toEqual([
        `hitrail: Redis from REDIS_URL: ${testRedisUrl().replace(/\/$/, "")}`,
      ]);

      // Every app answers, on loopback only (HOST unset).
      for (const port of [tracker, api, worker, web]) {
        expect(await answers(`http://127.0.0.1:${port}/healthz`), `port ${port}`).toBe(true);
      }
      const lan = Object.values(networkInterfaces())
        .flat()
        .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
      if (lan) expect(await answers(`http://${lan}:${tracker}/healthz`), `tracker on ${lan}`).toBe(false);

      // Each app is a child process from its production entry point.
      const apps = descendants(child.pid!);
      const pidOf = (entry: string) => apps.find((p) => p.args.includes(entry))?.pid;
      const trackerPid = pidOf("apps/tracker/src/main.ts");
      expect(trackerPid, JSON.stringify(apps)).toBeDefined();
      const appPids = ["tracker", "api", "worker"].map((a) => pidOf(`apps/${a}/src/main.ts`));
      expect(appPids.every((p) => p !== undefined)).toBe(true);

      // kill -9 the tracker: it is restarted, says so, and answers again.
      process.kill(trackerPid!, "SIGKILL");
      await until(
        "the restart line",
        () => /hitrail: tracker exited \(killed by SIGKILL\); restarting it in 1 s/.test(output),
        10_000,
      );
      await until("the new tracker to answer", () => answers(`http://127.0.0.1:${tracker}/healthz`), 60_000);
      const restarted = descendants(child.pid!).find((p) => p.args.includes("apps/tracker/src/main.ts"))?.pid;
      expect(restarted).toBeDefined();
      expect(restarted).not.toBe(trackerPid);
      const entrance = /demo entrance\s+(\S+)/.exec(output)?.[1];
      expect(entrance).toBeDefined();
      // Issue 22: the link carries the port the tracker listens on, as every link shown does.
      expect(new URL(entrance!).host).toBe(`demo.localhost:${tracker}`);
      // The demo sign-in opens the dashboard (through its own /trpc proxy).
      const signIn = /demo sign-in\s+(\S+) \/ (\S+)/.exec(output);
      expect(signIn, output).not.toBeNull();
      const signedIn = await fetch(`http://127.0.0.1:${web}/trpc/auth.signIn`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: signIn![1], password: signIn![2] }),
      });
      expect(signedIn.status, await signedIn.clone().text()).toBe(200);
      // The restarted tracker serves the demo entrance link (the Host header picks the workspace).
      const link = new URL(entrance!);
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: tracker,
            path: `${link.pathname}${link.search}`,
            headers: { host: link.host },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(status).toBe(302);

      // Ctrl-C: the apps stop first, then start exits 0, without a crash or pnpm's ELIFECYCLE.
      process.kill(-child.pid!, "SIGINT");
      const { code, signal } = await Promise.race([
        exited,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`no exit after SIGINT:\n${output}`)), 60_000),
        ),
      ]);
      expect({ code, signal }, output).toEqual({ code: 0, signal: null });
      expect(output).not.toMatch(/TypeError|ELIFECYCLE|Unhandled/);
      for (const pid of [...appPids, restarted]) expect(alive(pid!), `pid ${pid}`).toBe(false);
      for (const port of [tracker, api, worker, web]) {
        expect(await answers(`http://127.0.0.1:${port}/healthz`), `port ${port} after stop`).toBe(false);
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        for (const p of descendants(child.pid!)) process.kill(p.pid, "SIGKILL");
        process.kill(-child.pid!, "SIGKILL");
      }
    }
  }, 300_000);
});
