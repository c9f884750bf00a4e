export * from "./batch.ts";
export * from "./import/engine.ts";
export * from "./import/mapping.ts";
export * from "./import/run.ts";
export * from "./import/sources.ts";
export * from "./plan.ts";
export type * from "./types.ts";
