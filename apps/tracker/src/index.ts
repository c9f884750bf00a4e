export { buildTracker } from "./app.ts";
export type { TrackerDeps } from "./deps.ts";
export { type HitRow, HitWriter } from "./hit-writer.ts";
export { type RunningTracker, startTracker } from "./main.ts";
export { SessionStore } from "./sessions.ts";
export { WorkspaceResolver } from "./workspace-resolver.ts";
