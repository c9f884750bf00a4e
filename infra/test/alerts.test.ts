import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fromRoot, kustomize, needTool, readRepoFile, tempDir } from "./support/index.ts";

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

const rulesFile = parse(readRepoFile("infra/prometheus/alerts.yml")) as RuleFile;
const rules = rulesFile.groups.flatMap((g) => g.rules);
const byName = (name: string) => rules.find((r) => r.alert === name);

/** Metric names the worker registers (apps/worker/src/metrics.ts). */
const workerMetrics = new Set(
  [...readRepoFile("apps/worker/src/metrics.ts").matchAll(/name: "(hitrail_[a-z_]+)"/g)].map((m) => m[1]),
);

describe("Prometheus alert rules (infra/prometheus/alerts.yml)", () => {
  it("is a rule file Prometheus loads: named groups of alerts, each with an expression and a summary", () => {
    expect(rulesFile.groups.length).toBeGreaterThan(0);
    for (const group of rulesFile.groups) {
      expect(group.name).toMatch(/^[a-z-]+$/);
      expect(group.rules.length).toBeGreaterThan(0);
    }
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(rule.expr.trim(), rule.alert).not.toBe("");
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(["warning", "critical"], rule.alert).toContain(rule.labels?.severity);
      if (rule.for !== undefined) expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      // Balanced parentheses and braces: the most common way to break an expression by hand.
      for (const [open, close] of [
        ["(", ")"],
        ["{", "}"],
      ] as const) {
        expect(rule.expr.split(open).length, `${rule.alert}: ${open}${close}`).toBe(
          rule.expr.split(close).length,
        );
      }
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it("names only metrics the worker exports", () => {
    expect(workerMetrics).toContain("hitrail_outbox_oldest_pending_seconds");
    for (const rule of rules) {
      for (const [name] of rule.expr.matchAll(/hitrail_[a-z_]+/g)) {
        expect(workerMetrics, `${rule.alert} uses ${name}`).toContain(name);
      }
    }
  });

  it("fires when the oldest unrelayed outbox row is older than 5 minutes, and when no worker reports", () => {
    const stale = byName("HitrailOutboxBacklogStale");
    expect(stale?.expr.replace(/\s+/g, " ").trim()).toBe("max(hitrail_outbox_oldest_pending_seconds) > 300");
    // Firing at 5 minutes, not later: no `for` on top of a threshold that is already a duration.
    expect(stale?.for).toBeUndefined();
    const absent = byName("HitrailWorkerMetricsAbsent");
    expect(absent?.expr).toBe("absent(hitrail_outbox_oldest_pending_seconds)");
    expect(absent?.for).toBe("5m");
  });

  it("ships the same rules as a PrometheusRule in an opt-in Kubernetes component", ({ skip }) => {
    const kubectl = needTool("kubectl", skip);
    const { dir, remove } = tempDir("prometheus-rules");
    try {
      // An overlay as a user would write it: production plus the component.
      const k8s = path.relative(dir, fromRoot("infra/k8s"));
      writeFileSync(
        path.join(dir, "kustomization.yaml"),
        [
          "apiVersion: kustomize.config.k8s.io/v1beta1",
          "kind: Kustomization",
          "namespace: hitrail",
          "resources:",
          `  - ${k8s}/overlays/production`,
          "components:",
          `  - ${k8s}/components/prometheus-rules`,
          "",
        ].join("\n"),
      );
      const objects = kustomize(kubectl, dir);
      const rule = objects.filter((o) => o.kind === "PrometheusRule");
      expect(rule).toHaveLength(1);
      expect(rule[0]?.apiVersion).toBe("monitoring.coreos.com/v1");
      expect(rule[0]?.metadata.namespace).toBe("hitrail");
      // deploy.sh applies every object by its phase: the rules go with the apps.
      expect(rule[0]?.metadata.labels?.["hitrail.dev/deploy-phase"]).toBe("serve");
      expect((rule[0] as unknown as { spec: RuleFile }).spec).toEqual(rulesFile);
    } finally {
      remove();
    }
    // Off unless listed: no overlay renders the kind, so clusters without the operator still apply.
    for (const overlay of ["production", "staging", "with-bundled-datastores"]) {
      const objects = kustomize(kubectl, fromRoot("infra/k8s/overlays", overlay));
      expect(
        objects.filter((o) => o.kind === "PrometheusRule"),
        overlay,
      ).toEqual([]);
    }
  });
});
