import type { FastifyInstance } from "fastify";
import type { TrackerDeps } from "./deps.ts";

/** Each area of the tracker registers its routes here. */
export async function registerTrackerRoutes(_app: FastifyInstance, _deps: TrackerDeps): Promise<void> {}
