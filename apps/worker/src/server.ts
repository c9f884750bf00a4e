import { createHash, timingSafeEqual } from "node:crypto";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { Logger } from "@hitrail/observability";
import type { Queue } from "bullmq";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { WorkerMetrics } from "./metrics.ts";

export interface AdminServerDeps {
  logger: Logger;
  metrics: WorkerMetrics;
  /** Queues shown on the dashboard (every queue, not only the ones this process consumes). */
  queues: Queue[];
  /** Without a token the /queues dashboard is not mounted at all. */
  adminToken: string | undefined;
  /** Each check throws when its dependency is not usable. */
  readiness: Record<string, () => Promise<void>>;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Bearer <token>, or Basic with the token as password (what a browser can send for the dashboard). */
export function isAuthorized(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const [scheme, value = ""] = header.split(" ", 2);
  let presented: string | null = null;
  if (scheme?.toLowerCase() === "bearer") presented = value.trim();
  if (scheme?.toLowerCase() === "basic") {
    const decoded = Buffer.from(value.trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    presented = colon === -1 ? null : decoded.slice(colon + 1);
  }
  // Comparing digests keeps the comparison constant-time whatever the lengths.
  return presented !== null && timingSafeEqual(digest(presented), digest(token));
}

async function withTimeout(check: () => Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const running = check();
  // A check that fails after the deadline already answered must not become an unhandled rejection.
  running.catch(() => undefined);
  try {
    await Promise.race([
      running,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The worker's small admin server: /healthz (the process answers), /readyz (Postgres, Redis and the
 * queue workers are usable), /metrics (Prometheus) and, with WORKER_ADMIN_TOKEN, the bull-board
 * dashboard at /queues. Meant for the internal network: /metrics has no auth of its own.
 */
export async function buildAdminServer(deps: AdminServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });

  app.get("/healthz", async () => ({ ok: true }));

  app.get("/readyz", async (_request, reply) => {
    const checks: Record<string, string> = {};
    let ok = true;
    await Promise.all(
      Object.entries(deps.readiness).map(async ([name, check]) => {
        try {
          await withTimeout(check, 800);
          checks[name] = "ok";
        } catch (error) {
          ok = false;
          checks[name] = error instanceof Error ? error.message : String(error);
        }
      }),
    );
    return reply.code(ok ? 200 : 503).send({ ok, checks });
  });

  app.get("/metrics", async (_request, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });

  const token = deps.adminToken;
  if (token) {
    const board = new FastifyAdapter();
    board.setBasePath("/queues");
    createBullBoard({
      queues: deps.queues.map((q) => new BullMQAdapter(q)),
      // @bull-board/fastify 9.10.1 declares its own @bull-board/api 9.10.1 types next to our 9.10.2:
      // identical at runtime, distinct to TypeScript until both are pinned to one version.
      serverAdapter: board as unknown as Parameters<typeof createBullBoard>[0]["serverAdapter"],
      options: { uiConfig: { boardTitle: "Hitrail worker" } },
    });
    await app.register(async (scope) => {
      scope.addHook("onRequest", async (request, reply) => {
        if (isAuthorized(request.headers.authorization, token)) return;
        request.log.info({ url: request.url }, "dashboard request without a valid token");
        return reply
          .code(401)
          .header("www-authenticate", 'Basic realm="hitrail worker", charset="UTF-8"')
          .send({ error: "unauthorized" });
      });
      await scope.register(board.registerPlugin(), { prefix: "/queues" });
    });
  }

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: "not found" }));
  return app;
}
