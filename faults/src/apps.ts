import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

export type AppName = "tracker" | "worker";

/**
 * One Hitrail app as production runs it: its own process from its entry point (apps/NAME/src/main.ts),
 * configured by environment only. Output is kept for the assertions (crashes, log lines).
 */
export class AppProcess {
  private child: ChildProcess | null = null;
  output = "";
  exits: Array<{ code: number | null; signal: NodeJS.Signals | null }> = [];

  constructor(
    readonly name: AppName,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and resolves once /healthz answers (or rejects with its output). */
  async start(timeoutMs = 30_000): Promise<void> {
    // Node itself with tsx as its loader: the tsx CLI would put a wrapper process in between, and a
    // kill -9 of the wrapper would leave the app running as an orphan.
    const child = spawn(process.execPath, ["--import", "tsx", `apps/${this.name}/src/main.ts`], {
      cwd: root,
      env: { ...process.env, ...this.env, NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    child.stdout?.on("data", (d: Buffer) => {
      this.output += String(d);
    });
    child.stderr?.on("data", (d: Buffer) => {
      this.output += String(d);
    });
    child.once("exit", (code, signal) => this.exits.push({ code, signal }));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited while starting:\n${this.output.slice(-2000)}`);
      if ((await get(this.port, "/healthz").catch(() => null))?.status === 200) return;
      await sleep(50);
    }
    throw new Error(
      `${this.name} did not answer /healthz within ${timeoutMs} ms:\n${this.output.slice(-2000)}`,
    );
  }

  /** kill -9: no shutdown hook runs, as when a machine or a container dies. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.once("exit", () => {
        clearTimeout(force);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A GET to one of our ports with an optional Host header (fetch may not set Host). */
export function get(
  port: number,
  path: string,
  host = "localhost",
  timeoutMs = 5_000,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host }, timeout: timeoutMs }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += String(d);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
