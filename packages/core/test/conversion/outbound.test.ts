import { describe, expect, it } from "vitest";
import {
  outboundMacros,
  renderOutboundPostback,
  TRAFFIC_SOURCE_POSTBACK_MACROS,
  trafficSourceNotify,
} from "../../src/index.ts";

describe("outbound postback macros", () => {
  const hit = {
    hitId: "h1",
    visitorId: "v1",
    funnelId: "f1",
    externalId: "e1",
    cost: "0.3",
    trackingFields: { zone: "z", payout: "fake" },
  };
  const change = { revenue: "4.5", status: "approved" as const, tx: null, event: "conversion" };

  it("fills the contract's macros; a tracking field cannot fake one", () => {
    expect(outboundMacros(hit, change, "EUR")).toEqual({
      zone: "z",
      payout: "4.5",
      external: "e1",
      revenue: "4.5",
      tx: null,
      hit: "h1",
      vid: "v1",
      event: "conversion",
      status: "approved",
      funnel: "f1",
      cost: "0.3",
      currency: "EUR",
    });
  });

  it("keeps a tracking field named __proto__ a field, and a differently cased one never wins", () => {
    const fields = JSON.parse('{"__proto__":"p","Payout":"fake","zone":"z"}') as Record<string, string>;
    const macros = outboundMacros({ ...hit, trackingFields: fields }, change, "EUR");
    expect(Object.getPrototypeOf(macros)).toBe(Object.prototype);
    expect(Object.hasOwn(macros, "__proto__")).toBe(true);
    expect(
      renderOutboundPostback("https://x/?p={payout}&q={__proto__}&z={zone}", hit, change, "EUR").url,
    ).toBe("https://x/?p=4.5&q={__proto__}&z=z");
    expect(
      renderOutboundPostback(
        "https://x/?p={PAYOUT}&q={__proto__}",
        { ...hit, trackingFields: fields },
        change,
        "EUR",
      ).url,
    ).toBe("https://x/?p=4.5&q=p");
  });

  it("fills exactly the macros the api lets a postback URL use (core's list)", () => {
    const filled = Object.keys(outboundMacros({ ...hit, trackingFields: {} }, change, "EUR")).sort();
    expect(filled).toEqual(TRAFFIC_SOURCE_POSTBACK_MACROS.map((m) => m.name).sort());
  });

  it("reports the macros it could not fill", () => {
    expect(renderOutboundPostback(" https://x/?a={ZONE}&t={tx}&b={other} ", hit, change, "EUR")).toEqual({
      url: "https://x/?a=z&t=&b={other}",
      unknownMacros: ["other"],
    });
  });

  it.each([
    [{ postbackUrl: null, postbackOnUpdate: true, postbackOnReject: true }, null],
    [{ postbackUrl: "  ", postbackOnUpdate: true, postbackOnReject: true }, null],
    [
      { postbackUrl: "https://x", postbackOnUpdate: null, postbackOnReject: true },
      { onCreate: true, onUpdate: false, onReject: true },
    ],
  ])("trafficSourceNotify(%j)", (source, expected) => {
    expect(trafficSourceNotify(source)).toEqual(expected);
  });
});
