import { redirectVisitorParam } from "@hitrail/core";
import { offerQueries, offerSourceQueries } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { inWorkspace, type ServiceContext, workspaceService } from "../context.ts";
import { appendRawParam, codeDomain, hasParam, postbackKey, tagSnippet } from "./domain.ts";

/**
 * The postback URL a network is given: its offer source's template on this tracking domain, with
 * the workspace's key when it has one. Null when the offer source has no template.
 */
export function networkPostbackUrl(
  ctx: ServiceContext,
  domain: { host: string; origin: string },
  template: string | null,
): string | null {
  if (!template) return null;
  let url = template.replace(/^https?:\/\/DOMAIN/i, domain.origin).replace(/DOMAIN/g, domain.host);
  const key = postbackKey(ctx);
  // Network macros like #s2# are not fragments, so the key goes at the very end.
  if (key && !/[?&]key=/.test(url)) url = `${url}${url.includes("?") ? "&" : "?"}key=${key}`;
  return url;
}

/**
 * An offer's conversion tracking codes: its URL exactly as the redirect sends it (tokens filled per
 * click), the JavaScript conversion event, and the postback the network calls. When the URL does not
 * pass {hit} in the parameter the offer source's postback reads it back from, the postback can never
 * match: that is said (`hitProblem`) with the URL that would work, never silently shown as if it were
 * the one sent.
 */
export const offerCodes = workspaceService({
  role: "viewer",
  input: z.object({ offerId: id, domainId: id.optional() }),
  output: z.object({
    /** The offer's URL as the tracker sends visitors to it, before its tokens are filled. */
    offerUrl: z.string(),
    /** Query parameters of the offer URL that carry {hit}. */
    hitParams: z.array(z.string()),
    /** Why the offer source's postback cannot find the hit with this URL, or null. */
    hitProblem: z.string().nullable(),
    /** The offer URL with `&{clickIdParam}={hit}` added, when that is what is missing. */
    suggestedOfferUrl: z.string().nullable(),
    conversionSnippet: z.string(),
    postbackUrl: z.string().nullable(),
    offerSource: z.object({ id: z.string(), name: z.string(), clickIdParam: z.string() }).nullable(),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const offer = await offerQueries.find(tx, { workspaceId: ctx.workspace.id, id: input.offerId });
      if (!offer) throw notFound("offer");
      const source = offer.offerSourceId
        ? await offerSourceQueries.find(tx, { workspaceId: ctx.workspace.id, id: offer.offerSourceId })
        : undefined;
      const domain = await codeDomain(tx, ctx, input.domainId);

      const hitParams = paramsCarrying(offer.url, "hit");
      let hitProblem: string | null = null;
      let suggestedOfferUrl: string | null = null;
      // A network may hand back our visitor ID instead (`vid=` postbacks), which works as well.
      const passesOurs = [...hitParams, ...paramsCarrying(offer.url, "vid")].includes(
        source?.clickIdParam ?? "",
      );
      if (source && !passesOurs) {
        hitProblem = hasParam(offer.url, source.clickIdParam)
          ? `${source.name} returns the hit from '${source.clickIdParam}', but this offer URL does not put {hit} in it`
          : `${source.name} returns the hit from '${source.clickIdParam}', but this offer URL does not pass it: add &${source.clickIdParam}={hit}`;
        if (!hasParam(offer.url, source.clickIdParam))
          suggestedOfferUrl = appendRawParam(offer.url, source.clickIdParam, "{hit}");
      }
      // What the redirect sends: the visitor ID goes on too (under the workspace's parameter) unless
      // the offer opted out or its URL already passes that parameter.
      const vidParam = redirectVisitorParam(
        { kind: "offer", passVisitorId: offer.passVisitorId },
        ctx.workspace.visitorIdParam,
      );
      const asSent = (url: string) =>
        vidParam && !hasParam(url, vidParam) ? appendRawParam(url, vidParam, "{vid}") : url;
      const postbackUrl = networkPostbackUrl(ctx, domain, source?.postbackTemplate ?? null);
      const track = `<script>\n  flux.track("conversion", {rev: "", p: "${offer.id}"})\n</script>`;
      return {
        offerUrl: asSent(offer.url),
        hitParams,
        hitProblem,
        // The URL to store (the visitor ID is the redirect's to add, so an opt-out stays effective).
        suggestedOfferUrl,
        conversionSnippet: `${tagSnippet(domain.origin)}\n${track}`,
        postbackUrl,
        offerSource: source ? { id: source.id, name: source.name, clickIdParam: source.clickIdParam } : null,
      };
    }),
});

/** The query parameters of a URL template whose value uses `{token}` (case-insensitive). */
function paramsCarrying(url: string, token: string): string[] {
  const head = url.split("#", 1)[0] ?? "";
  const queryAt = head.indexOf("?");
  if (queryAt === -1) return [];
  const wanted = `{${token.toLowerCase()}}`;
  return head
    .slice(queryAt + 1)
    .split("&")
    .filter(
      (pair) =>
        pair
          .slice(pair.indexOf("=") + 1)
          .toLowerCase()
          .includes(wanted) && pair.includes("="),
    )
    .map((pair) => pair.slice(0, pair.indexOf("=")));
}
