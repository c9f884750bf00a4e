import { describe, expect, it } from "vitest";
import { CUSTOM_DRAFT, draftInput, pickTemplate } from "../src/screens/traffic-source-form.tsx";

// Issue 22: switching templates takes back what the previous one set (Facebook → Custom drops fbclid).

const template = (key: string, label: string, over: Record<string, unknown> = {}) => ({
  key,
  label,
  externalParam: "clickid",
  externalMacro: "{clickid}" as string | null,
  campaignParam: "campaignid",
  campaignMacro: null as string | null,
  costParam: "cost",
  costMacro: "{cost}" as string | null,
  trackingFields: [] as Array<{ name: string; param: string; macro: string }>,
  postbackUrl: "https://net.example/pb?c={external}" as string | null,
  notes: "",
  ...over,
});

const facebook = template("facebook", "Facebook / Meta", {
  externalParam: "fbclid",
  externalMacro: null,
  costMacro: null,
  postbackUrl: null,
  trackingFields: [{ name: "adid", param: "adid", macro: "{{ad.id}}" }],
});
const exo = template("exoclick", "ExoClick");

describe("pickTemplate", () => {
  it("fills everything from the template, a null macro kept off the link", () => {
    const d = pickTemplate(CUSTOM_DRAFT, undefined, facebook);
    expect(d).toMatchObject({
      template: "facebook",
      name: "Facebook / Meta",
      externalParam: "fbclid",
      externalMacro: "",
      costMacro: "",
      trackingFields: [{ name: "adid", param: "adid", macro: "{{ad.id}}" }],
    });
  });

  it("Facebook → Custom takes back fbclid, its fields and its name", () => {
    const fb = pickTemplate(CUSTOM_DRAFT, undefined, facebook);
    expect(pickTemplate(fb, facebook, undefined)).toEqual(CUSTOM_DRAFT);
  });

  it("Facebook → ExoClick keeps nothing of Facebook, but a name the user typed", () => {
    const fb = { ...pickTemplate(CUSTOM_DRAFT, undefined, facebook), name: "FB main" };
    const d = pickTemplate(fb, facebook, exo);
    expect(d).toMatchObject({
      name: "FB main",
      externalParam: "clickid",
      externalMacro: "{clickid}",
      trackingFields: [],
    });
  });

  it("asks the api for what the draft says, an empty postback as none", () => {
    expect(draftInput("w1", { ...CUSTOM_DRAFT, name: "Mine", externalParam: "clickid" })).toEqual({
      workspaceId: "w1",
      name: "Mine",
      postbackUrl: null,
      externalParam: "clickid",
      externalMacro: null,
      campaignParam: "campaign",
      campaignMacro: null,
      costParam: "cost",
      costMacro: null,
      trackingFields: [],
    });
  });
});
