import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { createLogger, flushSentry, initSentry } from "@hitrail/observability";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./harness.ts";

// Issue 18 (5): an unexpected error answers a generic message with an id; the log line has the id
// and the details; Sentry gets neither the request body of an auth call nor the password, hash or
// query parameters. This file turns Sentry on for its own process, pointed at a local collector.

const PASSWORD = "hunter2 hunter2 hunter2";
let h: Harness;
let collector: Server;
const envelopes: string[] = [];
const lines: string[] = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      envelopes.push(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  const port = (collector.address() as AddressInfo).port;
  await initSentry({ dsn: `http://public@127.0.0.1:${port}/1`, app: "api-test", environment: "test" });
  const logger = createLogger({
    name: "api-test",
    level: "info",
    destination: new Writable({
      write: (chunk, _e, cb) => {
        lines.push(chunk.toString());
        cb();
      },
    }),
  });
  h = await startHarness({}, { logger });
  // Every new account now fails in the database, as a bug or an outage would make it.
  await h.t.sql`alter table users add constraint test_refuse_new check (false) not valid`;
});

afterAll(async () => {
  await h?.close();
  collector?.close();
});

describe("unexpected errors", () => {
  it("answer a generic message with an error id, log the details under it, and send Sentry nothing secret", async () => {
    const res = await fetch(`${h.base}/trpc/auth.signUp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "leak@example.com", password: PASSWORD, name: "Ann" }),
    });
    const text = await res.text();
    expect(res.status).toBe(500);
    const body = JSON.parse(text) as { error: { message: string; data: { errorId: string } } };
    const errorId = body.error.data.errorId;
    expect(errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.error.message).toBe(
      `something went wrong on our side; if it persists, report error id ${errorId}`,
    );
    for (const secret of [PASSWORD, "argon2", "insert", "users", "params", "stack", "leak@example.com"]) {
      expect(text).not.toContain(secret);
    }

    const line = lines.find((l) => l.includes(errorId));
    expect(line).toBeDefined();
    expect(line).toContain("api procedure failed");
    expect(line).toContain("test_refuse_new");
    expect(line).not.toContain(PASSWORD);
    expect(line).not.toMatch(/\$argon2id\$v=/);

    await flushSentry(5_000);
    const sent = envelopes.join("\n");
    expect(sent).toContain(errorId);
    expect(sent).not.toContain(PASSWORD);
    expect(sent).not.toMatch(/\$argon2id\$v=/);
  });
});
