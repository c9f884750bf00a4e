// The Node.js images' HEALTHCHECK: GET /healthz of this image's app (HITRAIL_APP) on its port.
// Exit 0 when it answers 2xx within 2.5 s, else 1. The CLI image runs one-off commands: always 0.
const ports = {
  tracker: ["TRACKER_PORT", 8080],
  api: ["API_PORT", 8081],
  worker: ["WORKER_PORT", 8084],
};

const entry = ports[process.env.HITRAIL_APP ?? ""];
if (!entry) process.exit(0);
const [variable, fallback] = entry;
const port = Number(process.env[variable] || fallback);
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_500) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
