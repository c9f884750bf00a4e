import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromRoot, needTool, run, tempDir } from "./support/index.ts";

const caddyfiles = {
  edge: fromRoot("infra/k8s/base/serve/Caddyfile"),
  web: fromRoot("infra/docker/web.Caddyfile"),
};

let home: { dir: string; remove: () => void };
beforeAll(() => {
  home = tempDir("caddy");
});
afterAll(() => home.remove());

/** Caddy with its own home, so validating writes nothing to the user's (nor installs a CA anywhere). */
function caddy(bin: string, args: string[]) {
  return run(bin, args, {
    env: {
      PATH: process.env.PATH,
      HOME: home.dir,
      XDG_DATA_HOME: home.dir,
      XDG_CONFIG_HOME: home.dir,
      BASE_DOMAIN: "hitrail.example.com",
      ACME_EMAIL: "ops@example.com",
      WEB_PORT: "8082",
    },
  });
}

/** Every value stored under `key` anywhere in a JSON document. */
function collect(value: unknown, key: string): unknown[] {
  if (Array.isArray(value)) return value.flatMap((v) => collect(v, key));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => (k === key ? [v] : collect(v, key)));
}

describe.each(Object.entries(caddyfiles))("the %s Caddyfile", (_name, file) => {
  it("passes `caddy validate`", ({ skip }) => {
    const bin = needTool("caddy", skip);
    const result = caddy(bin, ["validate", "--config", file, "--adapter", "caddyfile"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toContain("Valid configuration");
  });

  it("is formatted the way `caddy fmt` writes it", ({ skip }) => {
    const bin = needTool("caddy", skip);
    const result = caddy(bin, ["fmt", file]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(run("cat", [file]).stdout);
  });
});

describe("the edge", () => {
  it("issues tracking-domain certificates on demand, asking the api which domains are verified", ({
    skip,
  }) => {
    const bin = needTool("caddy", skip);
    const result = caddy(bin, ["adapt", "--config", caddyfiles.edge, "--adapter", "caddyfile"]);
    expect(result.status, result.stderr).toBe(0);
    const json = result.stdout;
    expect(json).toContain('"ask":"http://api:8081/internal/tls/ask"');
    expect(json).toContain('"on_demand":true');
    expect(json).toContain('"email":"ops@example.com"');
    // The dashboard on the base domain: tRPC to the api, the rest to the web server.
    expect(json).toContain('"host":["hitrail.example.com"]');
    expect(json).toContain('"dial":"api:8081"');
    expect(json).toContain('"dial":"web:8082"');
    // Tracking: every tracker replica by DNS, over HTTPS and plain HTTP.
    const dynamic = collect(JSON.parse(json), "dynamic_upstreams");
    expect(dynamic).toEqual([
      expect.objectContaining({ source: "a", name: "tracker", port: "8080" }),
      expect.objectContaining({ source: "a", name: "tracker", port: "8080" }),
    ]);
    expect(json).not.toContain('"dial":"tracker');
  });
});
