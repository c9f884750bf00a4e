import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "./router/root.ts";

export { type ApiDeps, buildApi } from "./app.ts";
export { hashPassword } from "./auth/password.ts";
export { startApi } from "./main.ts";
export type { AppRouter } from "./router/root.ts";
export type { ApiSettings, DomainChecks } from "./settings.ts";

/** Every procedure's input and output, by path, for the web app: `RouterOutputs["offers"]["get"]`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
