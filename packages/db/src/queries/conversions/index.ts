export * from "./batch.ts";
export * from "./read.ts";
