import { randomBytes } from "node:crypto";
import type { AddressInfo, LookupFunction } from "node:net";
import { Writable } from "node:stream";
import { createLogger } from "@hitrail/observability";
import { createTRPCClient, httpLink } from "@trpc/client";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApi } from "../src/app.ts";
import type { AppRouter } from "../src/router/root.ts";
import { createDomainChecks } from "../src/settings.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const unique = () => randomBytes(4).toString("hex");
const tlsAsk = async (host: string) => (await fetch(`${h.base}/internal/tls/ask?domain=${host}`)).status;

describe("custom domains: unique among verified domains only", () => {
  it("two workspaces claim one host, each with its own token; the first to verify wins, the other is told", async () => {
    const host = `track-${unique()}.client.example`;
    // B (say, a squatter) claims the client's host before the client does: it blocks nobody.
    const b = h.client({ cookie: h.b.users.owner.cookie });
    const a = h.client({ cookie: h.a.users.admin.cookie });
    const claimB = await b.domains.add.mutate({ workspaceId: h.b.workspace.id, host });
    const claimA = await a.domains.add.mutate({ workspaceId: h.a.workspace.id, host });
    expect(claimA).toMatchObject({ host, verified: false, status: "pending" });
    expect(claimB).toMatchObject({ host, verified: false, status: "pending" });
    const tokenA = claimA.verification?.txtValue ?? "";
    const tokenB = claimB.verification?.txtValue ?? "";
    expect(tokenA).toMatch(/^hitrail-verify-/);
    expect(tokenB).toMatch(/^hitrail-verify-/);
    expect(tokenA).not.toBe(tokenB);

    // B cannot prove anything: the TXT record holds A's token only.
    h.world.txt.set(`_hitrail.${host}`, [[tokenA]]);
    const failedB = await b.domains.verify.mutate({
      workspaceId: h.b.workspace.id,
      domainId: claimB.id,
      methods: ["dns"],
    });
    expect(failedB).toMatchObject({ verified: false, domain: { status: "pending" } });

    const wonA = await a.domains.verify.mutate({
      workspaceId: h.a.workspace.id,
      domainId: claimA.id,
      methods: ["dns"],
    });
    expect(wonA).toMatchObject({ verified: true, domain: { status: "verified" } });
    expect(await tlsAsk(host)).toBe(200);

    // Even with its own token published now, B's claim is taken: the first verified claim won.
    h.world.txt.set(`_hitrail.${host}`, [[tokenA], [tokenB]]);
    const lateB = await b.domains.verify.mutate({ workspaceId: h.b.workspace.id, domainId: claimB.id });
    expect(lateB).toMatchObject({
      verified: false,
      domain: { status: "taken", verified: false, verification: null },
    });
    const listedB = await b.domains.list.query({ workspaceId: h.b.workspace.id });
    expect(listedB.find((d) => d.id === claimB.id)).toMatchObject({ status: "taken" });
    // A's own list says nothing about B.
    const listedA = await a.domains.list.query({ workspaceId: h.a.workspace.id });
    expect(listedA.find((d) => d.id === claimA.id)).toMatchObject({ status: "verified" });
  });

  it("one workspace claims a host once", async () => {
    const host = `once-${unique()}.client.example`;
    const a = h.client({ cookie: h.a.users.admin.cookie });
    await a.domains.add.mutate({ workspaceId: h.a.workspace.id, host });
    await expect(a.domains.add.mutate({ workspaceId: h.a.workspace.id, host })).rejects.toMatchObject({
      data: { code: "CONFLICT" },
      message: "this workspace has already added this host",
    });
  });
});

describe("custom domains: the verification fetch goes through the outbound guard", () => {
  let api: FastifyInstance;
  let base: string;
  const internal = new Map([
    ["intranet.corp.example", "127.0.0.1"],
    ["metadata.corp.example", "169.254.169.254"],
    ["db.corp.example", "10.1.2.3"],
  ]);
  // Fake DNS, as an internal resolver would answer for names an attacker pointed inside.
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    const address = internal.get(hostname);
    if (!address)
      return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }));
    if (options?.all) return callback(null, [{ address, family: 4 }]);
    return callback(null, address, 4);
  }) as unknown as LookupFunction;

  beforeAll(async () => {
    api = await buildApi({
      db: h.t.app,
      redis: h.redis,
      redisPrefix: h.redisPrefix,
      logger: createLogger({
        name: "api-ssrf",
        level: "silent",
        destination: new Writable({ write: (_c, _e, cb) => cb() }),
      }),
      settings: { baseDomain: "test.localhost" },
      domainChecks: {
        ...createDomainChecks({ allowCidrs: [], lookup }),
        resolveTxt: async () => [],
      },
    });
    await api.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await api?.close();
  });

  it("refuses hosts that resolve to loopback, private or metadata addresses, and says so", async () => {
    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${base}/trpc`, headers: { cookie: h.a.users.admin.cookie } })],
    });
    for (const [host, address] of internal) {
      const added = await client.domains.add.mutate({ workspaceId: h.a.workspace.id, host });
      const result = await client.domains.verify.mutate({
        workspaceId: h.a.workspace.id,
        domainId: added.id,
        methods: ["http"],
      });
      expect(result.verified).toBe(false);
      expect(result.checks).toEqual([
        {
          method: "http",
          ok: false,
          detail: expect.stringContaining(
            `refused: ${host} resolves to ${address}, a private, loopback, link-local or metadata address`,
          ),
        },
      ]);
    }
  });
});
