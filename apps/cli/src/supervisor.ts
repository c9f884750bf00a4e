import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** One app `pnpm start` runs as a child process, from its production entry point. */
export interface SupervisedApp {
  name: string;
  /** The entry point, relative to the repository root (apps/tracker/src/main.ts). */
  entry: string;
  /** Where its /healthz answers once it is up. */
  healthUrl: string;
}

export interface SupervisorOptions {
  /** The environment every child gets (see childEnvironment in start.ts). */
  env: NodeJS.ProcessEnv;
  /** One line to the person at the terminal. */
  say: (line: string) => void;
  /** Restarts allowed within a minute before the supervisor gives up on an app (default 5). */
  maxRestartsPerMinute?: number;
  /** Wait before the n-th restart within a minute (1-based): 1 s, 2 s, 4 s, … capped at 8 s. */
  backoffMs?: (restart: number) => number;
  /** How long an app may take to answer /healthz after it was started (default 60 s). */
  startTimeoutMs?: number;
  /** How long an app may take to stop after SIGTERM before it is killed (default 25 s). */
  stopTimeoutMs?: number;
}

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Loaded into every child: it stops when its supervisor is gone (see supervised.ts). */
const PRELOAD = fileURLToPath(new URL("./supervised.ts", import.meta.url));

const defaultBackoff = (restart: number) => Math.min(8_000, 1_000 * 2 ** (restart - 1));

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `killed by ${signal}`;
  return `exit code ${code}`;
}

const seconds = (ms: number) => `${Number((ms / 1_000).toFixed(1))} s`;

interface Running {
  app: SupervisedApp;
  child: ChildProcess | null;
  exited: Promise<void>;
  /** Exit times of recent unexpected exits, for the restarts-per-minute cap. */
  crashes: number[];
  restartTimer: NodeJS.Timeout | null;
  /** Answered /healthz once: from then on an exit is a crash to restart, before it a failed start. */
  started: boolean;
}

/**
 * Runs apps as child processes and keeps them running: an app that exits on its own is started again
 * after a short backoff and the supervisor says so in one line; past `maxRestartsPerMinute` it gives
 * up on that app (the others keep running). Each child runs in its own process group, so a Ctrl-C at
 * the terminal reaches only the supervisor, which stops the children itself, in order, before the
 * databases under them.
 */
export class Supervisor {
  private readonly apps = new Map<string, Running>();
  private stopping = false;
  private readonly maxRestarts: number;
  private readonly backoff: (restart: number) => number;

  constructor(private readonly opts: SupervisorOptions) {
    this.maxRestarts = opts.maxRestartsPerMinute ?? 5;
    this.backoff = opts.backoffMs ?? defaultBackoff;
  }

  /** Starts an app and resolves once it answers /healthz; throws if it exits or never answers. */
  async start(app: SupervisedApp): Promise<void> {
    const running: Running = {
      app,
      child: null,
      exited: Promise.resolve(),
      crashes: [],
      restartTimer: null,
      started: false,
    };
    if (this.stopping) throw new Error("stopping");
    this.apps.set(app.name, running);
    this.spawn(running);
    await this.waitHealthy(running);
    running.started = true;
  }

  /** The pid of an app's current process (tests kill it). */
  pid(name: string): number | undefined {
    return this.apps.get(name)?.child?.pid;
  }

  /** SIGTERM to every app at once (each drains on its own), SIGKILL for any still running after the deadline. */
  async stop(): Promise<void> {
    this.stopping = true;
    const deadline = this.opts.stopTimeoutMs ?? 25_000;
    await Promise.all(
      [...this.apps.values()].map(async (running) => {
        if (running.restartTimer) clearTimeout(running.restartTimer);
        const child = running.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => {
          this.opts.say(`hitrail: ${running.app.name} did not stop within ${seconds(deadline)}; killing it`);
          child.kill("SIGKILL");
        }, deadline);
        await running.exited;
        clearTimeout(timer);
      }),
    );
  }

  private spawn(running: Running): void {
    const child = spawn(process.execPath, ["--import", "tsx", "--import", PRELOAD, running.app.entry], {
      cwd: ROOT,
      env: this.opts.env,
      // Own process group: the terminal's Ctrl-C is the supervisor's to handle, not each app's.
      detached: true,
      // The IPC channel is how a child notices that its supervisor is gone (supervised.ts).
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    running.child = child;
    running.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        resolve();
        if (running.child === child) this.onExit(running, code, signal);
      });
    });
    // Spawn failures (no node binary, EAGAIN) arrive as "error" and may come without "exit".
    child.once("error", (error) => {
      this.opts.say(`hitrail: could not start ${running.app.name}: ${error.message}`);
    });
  }

  private onExit(running: Running, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || !running.started) return;
    const { name } = running.app;
    const now = Date.now();
    running.crashes = running.crashes.filter((t) => now - t < 60_000);
    running.crashes.push(now);
    const restart = running.crashes.length;
    if (restart > this.maxRestarts) {
      this.opts.say(
        `hitrail: ${name} exited (${describeExit(code, signal)}) ${restart} times within a minute; not restarting it again (the other apps keep running; see its log above)`,
      );
      return;
    }
    const delay = this.backoff(restart);
    this.opts.say(
      `hitrail: ${name} exited (${describeExit(code, signal)}); restarting it in ${seconds(delay)} (restart ${restart} of at most ${this.maxRestarts} a minute)`,
    );
    running.restartTimer = setTimeout(() => {
      running.restartTimer = null;
      if (!this.stopping) this.spawn(running);
    }, delay);
  }

  private async waitHealthy(running: Running): Promise<void> {
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 60_000);
    const child = running.child;
    for (;;) {
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${running.app.name} exited before it answered (${describeExit(child?.exitCode ?? null, child?.signalCode ?? null)}; see its log above)`,
        );
      }
      try {
        const response = await fetch(running.app.healthUrl, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(`${running.app.name} did not answer ${running.app.healthUrl} within 60 s`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}
