import { describe, expect, it } from "vitest";
import {
  type ConversionStatus,
  classifyStatus,
  knownStatusWords,
  STATUS_MAP_TEMPLATES,
  type StatusMap,
  validateStatusMap,
} from "../../src/index.ts";

describe("classifyStatus with the seed's words", () => {
  it.each([
    ["pending", "pending", "pending"],
    ["hold", "pending", "hold"],
    ["preapproved", "pending", "preapproved"],
    ["PENDING", "pending", "pending"],
    [" Hold ", "pending", "hold"],
    ["rejected", "rejected", "rejected"],
    ["reject", "rejected", "reject"],
    ["trash", "rejected", "trash"],
    ["cancelled", "rejected", "cancelled"],
    ["CANCELLED", "rejected", "cancelled"],
    ["approved", "approved", "approved"],
    ["sale", "approved", "sale"],
    ["canceled", "approved", "canceled"],
    ["declined", "approved", "declined"],
    ["1", "approved", "1"],
  ] as const)("%j is %s", (raw, status, word) => {
    expect(classifyStatus(raw)).toEqual({ kind: "ok", status, word });
  });

  it.each([[undefined], [null], [""], ["  "], ["{status}"], ["[status]"], ["%status%"], ["REPLACE"]])(
    "%j (absent, empty or macro) is a normal conversion",
    (raw) => {
      expect(classifyStatus(raw)).toEqual({ kind: "ok", status: "approved", word: null });
    },
  );
});

describe("classifyStatus with a map", () => {
  const lenient: StatusMap = {
    strict: false,
    words: { Declined: "rejected", "7": "pending", pending: "approved" },
  };
  const strict: StatusMap = { strict: true, words: { ok: "approved" } };

  it.each([
    [lenient, "declined", { kind: "ok", status: "rejected", word: "declined" }],
    [lenient, " 7 ", { kind: "ok", status: "pending", word: "7" }],
    // A map key overrides the seed's word.
    [lenient, "pending", { kind: "ok", status: "approved", word: "pending" }],
    // The seed's words still work when the map does not name them.
    [lenient, "trash", { kind: "ok", status: "rejected", word: "trash" }],
    [lenient, "whatever", { kind: "ok", status: "approved", word: "whatever" }],
    [strict, "OK", { kind: "ok", status: "approved", word: "ok" }],
    [strict, "hold", { kind: "ok", status: "pending", word: "hold" }],
    [strict, "approved", { kind: "ok", status: "approved", word: "approved" }],
    [strict, "", { kind: "ok", status: "approved", word: null }],
    [strict, "{status}", { kind: "ok", status: "approved", word: null }],
    [strict, "whatever", { kind: "unknown", word: "whatever", known: knownStatusWords(strict) }],
    [strict, "constructor", { kind: "unknown", word: "constructor", known: knownStatusWords(strict) }],
  ] as const)("%j: %j", (map, raw, expected) => {
    expect(classifyStatus(raw, map)).toEqual(expected);
  });

  it("lists the map's words and the seed's in an unknown answer", () => {
    expect(knownStatusWords(strict)).toEqual([
      "approved",
      "cancelled",
      "hold",
      "ok",
      "pending",
      "preapproved",
      "reject",
      "rejected",
      "trash",
    ]);
  });
});

describe("STATUS_MAP_TEMPLATES", () => {
  it.each([
    ["affise", "1", "approved"],
    ["affise", "2", "pending"],
    ["affise", "3", "rejected"],
    ["affise", "5", "pending"],
    ["affise", "declined", "rejected"],
    ["affise", "4", "approved"],
    ["clickbank", "SALE", "approved"],
    ["clickbank", "BILL", "approved"],
    ["clickbank", "RFND", "rejected"],
    ["clickbank", "CGBK", "rejected"],
    ["clickbank", "INSF", "rejected"],
    ["clickbank", "pending", "pending"],
    ["lead_sale", "lead", "approved"],
    ["lead_sale", "Sale", "approved"],
    ["lead_sale", "rejected", "rejected"],
    ["lead_sale", "declined", "rejected"],
    ["lead_sale", "hold", "pending"],
  ] as const)("%s: %j is %s", (name, raw, status: ConversionStatus) => {
    const result = classifyStatus(raw, STATUS_MAP_TEMPLATES[name].map);
    expect(result).toMatchObject({ kind: "ok", status });
  });

  it.each([
    ["clickbank", "CANCEL-REBILL"],
    ["lead_sale", "click"],
  ] as const)("%s is strict: %j is unknown", (name, raw) => {
    expect(classifyStatus(raw, STATUS_MAP_TEMPLATES[name].map)).toMatchObject({ kind: "unknown" });
  });

  it.each(Object.keys(STATUS_MAP_TEMPLATES))("%s is a valid map", (name) => {
    const template = STATUS_MAP_TEMPLATES[name as keyof typeof STATUS_MAP_TEMPLATES];
    expect(validateStatusMap(template.map)).toEqual([]);
  });
});

describe("validateStatusMap", () => {
  it.each([
    [{ strict: false, words: { ok: "approved" } }, []],
    [{ strict: false, words: { " ": "approved" } }, ["a status word is empty"]],
    [
      { strict: false, words: { Lead: "approved", lead: "pending" } },
      ["status words 'Lead' and 'lead' are the same word"],
    ],
    [
      { strict: false, words: { lead: "won" as ConversionStatus } },
      ["status word 'lead' maps to unknown status 'won'"],
    ],
  ] as const)("%j → %j", (map, problems) => {
    expect(validateStatusMap(map)).toEqual(problems);
  });
});
