import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { namePaths, type SaveInput } from "../src/screens/funnels/graph.ts";
import { errorMessage, humanizeKey, labelFields } from "../src/trpc.ts";

// Form errors speak in the labels a person saw, not in the api's field keys.

const api = (message: string) => new TRPCClientError(message);

describe("errorMessage", () => {
  it.each([
    ["defaultPayout: must be an amount such as 12.50", "Default payout: must be an amount such as 12.50"],
    [
      "postbackUrl: is not a valid URL; name: must not be empty",
      "Postback URL: is not a valid URL; Name: must not be empty",
    ],
    ["offerSourceId: offer source not found", "Offer source ID: offer source not found"],
    [
      "funnel would strand visitors: node 'Quiz': lander node has no page",
      "funnel would strand visitors: node 'Quiz': lander node has no page",
    ],
  ])("%s", (raw, shown) => {
    expect(errorMessage(api(raw))).toBe(shown);
  });

  it("prefers the form's own labels", () => {
    const labels = new Map([
      ["offerSourceId", "Offer source"],
      ["defaultPayout", "Payout"],
    ]);
    expect(
      errorMessage(api("offerSourceId: offer source not found; defaultPayout: must not be negative"), labels),
    ).toBe("Offer source: offer source not found; Payout: must not be negative");
  });

  it("leaves errors that are not the api's alone", () => {
    expect(errorMessage(new Error("defaultPayout: x"))).toBe("defaultPayout: x");
    expect(humanizeKey("clickIdParam")).toBe("Click ID param");
  });
});

describe("namePaths", () => {
  const input: SaveInput = {
    workspaceId: "w",
    name: "F",
    entryNodeId: "new-1",
    nodes: [
      {
        id: "new-1",
        name: "Traffic entry",
        config: { kind: "entry", routes: [{ to: "new-2", weight: -1 }] },
      },
      { id: "new-2", name: "", config: { kind: "lander", pages: [] } },
    ],
    actions: [{ from: "new-2", number: 3, to: "new-1", triggers: {} }],
  };
  it("then labels what is left, as the builder shows it", () => {
    expect(labelFields(namePaths("name: must not be empty; nodes[1].name: too long", input))).toBe(
      "Name: must not be empty; the unnamed lander node name: too long",
    );
  });
  it.each([
    [
      "nodes[0].config.routes[0].weight: must not be negative",
      "node 'Traffic entry', route 1 weight: must not be negative",
    ],
    ["nodes[1].name: too long", "the unnamed lander node name: too long"],
    ["actions[0].number: must be 1 or more", "action 3 of the unnamed lander node number: must be 1 or more"],
  ])("%s", (raw, shown) => {
    expect(namePaths(raw, input)).toBe(shown);
  });
});
