import { createHash } from "node:crypto";
import { type Env, publicLinkBase } from "@hitrail/config";
import { trackingOrigin } from "@hitrail/core";
import {
  type CampaignKit,
  createApiKey,
  createCampaignKit,
  createWorkspace,
  type Database,
  defaultDomainToken,
  type Executor,
  findCampaignKit,
  findUserByEmail,
  findWorkspaceBySlug,
  insertMembershipIfAbsent,
  insertUser,
  trafficSourceQueries,
  withWorkspace,
} from "@hitrail/db";

export const DEMO_SLUG = "demo";

export interface DemoSeed {
  workspaceId: string;
  trackingDomain: string;
  trackerUrl: string;
  apiUrl: string;
  apiKey: string;
  funnelId: string;
  trafficSourceId: string;
  entranceUrl: string;
  actionUrl: string;
  landerPageId: string;
  offerPageIds: [string, string];
  postbackUrl: string;
  postbackUrlByVisitor: string;
  demoPagesUrl: string;
  /**
   * A dashboard sign-in that is a member of the demo workspace, so its reports can be seen. Null when
   * someone else took its email.
   */
  signIn: { email: string; password: string } | null;
  created: boolean;
}

export function demoUrls(env: Env) {
  const trackingDomain = `${DEMO_SLUG}.${env.BASE_DOMAIN}`;
  // The same origin the dashboard and the API show for this domain (PUBLIC_SCHEME, PUBLIC_PORT).
  const trackerUrl = trackingOrigin(publicLinkBase(env), trackingDomain);
  return {
    trackingDomain,
    trackerUrl,
    apiUrl: `http://127.0.0.1:${env.API_PORT}`,
    demoPagesUrl: `http://127.0.0.1:${env.DEMO_PAGES_PORT}`,
    demoEmail: `demo@${trackingDomain}`,
  };
}

/**
 * The demo key is derived from values only the database holds, so a second run can print the same
 * key without ever storing it in plain text. It is for local evaluation; real integrations create
 * their own keys with `hitrail api-key create`.
 */
function demoApiKey(workspaceId: string, secret: string): string {
  return `hr_demo_${createHash("sha256").update(`${workspaceId}:${secret}`).digest("base64url").slice(0, 32)}`;
}

/** Derived like the API key: the same on every run, never stored in plain text. */
function demoPassword(workspaceId: string, secret: string): string {
  return `demo-${createHash("sha256").update(`${workspaceId}:${secret}:sign-in`).digest("base64url").slice(0, 20)}`;
}

/**
 * The demo sign-in: made once (a `demo` account, which does not count as the server's first
 * account) and made a member of the demo workspace; later runs find both and write nothing.
 */
async function ensureDemoSignIn(
  db: Database,
  ws: { id: string },
  email: string,
  password: string,
): Promise<{ email: string; password: string } | null> {
  let user = await findUserByEmail(db, { email });
  if (user && !user.demo) return null;
  if (!user) {
    const { hashPassword } = await import("@hitrail/api");
    await insertUser(db, { email, name: "Demo", passwordHash: await hashPassword(password), demo: true });
    user = await findUserByEmail(db, { email });
    if (!user) throw new Error("the demo user was not saved");
  }
  const userId = user.id;
  await withWorkspace(db, ws.id, (tx) =>
    insertMembershipIfAbsent(tx, { workspaceId: ws.id, userId, role: "owner" }),
  );
  return { email, password };
}

/** Creates the demo workspace once; later runs find it and change nothing (unless asked to). */
export async function seedDemo(
  db: Database,
  env: Env,
  opts: { tsPostbackUrl?: string } = {},
): Promise<DemoSeed> {
  const urls = demoUrls(env);
  const pages = urls.demoPagesUrl;
  let created = false;
  let workspace = await findWorkspaceBySlug(db, DEMO_SLUG);
  let kit: CampaignKit | null = null;
  if (!workspace) {
    const made = await db.transaction(async (tx) => {
      const { workspace: ws } = await createWorkspace(tx, {
        slug: DEMO_SLUG,
        name: "Demo",
        baseDomain: env.BASE_DOMAIN,
      });
      const campaign = await createCampaignKit(tx, {
        workspaceId: ws.id,
        trafficSourcePostbackUrl: opts.tsPostbackUrl ? withDemoMacros(opts.tsPostbackUrl) : null,
        landerUrl: `${pages}/lander?hit={hit}&vid={vid}`,
        // The demo network returns the hit from `clickid`, so that is where the offers pass it: the
        // offer codes the dashboard shows for the demo are the ones that match.
        offerUrls: [`${pages}/offer-a?clickid={hit}&vid={vid}`, `${pages}/offer-b?clickid={hit}&vid={vid}`],
        payouts: ["12.50", "30.00"],
      });
      await createApiKey(tx, {
        workspaceId: ws.id,
        name: "Demo key",
        prefix: "hr_demo_",
        key: demoApiKey(ws.id, await domainSecret(tx, ws.id)),
        role: "admin",
      });
      return { ws, campaign };
    });
    workspace = made.ws;
    kit = made.campaign;
    created = true;
  }
  const ws = workspace;
  const seeded = kit;
  // Everything after creation runs under the demo workspace's row-level security.
  const seed = await withWorkspace(db, ws.id, async (db) => {
    let kit = seeded;
    kit ??= await findCampaignKit(db, { workspaceId: ws.id });
    if (!kit) {
      throw new Error(
        "the demo workspace exists but its demo funnel was changed or removed; delete workspace 'demo' to re-seed",
      );
    }
    const wantedPostbackUrl = opts.tsPostbackUrl ? withDemoMacros(opts.tsPostbackUrl) : null;
    if (
      wantedPostbackUrl &&
      !created &&
      (await trafficSourceQueries.find(db, { workspaceId: ws.id, id: kit.trafficSourceId }))?.postbackUrl !==
        wantedPostbackUrl
    ) {
      await trafficSourceQueries.update(db, {
        workspaceId: ws.id,
        id: kit.trafficSourceId,
        values: { postbackUrl: wantedPostbackUrl },
      });
    }
    const secret = await domainSecret(db, ws.id);
    const apiKey = demoApiKey(ws.id, secret);
    const t = urls.trackerUrl;
    return {
      signIn: { email: urls.demoEmail, password: demoPassword(ws.id, secret) },
      workspaceId: ws.id,
      trackingDomain: urls.trackingDomain,
      trackerUrl: t,
      apiUrl: urls.apiUrl,
      apiKey,
      funnelId: kit.funnelId,
      trafficSourceId: kit.trafficSourceId,
      entranceUrl: `${t}/fts/${kit.funnelId}?ts=${kit.trafficSourceId}&external=demo-click-1&cost=0.05`,
      actionUrl: `${t}/action/1`,
      landerPageId: kit.landerId,
      offerPageIds: kit.offerIds,
      postbackUrl: `${t}/pb/?hit=REPLACE&tx=REPLACE&rev=REPLACE`,
      postbackUrlByVisitor: `${t}/pb/?vid=REPLACE&p=REPLACE&tx=REPLACE&rev=REPLACE`,
      demoPagesUrl: pages,
      created,
    };
  });
  const signIn = seed.signIn ? await ensureDemoSignIn(db, ws, seed.signIn.email, seed.signIn.password) : null;
  return { ...seed, signIn };
}

/** A bare receiver URL gets the two macros every traffic source needs. */
function withDemoMacros(url: string): string {
  if (url.includes("{external}") && url.includes("{payout}")) return url;
  const sep = url.includes("?") ? "&" : "?";
  return `${url}${sep}clickid={external}&payout={payout}`;
}

async function domainSecret(db: Executor, workspaceId: string): Promise<string> {
  const token = await defaultDomainToken(db, { workspaceId });
  if (token === null) throw new Error("the demo workspace has no default tracking domain");
  return token;
}
