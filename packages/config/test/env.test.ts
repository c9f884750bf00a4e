import { describe, expect, it } from "vitest";
import { ConfigError, loadEnv, publicLinkBase, requireEnv } from "../src/index.ts";

describe("loadEnv", () => {
  it("applies the documented defaults", () => {
    const env = loadEnv({});
    expect(env.SESSION_TTL_SECONDS).toBe(4 * 86_400);
    expect(env.TRACKER_PORT).toBe(8080);
    expect(env.WORKER_PORT).toBe(8084);
    // Loopback unless HOST says otherwise: `pnpm start` on a laptop is not open to its network.
    expect(env.HOST).toBe("127.0.0.1");
    expect(env.BASE_DOMAIN).toBe("localhost");
    expect(env.LOG_LEVEL).toBe("info");
    expect(env.OUTBOUND_ALLOW_CIDRS).toEqual([]);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.SIGNUP).toBe("first");
    expect(env.MAX_WORKSPACES_PER_ACCOUNT).toBe(10);
    expect(env.SIGNIN_MAX_PER_ACCOUNT).toBe(5);
    expect(env.SMTP_URL).toBeUndefined();
  });

  it("refuses an unknown sign-up mode and a non-SMTP mail URL", () => {
    expect(() => loadEnv({ SIGNUP: "everyone" })).toThrow(/SIGNUP/);
    expect(() => loadEnv({ SMTP_URL: "https://mail.example.com" })).toThrow(/SMTP_URL must be an smtp/);
  });

  it("treats empty strings as unset", () => {
    expect(loadEnv({ DATABASE_URL: "", SENTRY_DSN: "" }).DATABASE_URL).toBeUndefined();
  });

  it("lists every problem in one error", () => {
    let error: unknown;
    try {
      loadEnv({ DATABASE_URL: "mysql://x", TRACKER_PORT: "99999", LOG_LEVEL: "loud", REDIS_URL: "nope" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toMatch(/DATABASE_URL/);
    expect(problems).toMatch(/TRACKER_PORT/);
    expect(problems).toMatch(/LOG_LEVEL/);
    expect(problems).toMatch(/REDIS_URL/);
    expect((error as ConfigError).problems).toHaveLength(4);
  });

  it.each([
    ["OUTBOUND_ALLOW_CIDRS", "127.0.0.0/8, ::1/128", ["127.0.0.0/8", "::1/128"]],
    ["TRUST_PROXY", "true", true],
    ["TRUST_PROXY", "0", false],
    ["SESSION_TTL_SECONDS", "3600", 3600],
    ["BASE_DOMAIN", "Track.Example.COM", "track.example.com"],
    ["SIGNUP", "invite", "invite"],
    ["MAX_WORKSPACES_PER_ACCOUNT", "3", 3],
    ["SMTP_URL", "smtps://u:p@mail.example.com:465", "smtps://u:p@mail.example.com:465"],
  ] as const)("parses %s=%s", (key, value, expected) => {
    expect(loadEnv({ [key]: value })[key]).toEqual(expected);
  });

  it("requireEnv names missing keys", () => {
    expect(() => requireEnv(loadEnv({}), ["DATABASE_URL", "REDIS_URL"])).toThrow(
      /DATABASE_URL is required; REDIS_URL is required/,
    );
  });
});

describe("publicLinkBase", () => {
  it.each<[Record<string, string>, { scheme: string; port: number | null }]>([
    [{}, { scheme: "http", port: null }],
    [{ PUBLIC_PORT: "8080" }, { scheme: "http", port: 8080 }],
    [
      { PUBLIC_SCHEME: "https", PUBLIC_PORT: "" },
      { scheme: "https", port: null },
    ],
  ])("%j", (raw, base) => {
    expect(publicLinkBase(loadEnv(raw))).toEqual(base);
  });

  it("refuses a port that is no port", () => {
    expect(() => loadEnv({ PUBLIC_PORT: "http" })).toThrow(ConfigError);
    expect(() => loadEnv({ PUBLIC_PORT: "70000" })).toThrow(/PUBLIC_PORT/);
  });
});
