export * from "./accounts.ts";
export * from "./campaigns.ts";
export * from "./conversions.ts";
export * from "./domains.ts";
export * from "./funnels.ts";
export * from "./hits.ts";
export * from "./outbox.ts";
export * from "./postbacks.ts";
