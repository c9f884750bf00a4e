import { describe, expect, it } from "vitest";
import { DEFAULT_VISITOR_ID_PARAM, redirectVisitorParam, visitorIdParamProblem } from "../src/index.ts";

describe('seed: VID — "We always return this in our JS response, add it automatically to redirect destinations"', () => {
  it.each([
    ["lander", true, "vid", "vid"],
    ["lander", false, "vid", "vid"],
    ["offer", true, "vid", "vid"],
    ["offer", true, "fvid", "fvid"],
    // A network that refuses unknown parameters: the offer opted out.
    ["offer", false, "vid", null],
    // External URLs leave the funnel and carry no tag.
    ["external", true, "vid", null],
    ["none", true, "vid", null],
    // A stored name that is no longer valid falls back to the default rather than breaking clicks.
    ["offer", true, "hit", DEFAULT_VISITOR_ID_PARAM],
  ] as const)("a %s page (passes: %s) with parameter %s gets %s", (kind, passVisitorId, name, expected) => {
    expect(redirectVisitorParam({ kind, passVisitorId }, name)).toBe(expected);
  });

  it.each([
    ["vid", null],
    ["visitor_id", null],
    ["ff.vid-2", null],
    ["", "must not be empty"],
    ["a b", "may only contain letters, digits, '_', '.' and '-'"],
    ["v&id", "may only contain letters, digits, '_', '.' and '-'"],
    ["x".repeat(41), "must be at most 40 characters"],
    ["hit", "'hit' is used by the tag itself; choose another name"],
    ["N", "'N' is used by the tag itself; choose another name"],
  ])("parameter name %j → %j", (name, problem) => {
    expect(visitorIdParamProblem(name)).toBe(problem);
  });
});
