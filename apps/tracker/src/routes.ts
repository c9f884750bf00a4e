import type { FastifyInstance } from "fastify";
import { registerClickRoutes } from "./click/routes.ts";
import type { TrackerDeps } from "./deps.ts";
import { registerPostbackRoutes } from "./postback/routes.ts";
import { registerTagRoutes } from "./tag/routes.ts";

/** Each area of the tracker registers its routes here. */
export async function registerTrackerRoutes(app: FastifyInstance, deps: TrackerDeps): Promise<void> {
  await registerClickRoutes(app, deps);
  await registerPostbackRoutes(app, deps);
  await registerTagRoutes(app, deps);
}
