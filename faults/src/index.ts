// What other suites (topology, bench) reuse: the apps as production processes, open-loop load, and
// servers of their own on free ports.
export { type AppName, AppProcess, get, sleep } from "./apps.ts";
export { OpenLoad, percentile, type Sample, summarize } from "./load.ts";
export { ScratchRedisCluster } from "./redis-cluster.ts";
export { freePort, ScratchPostgres, ScratchRedis } from "./servers.ts";
