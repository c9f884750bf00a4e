import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fromRoot, needTool, readRepoFile, run, tempDir } from "./support/index.ts";

const composeFile = fromRoot("infra/compose/docker-compose.yml");
const required = {
  BASE_DOMAIN: "hitrail.example.com",
  ACME_EMAIL: "ops@example.com",
  POSTGRES_PASSWORD: "0a1b2c3d",
  APP_DB_PASSWORD: "4e5f6a7b",
  MAINTENANCE_DB_PASSWORD: "8c9d0e1f",
};

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target: string; args: Record<string, string> };
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  ports?: (string | { published: number; target: number })[];
  volumes?: (string | { source: string; target: string })[];
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
}

let env: { dir: string; remove: () => void };
beforeAll(() => {
  env = tempDir("compose");
});
afterAll(() => env.remove());

/**
 * `docker-compose config` with exactly the given variables: an env file in a temporary folder and a
 * clean process environment, so neither a local infra/compose/.env nor the caller's shell leaks in.
 */
function config(bin: string, values: Record<string, string>, args: string[]): ReturnType<typeof run> {
  const envFile = path.join(env.dir, `${Object.keys(values).join("-") || "none"}.env`);
  writeFileSync(
    envFile,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  return run(bin, ["-f", composeFile, "--env-file", envFile, "config", ...args], {
    env: { PATH: process.env.PATH, HOME: env.dir },
  });
}

describe("infra/compose/docker-compose.yml", () => {
  it("is valid for docker-compose (config -q)", ({ skip }) => {
    const bin = needTool("docker-compose", skip);
    const result = config(bin, required, ["-q"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it.for(Object.keys(required))("refuses to start without %s, naming it", (name, { skip }) => {
    const bin = needTool("docker-compose", skip);
    const values: Record<string, string> = { ...required };
    delete values[name];
    const result = config(bin, values, ["-q"]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`set ${name} in infra/compose/.env`);
  });

  it("documents in .env.example exactly the values a user must set", () => {
    const mandatory = new Set(
      [...readRepoFile("infra/compose/docker-compose.yml").matchAll(/\$\{(\w+):\?/g)].map((m) => m[1]),
    );
    expect([...mandatory].sort()).toEqual(Object.keys(required).sort());
    const example = readRepoFile("infra/compose/.env.example");
    for (const name of mandatory) expect(example).toMatch(new RegExp(`^${name}=\\S+`, "m"));
  });

  describe("as resolved by docker-compose", () => {
    let services: Record<string, ComposeService> = {};
    const resolved = (skip: (condition: boolean, note?: string) => void) => {
      const bin = needTool("docker-compose", skip);
      if (Object.keys(services).length === 0) {
        const result = config(bin, required, []);
        expect(result.status, result.stderr).toBe(0);
        services = (parse(result.stdout) as { services: Record<string, ComposeService> }).services;
      }
      return services;
    };

    it("runs the whole install: the apps, PostgreSQL, Redis, Caddy and the migration job", ({ skip }) => {
      expect(Object.keys(resolved(skip)).sort()).toEqual(
        ["api", "caddy", "migrate", "postgres", "redis", "tracker", "web", "worker"].sort(),
      );
    });

    it("starts the apps only after `hitrail migrate` has exited 0, and that after PostgreSQL is healthy", ({
      skip,
    }) => {
      const s = resolved(skip);
      expect(s.migrate?.command).toEqual(["hitrail", "migrate"]);
      expect(s.migrate?.restart).toBe("no");
      expect(s.migrate?.depends_on?.postgres?.condition).toBe("service_healthy");
      for (const app of ["tracker", "api", "worker"]) {
        expect(s[app]?.depends_on?.migrate?.condition, app).toBe("service_completed_successfully");
        expect(s[app]?.depends_on?.redis?.condition, app).toBe("service_healthy");
      }
      expect(s.caddy?.depends_on?.api?.condition).toBe("service_healthy");
      expect(s.postgres?.healthcheck?.test.join(" ")).toContain("pg_isready");
      expect(s.redis?.healthcheck?.test.join(" ")).toContain("ping");
    });

    it("keeps Redis durable the way BullMQ needs: AOF, fsync every second, no eviction", ({ skip }) => {
      const command = (resolved(skip).redis?.command ?? []).join(" ");
      expect(command).toContain("--appendonly yes");
      expect(command).toContain("--appendfsync everysec");
      expect(command).toContain("--maxmemory-policy noeviction");
      expect(resolved(skip).redis?.volumes?.length).toBe(1);
    });

    it("publishes only Caddy, which mounts the Caddyfile Kubernetes uses too", ({ skip }) => {
      const s = resolved(skip);
      for (const [name, service] of Object.entries(s)) {
        if (name !== "caddy") expect(service.ports ?? [], name).toEqual([]);
      }
      const published = (s.caddy?.ports ?? []).map((p) =>
        typeof p === "string" ? p : `${p.published}:${p.target}`,
      );
      expect(published.join(" ")).toMatch(/80:80/);
      expect(published.join(" ")).toMatch(/443:443/);
      const mount = (s.caddy?.volumes ?? []).find((v) =>
        typeof v === "string" ? v.includes(":/etc/caddy/Caddyfile") : v.target === "/etc/caddy/Caddyfile",
      );
      const source = typeof mount === "string" ? mount.split(":")[0] : mount?.source;
      expect(source && path.resolve(source)).toBe(fromRoot("infra/k8s/base/serve/Caddyfile"));
      expect(existsSync(source ?? "")).toBe(true);
      expect(s.caddy?.environment).toMatchObject({
        BASE_DOMAIN: required.BASE_DOMAIN,
        ACME_EMAIL: required.ACME_EMAIL,
      });
    });

    it("builds each Hitrail image from infra/docker/Dockerfile and runs it locked down", ({ skip }) => {
      const s = resolved(skip);
      const expected: Record<string, [target: string, app: string]> = {
        migrate: ["app", "cli"],
        tracker: ["app", "tracker"],
        api: ["app", "api"],
        worker: ["app", "worker"],
        web: ["web", "web"],
      };
      for (const [name, [target, app]] of Object.entries(expected)) {
        const service = s[name]!;
        expect(service.build?.dockerfile, name).toBe("infra/docker/Dockerfile");
        expect(path.resolve(service.build?.context ?? ""), name).toBe(path.resolve(fromRoot(".")));
        expect(service.build?.target, name).toBe(target);
        expect(service.build?.args.APP, name).toBe(app);
        expect(service.image, name).toMatch(new RegExp(`/hitrail-${app}:`));
        expect(service.read_only, name).toBe(true);
        expect(service.cap_drop, name).toEqual(["ALL"]);
        expect(service.security_opt, name).toContain("no-new-privileges:true");
      }
      const owner = `postgres://hitrail:${required.POSTGRES_PASSWORD}@postgres:5432/hitrail`;
      const maintenance = `postgres://hitrail_maintainer:${required.MAINTENANCE_DB_PASSWORD}@postgres:5432/hitrail`;
      // Migrations as the owner; every app as hitrail_app; only the worker with the maintenance role.
      expect(s.migrate?.environment).toMatchObject({
        MIGRATE_DATABASE_URL: owner,
        MAINTENANCE_DATABASE_URL: maintenance,
      });
      expect(s.worker?.environment).toMatchObject({ MAINTENANCE_DATABASE_URL: maintenance });
      for (const app of ["tracker", "api", "worker"]) {
        expect(s[app]?.environment?.MIGRATE_DATABASE_URL, app).toBeUndefined();
        expect(JSON.stringify(s[app]?.environment), app).not.toContain(required.POSTGRES_PASSWORD);
      }
      for (const app of ["tracker", "api"])
        expect(s[app]?.environment?.MAINTENANCE_DATABASE_URL, app).toBeUndefined();
      for (const app of ["migrate", "tracker", "api", "worker"]) {
        expect(s[app]?.environment, app).toMatchObject({
          DATABASE_URL: `postgres://hitrail_app:${required.APP_DB_PASSWORD}@postgres:5432/hitrail`,
          REDIS_URL: "redis://redis:6379",
          BASE_DOMAIN: required.BASE_DOMAIN,
          PUBLIC_SCHEME: "https",
          TRUST_PROXY: "true",
          NODE_ENV: "production",
          HOST: "0.0.0.0",
        });
      }
      // The read replica is off unless the operator names one (an empty value is "unset").
      expect(s.api?.environment?.DATABASE_READ_URL ?? "").toBe("");
    });

    it("points every app at a Redis Cluster when .env names one", ({ skip }) => {
      const bin = needTool("docker-compose", skip);
      const cluster = "redis+cluster://redis-1.internal:6379,redis-2.internal:6379,redis-3.internal:6379";
      const result = config(bin, { ...required, REDIS_URL: cluster }, []);
      expect(result.status, result.stderr).toBe(0);
      const s = (parse(result.stdout) as { services: Record<string, ComposeService> }).services;
      for (const app of ["migrate", "tracker", "api", "worker"])
        expect(s[app]?.environment?.REDIS_URL, app).toBe(cluster);
    });
  });
});
