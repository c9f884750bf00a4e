import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * `pnpm bench [name…]`: runs bench/benchmarks/<name>.ts (all when none is named). Each benchmark
 * measures a bare node:http server in the same run and prints throughput, p50/p99 and the ratio.
 */
const dir = fileURLToPath(new URL("./benchmarks/", import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3))
  .sort();
// Names come first; everything from the first --option on belongs to the benchmarks (`--hits 1000000`).
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith("-"));
const wanted = firstOption < 0 ? args : args.slice(0, firstOption);
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(", ")}; available: ${available.join(", ")}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : available) {
  const mod = (await import(`${dir}${name}.ts`)) as { run: () => Promise<void> };
  console.log(`\n# bench ${name}`);
  await mod.run();
}
process.exit(0);
