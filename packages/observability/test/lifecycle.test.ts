import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, describeStartupError, Lifecycle } from "../src/index.ts";

const silent = () =>
  createLogger({ name: "test", level: "silent", destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe("Lifecycle", () => {
  it("closes in registration order, once, even when asked twice", async () => {
    const order: string[] = [];
    const life = new Lifecycle(silent());
    life.onShutdown("http", () => void order.push("http"));
    life.onShutdown("pool", async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push("pool");
    });
    await Promise.all([life.shutdown("test"), life.shutdown("again")]);
    expect(order).toEqual(["http", "pool"]);
  });

  it("keeps going past a closer that hangs or throws", async () => {
    const order: string[] = [];
    const life = new Lifecycle(silent(), 20);
    life.onShutdown("hangs", () => new Promise(() => {}));
    life.onShutdown("throws", () => {
      throw new Error("boom");
    });
    life.onShutdown("last", () => void order.push("last"));
    await life.shutdown("test");
    expect(order).toEqual(["last"]);
  });
});

describe("describeStartupError", () => {
  it.each([
    [
      { code: "ECONNREFUSED", address: "127.0.0.1", port: 1 },
      "connection refused at 127.0.0.1:1: is the server running?",
    ],
    [{ name: "ConfigError", problems: ["A bad", "B worse"] }, "invalid configuration: A bad; B worse"],
    [
      { code: "3D000", message: 'database "nope" does not exist' },
      'PostgreSQL database does not exist: database "nope" does not exist',
    ],
    [new Error("first line\nsecond line"), "first line"],
    ["plain", "plain"],
  ])("%o → %s", (error, line) => {
    expect(describeStartupError(error)).toBe(line);
  });
});
