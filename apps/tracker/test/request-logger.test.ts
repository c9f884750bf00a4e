import { Writable } from "node:stream";
import { createLogger } from "@hitrail/observability";
import type { FastifyBaseLogger } from "fastify";
import { describe, expect, it } from "vitest";
import { lazyRequestLogger } from "../src/request-logger.ts";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    name: "request-logger-test",
    level: "info",
    destination: new Writable({
      write: (chunk, _e, cb) => {
        for (const line of String(chunk).split("\n")) if (line.trim()) lines.push(JSON.parse(line));
        cb();
      },
    }),
  }) as unknown as FastifyBaseLogger;
  return { logger, lines };
}

describe("a request's logger, made when the request first logs", () => {
  it("makes no child for a request that never logs", () => {
    const { logger } = capture();
    let children = 0;
    const parent = Object.assign(Object.create(logger) as FastifyBaseLogger, {
      child: (...args: Parameters<FastifyBaseLogger["child"]>) => {
        children++;
        return logger.child(...args);
      },
    });
    const log = lazyRequestLogger(parent, { reqId: "r-1" }, {});
    expect(log.level).toBe("info");
    expect(children).toBe(0);
    log.info({ a: 1 }, "first");
    log.warn("second");
    expect(children).toBe(1);
  });

  it("writes every line with the request's bindings, as the child logger would", () => {
    const { logger, lines } = capture();
    const log = lazyRequestLogger(logger, { reqId: "r-2" }, {});
    log.info({ host: "nobody.example" }, "unknown tracking host");
    log.error({ err: new Error("boom") }, "failed");
    log.debug("below the level: not written");
    log.child({ extra: true }).info("from a child");
    expect(lines).toMatchObject([
      { level: 30, reqId: "r-2", host: "nobody.example", msg: "unknown tracking host" },
      { level: 50, reqId: "r-2", msg: "failed", err: { message: "boom" } },
      { level: 30, reqId: "r-2", extra: true, msg: "from a child" },
    ]);
  });

  it("honours a level given for the child", () => {
    const { logger, lines } = capture();
    const log = lazyRequestLogger(logger, { reqId: "r-3" }, { level: "warn" });
    expect(log.level).toBe("warn");
    log.info("not written");
    log.warn("written");
    expect(lines).toMatchObject([{ reqId: "r-3", msg: "written" }]);
    expect(lines).toHaveLength(1);
  });
});
