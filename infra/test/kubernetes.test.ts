import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { type IStatefulSet, StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { type IJob, Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import {
  type IPodDisruptionBudget,
  PodDisruptionBudget,
} from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap, type IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { type ISecret, Secret } from "kubernetes-models/v1/Secret";
import { type IService, Service } from "kubernetes-models/v1/Service";
import { beforeAll, describe, expect, it } from "vitest";
import { fromRoot, kustomize, type RenderedObject, which } from "./support/index.ts";

/** Every kind the overlays may render, with the schema it is validated against. Others fail. */
const models: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "batch/v1/Job": Job,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
};

const overlaysDir = fromRoot("infra/k8s/overlays");
const overlays = readdirSync(overlaysDir)
  .filter((name) => !name.startsWith(".") && statSync(path.join(overlaysDir, name)).isDirectory())
  .sort();

const PHASE = "hitrail.dev/deploy-phase";
const ourImages = ["hitrail-tracker", "hitrail-api", "hitrail-worker", "hitrail-web", "hitrail-cli"];
const appDeployments = ["tracker", "api", "worker", "web"];

type Workload = { kind: string; name: string; spec: IPodSpec; labels: Record<string, string> };

const of = <T>(objects: RenderedObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as unknown as T[];
const named = <T extends { metadata?: { name?: string } }>(list: T[], name: string): T | undefined =>
  list.find((o) => o.metadata?.name === name);
const decode = (secret: ISecret, key: string): string =>
  Buffer.from(secret.data?.[key] ?? "", "base64").toString("utf8");

function workloads(objects: RenderedObject[]): Workload[] {
  const pods = (kind: string, list: (IDeployment | IStatefulSet | IJob)[]): Workload[] =>
    list.map((o) => ({
      kind,
      name: o.metadata?.name ?? "?",
      spec: o.spec?.template.spec as IPodSpec,
      labels: (o.spec?.template.metadata?.labels ?? {}) as Record<string, string>,
    }));
  return [
    ...pods("Deployment", of<IDeployment>(objects, "Deployment")),
    ...pods("StatefulSet", of<IStatefulSet>(objects, "StatefulSet")),
    ...pods("Job", of<IJob>(objects, "Job")),
  ];
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>): boolean =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Names of ConfigMaps and Secrets a pod reads (envFrom, env valueFrom, volumes). */
function references(spec: IPodSpec): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const containers: IContainer[] = [...(spec.initContainers ?? []), ...spec.containers];
  for (const c of containers) {
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef?.name) configMaps.add(from.configMapRef.name);
      if (from.secretRef?.name) secrets.add(from.secretRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
  }
  return { configMaps, secrets };
}

/**
 * kustomize wraps a long base64 value of a generated Secret every 76 characters. The API server's
 * decoder skips the line breaks; the schema's `byte` format does not, so it sees them unwrapped.
 */
function forSchema(object: RenderedObject): RenderedObject {
  if (object.kind !== "Secret" || typeof object.data !== "object" || object.data === null) return object;
  const data = Object.fromEntries(
    Object.entries(object.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, "")]),
  );
  return { ...object, data };
}

function httpProbePort(probe: IProbe | undefined): string | number | undefined {
  return probe?.httpGet?.port;
}

describe("Kubernetes overlays", () => {
  it("are the ones the docs and the deploy workflow name", () => {
    expect(overlays).toEqual(["production", "staging", "with-bundled-datastores"]);
  });

  describe.each(overlays)("%s", (overlay) => {
    let objects: RenderedObject[] = [];
    let kubectlMissing: string | undefined;

    beforeAll(() => {
      const kubectl = which("kubectl");
      if (!kubectl) {
        kubectlMissing = "kubectl is not installed (it renders the overlays with its bundled kustomize)";
        return;
      }
      objects = kustomize(kubectl, path.join(overlaysDir, overlay));
    });

    const rendered = (skip: (condition: boolean, note?: string) => void): RenderedObject[] => {
      if (kubectlMissing) {
        if (process.env.CI === "true") throw new Error(`${kubectlMissing} (CI=true: must run, not skip)`);
        skip(true, kubectlMissing);
      }
      return objects;
    };

    it("renders, and every object validates against its kind's Kubernetes schema", ({ skip }) => {
      const all = rendered(skip);
      expect(all.length).toBeGreaterThan(10);
      const problems: string[] = [];
      for (const object of all) {
        const id = `${object.kind}/${object.metadata.name}`;
        const Model = models[`${object.apiVersion}/${object.kind}`];
        if (!Model) {
          problems.push(`${id}: ${object.apiVersion} ${object.kind} is not a kind this test knows`);
          continue;
        }
        try {
          new Model(forSchema(object) as never).validate();
        } catch (error) {
          problems.push(`${id}: ${(error as Error).message}`);
        }
      }
      expect(problems).toEqual([]);
      const ids = all.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
      expect(ids.length).toBe(new Set(ids).size);
    });

    it("puts everything in one namespace, which it creates", ({ skip }) => {
      const all = rendered(skip);
      const namespaces = all.filter((o) => o.kind === "Namespace");
      expect(namespaces).toHaveLength(1);
      const ns = namespaces[0]!.metadata.name;
      for (const object of all.filter((o) => o.kind !== "Namespace")) {
        expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe(ns);
      }
    });

    it("orders the deploy: configuration first, then the migration Job, then the apps", ({ skip }) => {
      const all = rendered(skip);
      const phaseOf = (o: RenderedObject) => o.metadata.labels?.[PHASE];
      for (const object of all) {
        expect(["infra", "migrate", "serve"], `${object.kind}/${object.metadata.name}`).toContain(
          phaseOf(object),
        );
      }
      // Exactly one object runs in the migrate phase: the Job, running `hitrail migrate`.
      const migrate = all.filter((o) => phaseOf(o) === "migrate");
      expect(migrate.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["Job/hitrail-migrate"]);
      const job = migrate[0] as unknown as IJob;
      const jobSpec = job.spec?.template.spec as IPodSpec;
      expect(jobSpec.restartPolicy).toBe("Never");
      expect(jobSpec.containers.map((c) => c.image)).toEqual(["hitrail-cli"]);
      expect(jobSpec.containers[0]?.command).toEqual(["hitrail", "migrate"]);
      // The Job needs nothing from the serve phase: what it reads is applied before it.
      const infraNames = new Set(
        all.filter((o) => phaseOf(o) === "infra").map((o) => `${o.kind}/${o.metadata.name}`),
      );
      const refs = references(jobSpec);
      for (const name of refs.configMaps)
        expect(infraNames, `ConfigMap/${name}`).toContain(`ConfigMap/${name}`);
      for (const name of refs.secrets) expect(infraNames, `Secret/${name}`).toContain(`Secret/${name}`);
      expect(refs.secrets.size).toBeGreaterThan(0);
      // Datastores are up before migrations; nothing that serves traffic is applied before them.
      for (const o of all.filter((o) => o.kind === "StatefulSet")) expect(phaseOf(o)).toBe("infra");
      for (const o of all.filter((o) => o.kind === "Deployment" || o.kind === "HorizontalPodAutoscaler")) {
        expect(phaseOf(o), `${o.kind}/${o.metadata.name}`).toBe("serve");
      }
      // No app runs migrations itself (no init containers): migrations are applied once, by the Job.
      for (const w of workloads(all).filter((w) => w.kind === "Deployment")) {
        expect(w.spec.initContainers ?? [], w.name).toEqual([]);
      }
    });

    it("runs every container as non-root, without privileges, with requests and limits", ({ skip }) => {
      const all = rendered(skip);
      for (const w of workloads(all)) {
        const pod = w.spec.securityContext ?? {};
        expect(w.spec.automountServiceAccountToken, `${w.name}: service account token`).toBe(false);
        expect(w.spec.hostNetwork ?? false, w.name).toBe(false);
        for (const c of [...(w.spec.initContainers ?? []), ...w.spec.containers]) {
          const id = `${w.kind}/${w.name} container ${c.name}`;
          const sc = c.securityContext ?? {};
          expect(sc.runAsNonRoot ?? pod.runAsNonRoot, `${id}: runAsNonRoot`).toBe(true);
          const uid = sc.runAsUser ?? pod.runAsUser;
          expect(uid, `${id}: a numeric non-root user`).toBeGreaterThan(0);
          expect(sc.privileged ?? false, `${id}: privileged`).toBe(false);
          expect(sc.allowPrivilegeEscalation, `${id}: allowPrivilegeEscalation`).toBe(false);
          expect(sc.capabilities?.drop, `${id}: drops every capability`).toContain("ALL");
          // Only the edge adds one: NET_BIND_SERVICE, which its binary's file capability requires.
          const added = w.name === "caddy" ? ["NET_BIND_SERVICE"] : [];
          expect(sc.capabilities?.add ?? [], `${id}: adds ${added.join() || "none"}`).toEqual(added);
          expect(sc.readOnlyRootFilesystem, `${id}: read-only root`).toBe(true);
          expect((sc.seccompProfile ?? pod.seccompProfile)?.type, `${id}: seccomp`).toBe("RuntimeDefault");
          expect(c.resources?.requests?.cpu, `${id}: cpu request`).toBeDefined();
          expect(c.resources?.requests?.memory, `${id}: memory request`).toBeDefined();
          expect(c.resources?.limits?.memory, `${id}: memory limit`).toBeDefined();
          expect(c.resources?.limits?.cpu, `${id}: cpu limit`).toBeDefined();
        }
      }
    });

    it("probes every long-running container's readiness and liveness on a port it declares", ({ skip }) => {
      const all = rendered(skip);
      for (const w of workloads(all).filter((w) => w.kind !== "Job")) {
        for (const c of w.spec.containers) {
          const id = `${w.kind}/${w.name} container ${c.name}`;
          expect(c.readinessProbe, `${id}: readinessProbe`).toBeDefined();
          expect(c.livenessProbe, `${id}: livenessProbe`).toBeDefined();
          const declared = new Set((c.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
          for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
            const port = httpProbePort(probe);
            if (port !== undefined) expect(declared, `${id}: probe port ${port}`).toContain(port);
          }
        }
      }
      // What each app serves: tracker and worker say when they are ready (/readyz) apart from alive.
      const deployments = of<IDeployment>(all, "Deployment");
      const probePaths = (name: string) => {
        const c = named(deployments, name)?.spec?.template.spec?.containers[0];
        return [c?.readinessProbe?.httpGet?.path, c?.livenessProbe?.httpGet?.path];
      };
      expect(probePaths("tracker")).toEqual(["/readyz", "/healthz"]);
      expect(probePaths("worker")).toEqual(["/readyz", "/healthz"]);
      expect(probePaths("api")).toEqual(["/healthz", "/healthz"]);
      expect(probePaths("web")).toEqual(["/healthz", "/healthz"]);
    });

    it("scales the tracker and the worker horizontally and budgets every app's disruptions", ({ skip }) => {
      const all = rendered(skip);
      const deployments = of<IDeployment>(all, "Deployment");
      const hpas = of<IHorizontalPodAutoscaler>(all, "HorizontalPodAutoscaler");
      expect(hpas.map((h) => h.spec?.scaleTargetRef.name).sort()).toEqual(["tracker", "worker"]);
      for (const hpa of hpas) {
        const target = hpa.spec!.scaleTargetRef;
        const deployment = named(deployments, target.name);
        expect(target.kind).toBe("Deployment");
        expect(deployment, `HPA target ${target.name}`).toBeDefined();
        // The autoscaler owns the replica count: an apply must not reset it.
        expect(deployment?.spec?.replicas, `${target.name} sets no replicas`).toBeUndefined();
        expect(hpa.spec!.minReplicas).toBeGreaterThanOrEqual(1);
        expect(hpa.spec!.maxReplicas).toBeGreaterThan(hpa.spec!.minReplicas ?? 1);
        // CPU utilisation needs CPU requests, which every container has (checked above).
        expect(hpa.spec!.metrics?.[0]?.resource?.name).toBe("cpu");
      }
      const pdbs = of<IPodDisruptionBudget>(all, "PodDisruptionBudget");
      const deployed = deployments.map((d) => d.metadata?.name);
      for (const app of appDeployments) {
        expect(deployed).toContain(app);
        const labels = named(deployments, app)?.spec?.template.metadata?.labels as Record<string, string>;
        const budgets = pdbs.filter((p) =>
          matches(p.spec?.selector?.matchLabels as Record<string, string>, labels),
        );
        expect(budgets, `PodDisruptionBudget for ${app}`).toHaveLength(1);
        // Never "minAvailable: N" that could block draining a node when the app runs N pods.
        expect(budgets[0]?.spec?.maxUnavailable).toBe(1);
      }
    });

    it("selects existing pods from every Service and budget, on ports they declare", ({ skip }) => {
      const all = rendered(skip);
      const pods = workloads(all);
      for (const service of of<IService>(all, "Service")) {
        const selector = service.spec?.selector as Record<string, string>;
        const backends = pods.filter((w) => matches(selector, w.labels));
        expect(backends.length, `Service/${service.metadata?.name} selects a workload`).toBe(1);
        const declared = new Set(
          backends[0]!.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)),
        );
        for (const port of service.spec?.ports ?? []) {
          expect(declared, `Service/${service.metadata?.name} port ${port.name}`).toContain(port.targetPort);
        }
      }
      for (const pdb of of<IPodDisruptionBudget>(all, "PodDisruptionBudget")) {
        const selector = pdb.spec?.selector?.matchLabels as Record<string, string>;
        expect(
          pods.some((w) => matches(selector, w.labels)),
          `PDB/${pdb.metadata?.name}`,
        ).toBe(true);
      }
      // Whatever a pod reads exists in the same rendering (generated names carry their hash).
      const configMaps = new Set(of<IConfigMap>(all, "ConfigMap").map((c) => c.metadata?.name));
      const secrets = new Set(of<ISecret>(all, "Secret").map((s) => s.metadata?.name));
      for (const w of pods) {
        const refs = references(w.spec);
        for (const name of refs.configMaps)
          expect(configMaps, `${w.name} reads ConfigMap ${name}`).toContain(name);
        for (const name of refs.secrets) expect(secrets, `${w.name} reads Secret ${name}`).toContain(name);
      }
      // The privileged database roles (docs/security-tenancy.md): the owner only in the migrate Job,
      // the maintenance role only there and in the worker (that one key), nothing of it in the apps.
      const readsRoles = pods
        .filter((w) => [...references(w.spec).secrets].some((s) => s.startsWith("hitrail-db-roles")))
        .map((w) => w.name)
        .sort();
      expect(readsRoles).toEqual(
        overlay === "production" ? ["hitrail-migrate", "worker"] : ["hitrail-migrate", "postgres", "worker"],
      );
      const worker = pods.find((w) => w.name === "worker");
      const workerRoleKeys = worker?.spec.containers.flatMap((c) =>
        (c.env ?? [])
          .filter((e) => e.valueFrom?.secretKeyRef?.name?.startsWith("hitrail-db-roles"))
          .map((e) => e.name),
      );
      expect(workerRoleKeys).toEqual(["MAINTENANCE_DATABASE_URL"]);
    });

    it("runs only images deploy.sh pins to a version, or third-party images pinned by tag", ({ skip }) => {
      const all = rendered(skip);
      for (const w of workloads(all)) {
        for (const c of [...(w.spec.initContainers ?? []), ...w.spec.containers]) {
          const image = c.image ?? "";
          const ok = ourImages.includes(image) || /^(caddy|postgres|redis):\d[\w.-]*$/.test(image);
          expect(ok, `${w.kind}/${w.name} image ${image}`).toBe(true);
        }
      }
    });

    it("serves tracking domains through Caddy: a LoadBalancer, on-demand TLS asking the api", ({ skip }) => {
      const all = rendered(skip);
      const services = of<IService>(all, "Service");
      const edge = named(services, "caddy");
      expect(edge?.spec?.type).toBe("LoadBalancer");
      expect(edge?.spec?.externalTrafficPolicy).toBe("Local");
      expect(edge?.spec?.ports?.map((p) => p.port).sort()).toEqual([443, 80]);
      const caddy = named(of<IDeployment>(all, "Deployment"), "caddy");
      const volume = caddy?.spec?.template.spec?.volumes?.find((v) => v.configMap);
      const config = named(of<IConfigMap>(all, "ConfigMap"), volume?.configMap?.name ?? "");
      const caddyfile = config?.data?.Caddyfile ?? "";
      expect(caddyfile).toContain("ask http://api:8081/internal/tls/ask");
      expect(caddyfile).toMatch(/https:\/\/ \{\s+tls \{\s+on_demand/);
      // The names the Caddyfile dials are Services here: api and web by ClusterIP, the tracker's pods
      // by the headless Service's A records.
      expect(named(services, "api")?.spec?.ports?.[0]?.port).toBe(8081);
      expect(named(services, "web")?.spec?.ports?.[0]?.port).toBe(8082);
      expect(named(services, "tracker")?.spec?.clusterIP).toBe("None");
      expect(named(services, "tracker")?.spec?.ports?.[0]?.port).toBe(8080);
    });

    it("ships placeholders, never real secrets, and the settings every app needs", ({ skip }) => {
      const all = rendered(skip);
      const secret = of<ISecret>(all, "Secret").find((s) => s.metadata?.name?.startsWith("hitrail-secrets-"));
      expect(secret).toBeDefined();
      expect(decode(secret!, "DATABASE_URL")).toContain("CHANGE-ME");
      expect(decode(secret!, "REDIS_URL")).toMatch(/^redis:\/\//);
      // The read replica: present for the operator to fill in, off (empty) until then.
      expect(decode(secret!, "DATABASE_READ_URL")).toBe("");
      const config = of<IConfigMap>(all, "ConfigMap").find((c) =>
        c.metadata?.name?.startsWith("hitrail-config-"),
      );
      expect(config?.data).toMatchObject({
        NODE_ENV: "production",
        // The apps listen on loopback unless HOST says otherwise.
        HOST: "0.0.0.0",
        PUBLIC_SCHEME: "https",
        TRUST_PROXY: "true",
      });
      expect(config?.data?.BASE_DOMAIN).toMatch(/^[a-z0-9.-]+$/);
      expect(config?.data?.ACME_EMAIL).toContain("@");
    });

    const bundled = overlay !== "production";
    it(
      bundled
        ? "bundles PostgreSQL and Redis (AOF, everysec, noeviction) and points the apps at them"
        : "bundles no datastores: PostgreSQL and Redis are external",
      ({ skip }) => {
        const all = rendered(skip);
        const statefulSets = of<IStatefulSet>(all, "StatefulSet");
        const secret = of<ISecret>(all, "Secret").find((s) =>
          s.metadata?.name?.startsWith("hitrail-secrets-"),
        )!;
        if (!bundled) {
          expect(statefulSets).toEqual([]);
          expect(all.filter((o) => /^(postgres|redis)/.test(o.metadata.name))).toEqual([]);
          expect(all.filter((o) => o.kind === "NetworkPolicy")).toEqual([]);
          expect(secret.data?.POSTGRES_PASSWORD).toBeUndefined();
          return;
        }
        expect(statefulSets.map((s) => s.metadata?.name).sort()).toEqual(["postgres", "redis"]);
        for (const s of statefulSets) expect(s.spec?.volumeClaimTemplates?.length, s.metadata?.name).toBe(1);
        expect(decode(secret, "DATABASE_URL")).toMatch(/@postgres:5432\//);
        expect(decode(secret, "REDIS_URL")).toBe("redis://redis:6379");
        expect(secret.data?.POSTGRES_PASSWORD).toBeUndefined();
        const roles = of<ISecret>(all, "Secret").find((s) =>
          s.metadata?.name?.startsWith("hitrail-db-roles-"),
        )!;
        expect(decode(roles, "POSTGRES_PASSWORD")).not.toBe("");
        expect(decode(roles, "MIGRATE_DATABASE_URL")).toMatch(/^postgres:\/\/hitrail:.*@postgres:5432\//);
        expect(decode(roles, "MAINTENANCE_DATABASE_URL")).toMatch(/@postgres:5432\//);
        const redisConf =
          of<IConfigMap>(all, "ConfigMap").find((c) => c.metadata?.name?.startsWith("redis-config-"))?.data?.[
            "redis.conf"
          ] ?? "";
        expect(redisConf).toMatch(/^appendonly yes$/m);
        expect(redisConf).toMatch(/^appendfsync everysec$/m);
        expect(redisConf).toMatch(/^maxmemory-policy noeviction$/m);
      },
    );
  });
});
