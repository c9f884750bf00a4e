import { trackingOrigin } from "@hitrail/core";
import { type Executor, findDomain, listDomains } from "@hitrail/db";
import { roleAtLeast } from "../../auth/roles.ts";
import { badRequest, notFound } from "../../errors.ts";
import type { ServiceContext } from "../context.ts";

/** The tracking domain codes are shown for: the one asked for, else the workspace's default. */
export async function codeDomain(tx: Executor, ctx: ServiceContext, domainId: string | undefined) {
  if (domainId) {
    const domain = await findDomain(tx, { workspaceId: ctx.workspace.id, domainId });
    if (!domain) throw notFound("domain");
    if (!domain.verifiedAt)
      throw badRequest(`domainId: ${domain.host} is not verified yet, so it does not route`);
    return { id: domain.id, host: domain.host, origin: publicOrigin(ctx, domain.host) };
  }
  const domains = await listDomains(tx, { workspaceId: ctx.workspace.id, verifiedOnly: true });
  const domain = domains.find((d) => d.kind === "default") ?? domains[0];
  if (!domain) throw notFound("verified tracking domain");
  return { id: domain.id, host: domain.host, origin: publicOrigin(ctx, domain.host) };
}

/** The origin of every link shown for a tracking domain: scheme, host and port (core decides). */
export function publicOrigin(ctx: Pick<ServiceContext, "settings">, host: string): string {
  return trackingOrigin({ scheme: ctx.settings.publicScheme, port: ctx.settings.publicPort }, host);
}

export const SECRET_PLACEHOLDER = "YOUR_POSTBACK_SECRET";

/**
 * The `key=` postbacks must carry, when the workspace set one. Members and up see it filled in (they
 * set up networks with these codes); viewers see a placeholder.
 */
export function postbackKey(ctx: ServiceContext): string | null {
  const secret = ctx.workspace.postbackSecret;
  if (!secret) return null;
  return roleAtLeast(ctx.actor.role, "member") ? secret : SECRET_PLACEHOLDER;
}

/** Appends `name=value` to a URL template as written: no encoding, so macros stay macros. */
export function appendRawParam(url: string, name: string, value: string): string {
  const hashAt = url.indexOf("#");
  const head = hashAt === -1 ? url : url.slice(0, hashAt);
  const fragment = hashAt === -1 ? "" : url.slice(hashAt);
  const sep = head.includes("?") ? (head.endsWith("?") || head.endsWith("&") ? "" : "&") : "?";
  return `${head}${sep}${name}=${value}${fragment}`;
}

/** Whether a URL template's query already passes parameter `name`. */
export function hasParam(url: string, name: string): boolean {
  const head = url.split("#", 1)[0] ?? "";
  const query = head.includes("?") ? head.slice(head.indexOf("?") + 1) : "";
  return query.split("&").some((pair) => (pair.split("=", 1)[0] ?? "") === name);
}

/** The page tag as packages/tag writes it: the queue stub first, then tag.js with the page's ids. */
export const TAG_STUB =
  'window.flux=window.flux||{q:[],track:function(){window.flux.q.push(["track",arguments])}};';

export function tagSnippet(
  origin: string,
  ids: { funnel?: string; node?: string; page?: string } = {},
): string {
  const attrs = (["funnel", "node", "page"] as const)
    .filter((k) => ids[k])
    .map((k) => ` data-${k}="${ids[k]}"`)
    .join("");
  return `<script>${TAG_STUB}</script>\n<script src="${origin}/tag.js"${attrs} async></script>`;
}
