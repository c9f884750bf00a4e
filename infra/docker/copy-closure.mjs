// Copies installed packages and everything they need at run time (dependencies and the optional
// dependencies that are installed) into one flat node_modules.
//
//   node copy-closure.mjs <workspace root> <destination> <package>...
//
// The runtime images install only production dependencies; this is how they get tsx, a root
// devDependency, without every other dev tool: `node copy-closure.mjs /repo /opt/tsx tsx` gives
// /opt/tsx/node_modules/{tsx,esbuild,@esbuild/linux-x64}. Works with pnpm's isolated layout (it
// follows the symlinks) and with a hoisted one.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";

const [root, destination, ...wanted] = process.argv.slice(2);
if (!root || !destination || wanted.length === 0) {
  process.stderr.write("usage: node copy-closure.mjs <workspace root> <destination> <package>...\n");
  process.exit(2);
}

/** Node's lookup: `<dir>/node_modules/<name>` for `from` and each of its ancestors. */
function locate(name, from) {
  let dir = from;
  for (;;) {
    if (path.basename(dir) !== "node_modules") {
      const candidate = path.join(dir, "node_modules", name);
      if (existsSync(path.join(candidate, "package.json"))) return realpathSync(candidate);
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const copied = new Map(); // name -> { dir, version }
const queue = wanted.map((name) => ({ name, from: path.resolve(root), optional: false, by: "(asked)" }));
while (queue.length > 0) {
  const { name, from, optional, by } = queue.shift();
  const dir = locate(name, from);
  if (!dir) {
    if (optional) continue; // an optional dependency for another platform (fsevents, @esbuild/darwin-arm64…)
    throw new Error(`${name} (needed by ${by}) is not installed under ${from}`);
  }
  const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  const seen = copied.get(name);
  if (seen) {
    if (seen.version !== manifest.version) {
      throw new Error(`${name} is needed at ${seen.version} and ${manifest.version}: cannot flatten`);
    }
    continue;
  }
  copied.set(name, { dir, version: manifest.version });
  const target = path.join(destination, "node_modules", name);
  mkdirSync(path.dirname(target), { recursive: true });
  // The package's own files only: its nested node_modules (.bin, pnpm's links) are resolved above.
  cpSync(dir, target, {
    recursive: true,
    dereference: true,
    filter: (src) => !path.relative(dir, src).split(path.sep).includes("node_modules"),
  });
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    queue.push({ name: dep, from: dir, optional: false, by: name });
  }
  for (const dep of Object.keys(manifest.optionalDependencies ?? {})) {
    queue.push({ name: dep, from: dir, optional: true, by: name });
  }
}
process.stdout.write(
  `copied ${[...copied].map(([name, { version }]) => `${name}@${version}`).join(", ")} to ${destination}\n`,
);
