import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deliverJob, InvalidJobPayload, jobIds, outboxJob } from "../src/index.ts";

// The outbox holds jobs built here: typed by name, validated like any job, under ids that say which
// run they are (BullMQ ignores a second job under an id it still holds).

describe("outbox jobs", () => {
  const workspaceId = randomUUID();
  const deliveryId = randomUUID();

  it("carries the job's name, its payload and id, and a delay (0 unless given)", () => {
    expect(
      outboxJob("rollup.conversion", { workspaceId, conversionId: deliveryId, revision: 2 }, { jobId: "j" }),
    ).toEqual({
      topic: "rollup.conversion",
      jobId: "j",
      payload: { workspaceId, conversionId: deliveryId, revision: 2 },
      delayMs: 0,
    });
    expect(deliverJob(workspaceId, deliveryId, jobIds.deliver(deliveryId), 90_000)).toEqual({
      topic: "postback.deliver",
      jobId: `deliver-${deliveryId}`,
      payload: { workspaceId, deliveryId },
      delayMs: 90_000,
    });
  });

  it("refuses a payload its job's schema refuses, before anything is stored", () => {
    expect(() => deliverJob(workspaceId, "not-a-uuid", "j")).toThrow(InvalidJobPayload);
    expect(() =>
      outboxJob("rollup.conversion", { workspaceId, conversionId: deliveryId, revision: 0 }, { jobId: "j" }),
    ).toThrow(/revision/);
  });

  it.each([
    ["a delivery's first run", jobIds.deliver("d1"), "deliver-d1"],
    ["a replay, new at each time", jobIds.deliverReplay("d1", new Date(5)), "deliver-d1-replay-5"],
    ["a resume, new at each time", jobIds.deliverResume("d1", new Date(7)), "deliver-d1-resume-7"],
    ["one rollup per conversion revision", jobIds.rollupConversion("c1", 3), "rollup-c1-3"],
  ])("job ids: %s", (_name, id, expected) => {
    expect(id).toBe(expected);
  });
});
