export { type ApiDeps, buildApi } from "./app.ts";
export { startApi } from "./main.ts";
export type { AppRouter } from "./router/root.ts";
