import type { FastifyInstance } from "fastify";
import type { TrackerDeps } from "../deps.ts";

export async function registerPostbackRoutes(_app: FastifyInstance, _deps: TrackerDeps): Promise<void> {}
