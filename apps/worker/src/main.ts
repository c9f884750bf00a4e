import { runApp } from "@hitrail/observability";
import { startWorker } from "./worker.ts";

/** `tsx apps/worker/src/main.ts`: one process consuming the queues WORKER_QUEUES names (all by default). */
function main(): Promise<void> {
  return runApp(
    "worker",
    (env, deps) => startWorker(env, deps),
    (started) => ({
      fields: { url: started.url, queues: started.consumed },
      message: "worker running",
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
