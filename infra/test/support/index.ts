import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const fromRoot = (...parts: string[]): string => path.join(repoRoot, ...parts);
export const readRepoFile = (...parts: string[]): string => readFileSync(fromRoot(...parts), "utf8");

const ci = process.env.CI === "true";

/** How .ci/run (or the machine) provides each external tool the infra checks run. */
const installHints: Record<string, string> = {
  kubectl: "kubectl 1.27+ (bundled kustomize v5) is on GitHub's runners and on the project's machines",
  "docker-compose": ".ci/run installs it: apt-get install docker-compose",
  caddy: ".ci/run installs it: apt-get install caddy",
};

/** Absolute path of an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * The tool's path. Missing: in CI (CI=true) the test fails, saying how CI gets it; elsewhere it is
 * skipped with the same words, so a laptop without caddy can still run the rest.
 */
export function needTool(name: string, skip: (condition: boolean, note?: string) => void): string {
  const found = which(name);
  if (found) return found;
  const note = `${name} is not installed: ${installHints[name] ?? `install ${name}`}`;
  if (ci) throw new Error(`${note} (CI=true: the infra checks must run, not skip)`);
  skip(true, note);
  throw new Error(note); // unreachable: skip() throws
}

/** Runs a command; its output, exit status and stderr, never throwing on a non-zero exit. */
export function run(
  file: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(file, args, {
    cwd: opts.cwd ?? repoRoot,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** A Kubernetes object as rendered, before it is validated against its kind's schema. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Parses a multi-document YAML stream; any YAML error fails loudly with its message. */
export function parseYamlStream(text: string, source: string): unknown[] {
  return parseAllDocuments(text).map((doc, index) => {
    if (doc.errors.length > 0) {
      throw new Error(`${source}, document ${index + 1}: ${doc.errors.map((e) => e.message).join("; ")}`);
    }
    return doc.toJS();
  });
}

/** `kubectl kustomize <dir>`, parsed. */
export function kustomize(kubectl: string, dir: string): RenderedObject[] {
  const text = execFileSync(kubectl, ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return parseYamlStream(text, dir).map((value, index) => {
    const object = value as RenderedObject;
    if (!object?.kind || !object.apiVersion || !object.metadata?.name) {
      throw new Error(`${dir}: object ${index + 1} lacks apiVersion, kind or metadata.name`);
    }
    return object;
  });
}

/** A temporary directory removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `hitrail-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
