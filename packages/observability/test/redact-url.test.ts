import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, redactUrl } from "../src/index.ts";

describe("redactUrl: secret-like query parameters never leave in a URL", () => {
  it.each<[string, string]>([
    ["/pb?hit=H&key=SECRET&rev=5", "/pb?hit=H&key=[redacted]&rev=5"],
    ["/pb/?KEY=SECRET", "/pb/?KEY=[redacted]"],
    [
      "https://t.example/pb?token=T&password=P#frag",
      "https://t.example/pb?token=[redacted]&password=[redacted]#frag",
    ],
    ["/pb?secret=S;key=K", "/pb?secret=[redacted];key=[redacted]"],
    ["/pb?k%65y=SECRET", "/pb?k%65y=[redacted]"],
    ["/pb?key[]=A&key[]=B", "/pb?key[]=[redacted]&key[]=[redacted]"],
    ["/pb?monkey=1&keys=2", "/pb?monkey=1&keys=2"],
    ["/pb?hit=H", "/pb?hit=H"],
    ["/no-query", "/no-query"],
    ["/pb?key", "/pb?key"],
  ])("%s", (url, expected) => expect(redactUrl(url)).toBe(expected));

  it("leaves anything that is not a string alone", () => {
    expect(redactUrl(undefined)).toBeUndefined();
    expect(redactUrl(42)).toBe(42);
  });

  it("the logger redacts any `url` field, whoever logs it", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ name: "test", level: "info", destination });
    logger.info({ url: "/pb?hit=H&key=SECRET" }, "postback rejected");
    logger.child({ reqId: "r" }).info({ url: "/pb?key=SECRET2" }, "child");
    await new Promise((r) => setImmediate(r));
    const out = lines.join("");
    expect(out).toContain("key=[redacted]");
    expect(out).not.toContain("SECRET");
  });
});
