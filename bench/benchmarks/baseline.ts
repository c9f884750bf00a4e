import { bareServer, load, report } from "../lib.ts";

/** The bare node:http 302 alone: a quick check of what this machine can do. */
export async function run(): Promise<void> {
  const bare = await bareServer(302, { location: "https://example.com/" });
  try {
    const baseline = await load({ url: `${bare.url}/`, label: "bare node:http 302", expectStatus: 302 });
    report("baseline", baseline, []);
  } finally {
    await bare.close();
  }
}
