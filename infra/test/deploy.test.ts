import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fromRoot, needTool, parseYamlStream, type RenderedObject, run, tempDir } from "./support/index.ts";

/**
 * infra/k8s/deploy.sh against a stand-in kubectl: `kustomize` goes to the real one, every other call
 * is recorded (with a copy of the file it applies) and answered as a cluster would.
 */
const fakeKubectl = `#!/usr/bin/env bash
set -euo pipefail
n=$(( $(wc -l < "$FAKE_DIR/calls") + 1 ))
echo "$*" >> "$FAKE_DIR/calls"
case "$1" in
  kustomize) exec "$REAL_KUBECTL" "$@" ;;
  apply|delete)
    while (($#)); do
      if [[ "$1" == -f ]]; then cp "$2" "$FAKE_DIR/$(printf %02d "$n")-$(basename "$2")"; fi
      shift
    done ;;
  get) printf '%s' "$FAKE_JOB_STATE" ;;
  logs) echo "hitrail migrate: relation already exists" ;;
esac
`;

interface Deploy {
  status: number;
  stdout: string;
  stderr: string;
  /** The kubectl calls after rendering, with temporary paths reduced to the phase file's name. */
  calls: string[];
  /** What was applied, by phase file (infra.yaml, migrate.yaml, serve.yaml). */
  applied: Record<string, RenderedObject[]>;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function deploy(
  overlay: string,
  opts: { kubectl: string; secrets?: string; jobState?: string; env?: Record<string, string> },
): Deploy {
  const tmp = tempDir("deploy");
  cleanups.push(tmp.remove);
  const bin = path.join(tmp.dir, "kubectl");
  writeFileSync(bin, fakeKubectl);
  writeFileSync(path.join(tmp.dir, "calls"), "");
  chmodSync(bin, 0o755);
  const secrets = path.join(tmp.dir, "hitrail-secrets.env");
  writeFileSync(
    secrets,
    opts.secrets ??
      [
        "DATABASE_URL=postgres://hitrail_app:4pp@db.internal:5432/hitrail",
        "MIGRATE_DATABASE_URL=postgres://hitrail:s3cret@db.internal:5432/hitrail",
        "MAINTENANCE_DATABASE_URL=postgres://hitrail_maintainer:m41nt@db.internal:5432/hitrail",
        "REDIS_URL=redis://cache.internal:6379",
        "POSTGRES_PASSWORD=s3cret",
        "",
      ].join("\n"),
  );
  const result = run("bash", [fromRoot("infra/k8s/deploy.sh"), fromRoot("infra/k8s/overlays", overlay)], {
    env: {
      PATH: process.env.PATH,
      KUBECTL: bin,
      REAL_KUBECTL: opts.kubectl,
      FAKE_DIR: tmp.dir,
      FAKE_JOB_STATE: opts.jobState ?? "SuccessCriteriaMet Complete ",
      IMAGE_REGISTRY: "ghcr.io/acme",
      IMAGE_TAG: "0123abc",
      SECRETS_ENV: secrets,
      POLL_SECONDS: "0",
      ...opts.env,
    },
  });
  const calls = readFileSync(path.join(tmp.dir, "calls"), "utf8")
    .split("\n")
    .filter((c) => c !== "" && !c.startsWith("kustomize"))
    .map((c) => c.replace(/\S*\/\.deploy-\w+\/(\w+\.yaml)/g, "$1"));
  const applied: Record<string, RenderedObject[]> = {};
  for (const file of readdirSync(tmp.dir).filter((f) => /^\d+-\w+\.yaml$/.test(f))) {
    const phase = file.replace(/^\d+-/, "");
    applied[phase] = parseYamlStream(readFileSync(path.join(tmp.dir, file), "utf8"), file).filter(
      Boolean,
    ) as RenderedObject[];
  }
  return { ...result, calls, applied };
}

const ids = (objects: RenderedObject[] | undefined) =>
  (objects ?? []).map((o) => `${o.kind}/${o.metadata.name}`);

describe("infra/k8s/deploy.sh", () => {
  it("applies configuration, waits for the datastores, migrates to completion, then serves", ({ skip }) => {
    const kubectl = needTool("kubectl", skip);
    const result = deploy("staging", { kubectl });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.calls).toEqual([
      "apply -f infra.yaml",
      "rollout status statefulset/postgres -n hitrail-staging --timeout=600s",
      "rollout status statefulset/redis -n hitrail-staging --timeout=600s",
      "delete -f migrate.yaml --ignore-not-found --wait=true",
      "apply -f migrate.yaml",
      'get job hitrail-migrate -n hitrail-staging -o jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}',
      "apply -f serve.yaml",
      "rollout status deployment/api -n hitrail-staging --timeout=600s",
      "rollout status deployment/caddy -n hitrail-staging --timeout=600s",
      "rollout status deployment/tracker -n hitrail-staging --timeout=600s",
      "rollout status deployment/web -n hitrail-staging --timeout=600s",
      "rollout status deployment/worker -n hitrail-staging --timeout=600s",
    ]);
    expect(ids(result.applied["migrate.yaml"])).toEqual(["Job/hitrail-migrate"]);
    expect(ids(result.applied["infra.yaml"])).toEqual(
      expect.arrayContaining(["Namespace/hitrail-staging", "StatefulSet/postgres", "StatefulSet/redis"]),
    );
    expect(ids(result.applied["serve.yaml"]).filter((id) => id.startsWith("Deployment/"))).toEqual([
      "Deployment/api",
      "Deployment/caddy",
      "Deployment/tracker",
      "Deployment/web",
      "Deployment/worker",
    ]);
  });

  it("deploys this version's images with the given secrets in place of the placeholders", ({ skip }) => {
    const kubectl = needTool("kubectl", skip);
    const result = deploy("production", { kubectl });
    expect(result.status, result.stderr).toBe(0);
    const all = [...(result.applied["infra.yaml"] ?? []), ...(result.applied["serve.yaml"] ?? [])];
    const images = [...(result.applied["migrate.yaml"] ?? []), ...all].flatMap((o) => {
      const spec = (o.spec as { template?: { spec?: { containers?: { image: string }[] } } } | undefined)
        ?.template?.spec;
      return (spec?.containers ?? []).map((c) => c.image);
    });
    expect([...new Set(images)].sort()).toEqual([
      "caddy:2.10-alpine",
      "ghcr.io/acme/hitrail-api:0123abc",
      "ghcr.io/acme/hitrail-cli:0123abc",
      "ghcr.io/acme/hitrail-tracker:0123abc",
      "ghcr.io/acme/hitrail-web:0123abc",
      "ghcr.io/acme/hitrail-worker:0123abc",
    ]);
    const decoded = (prefix: string) => {
      const secret = all.find(
        (o) => o.kind === "Secret" && o.metadata.name.startsWith(prefix),
      ) as unknown as {
        data: Record<string, string>;
      };
      return Object.fromEntries(
        Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
      );
    };
    // Replaced whole: the placeholders' keys do not linger. The apps' secret holds no privileged role.
    expect(decoded("hitrail-secrets-")).toEqual({
      DATABASE_URL: "postgres://hitrail_app:4pp@db.internal:5432/hitrail",
      REDIS_URL: "redis://cache.internal:6379",
    });
    expect(decoded("hitrail-db-roles-")).toEqual({
      MIGRATE_DATABASE_URL: "postgres://hitrail:s3cret@db.internal:5432/hitrail",
      MAINTENANCE_DATABASE_URL: "postgres://hitrail_maintainer:m41nt@db.internal:5432/hitrail",
      POSTGRES_PASSWORD: "s3cret",
    });
    // No datastores to wait for in production.
    expect(result.calls.filter((c) => c.includes("statefulset"))).toEqual([]);
  });

  it("stops before the new version is applied when the migration Job fails", ({ skip }) => {
    const kubectl = needTool("kubectl", skip);
    const result = deploy("production", { kubectl, jobState: "FailureTarget Failed " });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("migrations failed");
    expect(result.stdout).toContain("relation already exists"); // the Job's log, for the CI log
    expect(result.calls).not.toContain("apply -f serve.yaml");
    expect(result.applied["serve.yaml"]).toBeUndefined();
  });

  it("stops when the migration Job does not finish in time", ({ skip }) => {
    const kubectl = needTool("kubectl", skip);
    const result = deploy("production", { kubectl, jobState: "", env: { MIGRATE_TIMEOUT: "0" } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("did not complete within 0s");
    expect(result.calls).not.toContain("apply -f serve.yaml");
  });

  it("refuses placeholder or incomplete secrets before touching the cluster", ({ skip }) => {
    const kubectl = needTool("kubectl", skip);
    const placeholder = deploy("production", {
      kubectl,
      secrets: "DATABASE_URL=postgres://hitrail:CHANGE-ME@db:5432/hitrail\nREDIS_URL=redis://r:6379\n",
    });
    expect(placeholder.status).toBe(1);
    expect(placeholder.stderr).toContain("CHANGE-ME placeholders");
    const incomplete = deploy("production", { kubectl, secrets: "DATABASE_URL=postgres://h:p@db:5432/h\n" });
    expect(incomplete.status).toBe(1);
    expect(incomplete.stderr).toContain("has no MIGRATE_DATABASE_URL");
    expect([...placeholder.calls, ...incomplete.calls]).toEqual([]);
  });

  it("leaves the dashboard out with WITHOUT_WEB=1 (a tracking-only install)", ({ skip }) => {
    const kubectl = needTool("kubectl", skip);
    const result = deploy("production", { kubectl, env: { WITHOUT_WEB: "1" } });
    expect(result.status, result.stderr).toBe(0);
    const served = ids(result.applied["serve.yaml"]);
    expect(served.filter((id) => id.endsWith("/web"))).toEqual([]);
    expect(served).toContain("Deployment/tracker");
    expect(result.calls.some((c) => c.includes("deployment/web"))).toBe(false);
  });

  it("with DRY_RUN=1 prints the plan and touches no cluster", ({ skip }) => {
    const kubectl = needTool("kubectl", skip);
    const result = deploy("with-bundled-datastores", { kubectl, env: { DRY_RUN: "1" } });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("migrate Job hitrail hitrail-migrate");
    expect(result.stdout).toContain("infra StatefulSet hitrail postgres");
    expect(result.calls).toEqual([]);
  });
});
