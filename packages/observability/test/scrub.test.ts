import { describe, expect, it } from "vitest";
import { REDACTED, scrub, scrubError, scrubSentryEvent, scrubString } from "../src/index.ts";

describe("scrubString", () => {
  it.each([
    ["https://t.example/pb/?hit=H1&key=s3cret&rev=5", `https://t.example/pb/?hit=H1&key=${REDACTED}&rev=5`],
    ["/pb?api_key=abc#x", `/pb?api_key=${REDACTED}#x`],
    ["?Password=hunter2", `?Password=${REDACTED}`],
    ["?session%5Ftoken=abc&ok=1", `?session%5Ftoken=${REDACTED}&ok=1`],
    ["https://x/cb#access_token=abc", `https://x/cb#access_token=${REDACTED}`],
    [
      "rejected postback GET /pb/?key=abc from 1.2.3.4",
      `rejected postback GET /pb/?key=${REDACTED} from 1.2.3.4`,
    ],
    ["client_secret=abc&grant=1", `client_secret=${REDACTED}&grant=1`],
    ['{"email":"a@b.c","password":"hunter2"}', `{"email":"a@b.c","password":"${REDACTED}"}`],
    ['{"newPassword": "x\\"y"}', `{"newPassword": "${REDACTED}"}`],
    ["authorization: Bearer hr_abcdef123", `authorization: Bearer ${REDACTED}`],
    ["redis://user:pa55@redis:6379/0", `redis://user:${REDACTED}@redis:6379/0`],
    ["https://ads.example/pb?cid=abc&payout=12.5", "https://ads.example/pb?cid=abc&payout=12.5"],
    ["nothing secret here", "nothing secret here"],
    [
      "Failed query: insert into users (email, password_hash) values ($1, $2)\nparams: a@b.c,$argon2id$v=19$m=19456,t=2,p=1$abc$def",
      `Failed query: insert into users (email, password_hash) values ($1, $2)\nparams: ${REDACTED}`,
    ],
    ["hash $argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA end", `hash $argon2id$${REDACTED} end`],
    ["", ""],
  ])("%s", (input, expected) => {
    expect(scrubString(input)).toBe(expected);
  });
});

describe("scrub", () => {
  it("redacts sensitive property names at any depth and scrubs every string", () => {
    const input = {
      password: "hunter2",
      nested: { apiKey: "hr_x", list: [{ secret: "s", ok: "fine" }], url: "/pb?key=abc&hit=1" },
      headers: { authorization: "Bearer abc", cookie: "hitrail_session=abc", accept: "*/*" },
      count: 3,
      missingToken: null,
      at: new Date(0),
    };
    expect(scrub(input)).toEqual({
      password: REDACTED,
      nested: {
        apiKey: REDACTED,
        list: [{ secret: REDACTED, ok: "fine" }],
        url: `/pb?key=${REDACTED}&hit=1`,
      },
      headers: { authorization: REDACTED, cookie: REDACTED, accept: "*/*" },
      count: 3,
      missingToken: null,
      at: new Date(0),
    });
    expect(input.password).toBe("hunter2");
  });

  it("cuts cycles instead of following them", () => {
    const a: Record<string, unknown> = { name: "a" };
    a.self = a;
    expect(scrub(a)).toEqual({ name: "a", self: "[cut]" });
  });
});

describe("scrubSentryEvent", () => {
  it("drops the request body of auth procedures, cookies and the user's address", () => {
    const event = {
      message: "failed",
      request: {
        url: "http://api/trpc/auth.signUp",
        data: { email: "a@b.c", name: "x", pw: "hunter2" },
        cookies: { hitrail_session: "abc" },
        query_string: "batch=1&token=abc",
      },
      user: { id: "u1", ip_address: "1.2.3.4", email: "a@b.c" },
      extra: { url: "https://t.example/pb/?hit=1&key=s3cret" },
    };
    const out = scrubSentryEvent(event);
    expect(out.request).toEqual({
      url: "http://api/trpc/auth.signUp",
      query_string: `batch=1&token=${REDACTED}`,
    });
    expect(out.user).toEqual({ id: "u1" });
    expect(out.extra).toEqual({ url: `https://t.example/pb/?hit=1&key=${REDACTED}` });
    expect(JSON.stringify(out)).not.toContain("hunter2");
    expect(JSON.stringify(out)).not.toContain("s3cret");
  });

  it("keeps other procedures' bodies, scrubbed", () => {
    const out = scrubSentryEvent({
      request: { url: "http://api/trpc/offers.create", data: '{"name":"x","token":"abc"}' },
    });
    expect(out.request?.data).toBe(`{"name":"x","token":"${REDACTED}"}`);
  });
});

describe("scrubError", () => {
  it("keeps type, code and causes, without query parameters or hashes", () => {
    const cause = Object.assign(new Error("new row violates check constraint"), { code: "23514" });
    const error = new Error("Failed query: insert into users\nparams: a@b.c,$argon2id$v=19$x", { cause });
    const out = scrubError(error) as Record<string, unknown>;
    expect(out).toMatchObject({
      type: "Error",
      message: `Failed query: insert into users\nparams: ${REDACTED}`,
      cause: { type: "Error", code: "23514", message: "new row violates check constraint" },
    });
    expect(JSON.stringify(out)).not.toContain("argon2id$v=19");
  });
});
