import { randomBytes } from "node:crypto";
import { eq, schema } from "@hitrail/db/testing/sql";
import { createTRPCClient, httpLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/auth/tokens.ts";
import type { AppRouter } from "../src/router/root.ts";
import { expectCode, type Harness, PASSWORD, startHarness } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const unique = () => randomBytes(4).toString("hex");

/** A tRPC client that remembers the Set-Cookie headers of its last answer. */
function cookieClient(base: string, cookie?: string) {
  const seen: { setCookie: string[] } = { setCookie: [] };
  const client = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${base}/trpc`,
        headers: cookie ? { cookie } : {},
        fetch: async (url, init) => {
          const res = await fetch(url, init as RequestInit);
          seen.setCookie = res.headers.getSetCookie();
          return res;
        },
      }),
    ],
  });
  return { client, seen };
}

const sessionCookie = (setCookie: string[]) => setCookie.find((c) => c.startsWith("hitrail_session="));

describe("accounts and sessions", () => {
  it("signs up with an argon2id hash and an HTTP-only cookie whose token is stored only as sha256", async () => {
    const email = `Sign-Up-${unique()}@Example.com`;
    const { client, seen } = cookieClient(h.base);
    const user = await client.auth.signUp.mutate({ email, password: PASSWORD, name: "Ann" });
    expect(user.email).toBe(email.toLowerCase());

    const cookie = sessionCookie(seen.setCookie);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    const token = decodeURIComponent(cookie?.split(";")[0]?.split("=")[1] ?? "");

    const [row] = await h.t.db.select().from(schema.users).where(eq(schema.users.id, user.id));
    expect(row?.passwordHash).toMatch(/^\$argon2id\$/);
    const sessions = await h.t.db
      .select()
      .from(schema.authSessions)
      .where(eq(schema.authSessions.userId, user.id));
    expect(sessions.map((s) => s.tokenHash)).toEqual([sha256Hex(token)]);
    expect(JSON.stringify(sessions)).not.toContain(token);

    const me = await cookieClient(h.base, `hitrail_session=${token}`).client.auth.me.query();
    expect(me).toMatchObject({ kind: "user", user: { id: user.id }, workspaces: [] });
  });

  it("refuses a taken email, a short password and a bad email, naming the field", async () => {
    const { client } = cookieClient(h.base);
    await expectCode(
      client.auth.signUp.mutate({ email: h.a.users.viewer.email, password: PASSWORD }),
      "CONFLICT",
      /already exists/,
    );
    await expectCode(
      client.auth.signUp.mutate({ email: `x-${unique()}@example.com`, password: "short" }),
      "BAD_REQUEST",
      /^password: /,
    );
    await expectCode(
      client.auth.signUp.mutate({ email: "not-an-email", password: PASSWORD }),
      "BAD_REQUEST",
      /^email: /,
    );
  });

  it("signs in, answers a wrong password and an unknown email alike, and signs out for real", async () => {
    const user = await h.user();
    const anon = cookieClient(h.base);
    const wrong = await expectCode(
      anon.client.auth.signIn.mutate({ email: user.email, password: "wrong password!" }),
      "UNAUTHORIZED",
    );
    const unknown = await expectCode(
      anon.client.auth.signIn.mutate({ email: `nobody-${unique()}@example.com`, password: PASSWORD }),
      "UNAUTHORIZED",
    );
    expect(wrong).toBe(unknown);

    await anon.client.auth.signIn.mutate({ email: user.email.toUpperCase(), password: PASSWORD });
    const cookie = sessionCookie(anon.seen.setCookie)?.split(";")[0] ?? "";
    const signedIn = cookieClient(h.base, cookie);
    expect((await signedIn.client.auth.me.query()).user?.id).toBe(user.id);
    expect((await signedIn.client.auth.session.query())?.user?.id).toBe(user.id);
    await signedIn.client.auth.signOut.mutate();
    expect(sessionCookie(signedIn.seen.setCookie)).toMatch(/Expires=Thu, 01 Jan 1970/);
    await expectCode(signedIn.client.auth.me.query(), "UNAUTHORIZED");
    // The dashboard's "am I signed in?" answers null instead of an error.
    expect(await signedIn.client.auth.session.query()).toBeNull();
  });

  it("changing the password ends the user's other sessions", async () => {
    const user = await h.user();
    const other = cookieClient(h.base, user.cookie);
    const { client, seen } = cookieClient(h.base);
    await client.auth.signIn.mutate({ email: user.email, password: PASSWORD });
    const current = cookieClient(h.base, sessionCookie(seen.setCookie)?.split(";")[0]);
    await expectCode(
      current.client.auth.changePassword.mutate({
        currentPassword: "nope nope nope",
        newPassword: "another long password",
      }),
      "UNAUTHORIZED",
      /currentPassword/,
    );
    await current.client.auth.changePassword.mutate({
      currentPassword: PASSWORD,
      newPassword: "another long password",
    });
    expect((await current.client.auth.me.query()).user?.id).toBe(user.id);
    await expectCode(other.client.auth.me.query(), "UNAUTHORIZED");
  });

  it("sets Secure on the cookie when the public scheme is https, and can close sign-up", async () => {
    const secure = await startHarness({ publicScheme: "https", signup: "invite" });
    try {
      const { client, seen } = cookieClient(secure.base);
      await expectCode(
        client.auth.signUp.mutate({ email: `s-${unique()}@example.com`, password: PASSWORD }),
        "FORBIDDEN",
        /by invitation/,
      );
      const user = await secure.user();
      await client.auth.signIn.mutate({ email: user.email, password: PASSWORD });
      expect(sessionCookie(seen.setCookie)).toMatch(/; Secure/);
    } finally {
      await secure.close();
    }
  });
});

describe("workspaces, roles and agencies", () => {
  it("creates a workspace owned by its creator, with the default domain {slug}.{base domain}", async () => {
    const user = await h.user();
    const slug = `agency-${unique()}`;
    const ws = await h
      .client({ cookie: user.cookie })
      .workspaces.create.mutate({ name: "Agency", slug, timeZone: "Europe/Berlin" });
    expect(ws).toMatchObject({
      slug,
      role: "owner",
      timeZone: "Europe/Berlin",
      currency: "USD",
      sessionTtlSeconds: 345_600,
    });
    const domains = await h.client({ cookie: user.cookie }).domains.list.query({ workspaceId: ws.id });
    expect(domains).toMatchObject([{ host: `${slug}.test.localhost`, kind: "default", verified: true }]);
    await expectCode(
      h.client({ cookie: user.cookie }).workspaces.create.mutate({ name: "Again", slug }),
      "CONFLICT",
      /slug/,
    );
    await expectCode(
      h.client({ cookie: user.cookie }).workspaces.create.mutate({ name: "Bad", slug: "Bad Slug!" }),
      "BAD_REQUEST",
      /^slug: /,
    );
  });

  it("lets one user act in several workspaces, each with its own role", async () => {
    const agency = await h.user({ workspaceId: h.a.workspace.id, role: "viewer" });
    await h.t.db
      .insert(schema.memberships)
      .values({ workspaceId: h.b.workspace.id, userId: agency.id, role: "admin" });
    const c = h.client({ cookie: agency.cookie });
    const list = await c.workspaces.list.query();
    expect(list.map((w) => [w.id, w.role]).sort()).toEqual(
      [
        [h.a.workspace.id, "viewer"],
        [h.b.workspace.id, "admin"],
      ].sort(),
    );
    await expectCode(c.workspaces.update.mutate({ workspaceId: h.a.workspace.id, name: "x" }), "FORBIDDEN");
    const renamed = await c.workspaces.update.mutate({ workspaceId: h.b.workspace.id, name: "B by agency" });
    expect(renamed.name).toBe("B by agency");
  });

  it("validates settings field by field and shows the postback secret to admins only", async () => {
    const admin = h.client({ cookie: h.a.users.admin.cookie });
    const wsId = h.a.workspace.id;
    await expectCode(
      admin.workspaces.update.mutate({ workspaceId: wsId, timeZone: "Mars/Olympus" }),
      "BAD_REQUEST",
      /^timeZone: /,
    );
    await expectCode(
      admin.workspaces.update.mutate({ workspaceId: wsId, postbackIpAllowlist: ["10.0.0.0/8", "nope"] }),
      "BAD_REQUEST",
      /^postbackIpAllowlist\[1\]: /,
    );
    await expectCode(
      admin.workspaces.update.mutate({ workspaceId: wsId, currency: "dollars" }),
      "BAD_REQUEST",
      /^currency: /,
    );
    const updated = await admin.workspaces.update.mutate({
      workspaceId: wsId,
      timeZone: "America/New_York",
      currency: "eur",
      sessionTtlSeconds: 2 * 86_400,
      postbackIpAllowlist: ["203.0.113.0/24"],
    });
    expect(updated).toMatchObject({
      timeZone: "America/New_York",
      currency: "EUR",
      sessionTtlSeconds: 172_800,
    });

    const withSecret = await admin.workspaces.setPostbackSecret.mutate({ workspaceId: wsId });
    expect(withSecret.postbackSecret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const asViewer = await h
      .client({ cookie: h.a.users.viewer.cookie })
      .workspaces.get.query({ workspaceId: wsId });
    expect(asViewer).toMatchObject({ postbackSecret: null, postbackSecretSet: true });
    const cleared = await admin.workspaces.setPostbackSecret.mutate({ workspaceId: wsId, secret: null });
    expect(cleared).toMatchObject({ postbackSecret: null, postbackSecretSet: false });

    const audit = await admin.audit.list.query({ workspaceId: wsId, limit: 5 });
    expect(audit.items.map((i) => i.action)).toContain("workspace.postback_secret.clear");
    expect(audit.items.find((i) => i.action === "workspace.update")?.actorUserId).toBe(h.a.users.admin.id);
  });
});

describe("members", () => {
  it("never lets anyone grant or touch a role above their own, and keeps an owner", async () => {
    const admin = h.client({ cookie: h.a.users.admin.cookie });
    const wsId = h.a.workspace.id;
    await expectCode(
      admin.members.invite.mutate({ workspaceId: wsId, email: `o-${unique()}@example.com`, role: "owner" }),
      "FORBIDDEN",
    );
    await expectCode(
      admin.members.setRole.mutate({ workspaceId: wsId, userId: h.a.users.owner.id, role: "viewer" }),
      "FORBIDDEN",
    );
    await expectCode(
      admin.members.remove.mutate({ workspaceId: wsId, userId: h.a.users.owner.id }),
      "FORBIDDEN",
    );

    const solo = await h.user();
    const { id: soloWs } = await h
      .client({ cookie: solo.cookie })
      .workspaces.create.mutate({ name: "Solo", slug: `solo-${unique()}` });
    const owner = h.client({ cookie: solo.cookie });
    await expectCode(
      owner.members.setRole.mutate({ workspaceId: soloWs, userId: solo.id, role: "admin" }),
      "PRECONDITION_FAILED",
      /needs an owner/,
    );
    await expectCode(
      owner.members.remove.mutate({ workspaceId: soloWs, userId: solo.id }),
      "PRECONDITION_FAILED",
    );

    const members = await admin.members.list.query({ workspaceId: wsId });
    expect(members.map((m) => m.userId)).toContain(h.a.users.viewer.id);
    expect(members.map((m) => m.userId)).not.toContain(h.b.users.owner.id);
  });
});

describe("API keys", () => {
  it("shows a key once, stores its hash, scopes it to one workspace and revokes it", async () => {
    const admin = h.client({ cookie: h.a.users.admin.cookie });
    const { apiKey, key } = await admin.apiKeys.create.mutate({
      workspaceId: h.a.workspace.id,
      name: "ci",
      role: "member",
    });
    expect(key).toMatch(/^hr_/);
    expect(apiKey.prefix).toBe(key.slice(0, 10));
    const [row] = await h.t.db.select().from(schema.apiKeys).where(eq(schema.apiKeys.id, apiKey.id));
    expect(row?.keyHash).toBe(sha256Hex(key));
    const listed = await admin.apiKeys.list.query({ workspaceId: h.a.workspace.id });
    expect(JSON.stringify(listed)).not.toContain(key);

    const asKey = h.client({ key });
    expect((await asKey.auth.me.query()).workspaces).toMatchObject([
      { id: h.a.workspace.id, role: "member" },
    ]);
    await expectCode(asKey.offers.list.query({ workspaceId: h.b.workspace.id }), "NOT_FOUND");
    await expectCode(
      admin.apiKeys.create.mutate({ workspaceId: h.a.workspace.id, name: "too strong", role: "owner" }),
      "FORBIDDEN",
    );

    const revoked = await admin.apiKeys.revoke.mutate({ workspaceId: h.a.workspace.id, apiKeyId: apiKey.id });
    expect(revoked.revokedAt).not.toBeNull();
    await expectCode(asKey.auth.me.query(), "UNAUTHORIZED");
  });

  it("does not let a bad Bearer token fall back to the browser's session", async () => {
    const c = createTRPCClient<AppRouter>({
      links: [
        httpLink({
          url: `${h.base}/trpc`,
          headers: { cookie: h.a.users.owner.cookie, authorization: "Bearer hr_not-a-key" },
        }),
      ],
    });
    await expectCode(c.auth.me.query(), "UNAUTHORIZED");
  });
});
