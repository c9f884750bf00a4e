import type { TestProject } from "vitest/node";
import { prepareTemplate, type TestDatabaseInfo } from "./template.ts";

// Every project inherits this global setup; the template is built once per vitest run.
const state = globalThis as typeof globalThis & {
  __hitrailTemplate?: Promise<{ info: TestDatabaseInfo; teardown: () => Promise<void> }>;
  __hitrailUsers?: number;
};

export default async function setup(project: TestProject) {
  state.__hitrailTemplate ??= prepareTemplate();
  state.__hitrailUsers = (state.__hitrailUsers ?? 0) + 1;
  const { info, teardown } = await state.__hitrailTemplate;
  project.provide("hitrailDb", info);
  return async () => {
    state.__hitrailUsers = (state.__hitrailUsers ?? 1) - 1;
    if (state.__hitrailUsers === 0) await teardown();
  };
}
