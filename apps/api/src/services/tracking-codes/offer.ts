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
 * An offer's conversion tracking codes: its URL passing {hit} the way its offer source expects
 * (`&{clickIdParam}={hit}`), the JavaScript conversion event, and the postback the network calls.
 */
export const offerCodes = workspaceService({
  role: "viewer",
  input: z.object({ offerId: id, domainId: id.optional() }),
  output: z.object({
    offerUrl: z.string(),
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

      const offerUrl =
        source && !hasParam(offer.url, source.clickIdParam)
          ? appendRawParam(offer.url, source.clickIdParam, "{hit}")
          : offer.url;
      const postbackUrl = networkPostbackUrl(ctx, domain, source?.postbackTemplate ?? null);
      const track = `<script>\n  flux.track("conversion", {rev: "", p: "${offer.id}"})\n</script>`;
      return {
        offerUrl,
        conversionSnippet: `${tagSnippet(domain.origin)}\n${track}`,
        postbackUrl,
        offerSource: source ? { id: source.id, name: source.name, clickIdParam: source.clickIdParam } : null,
      };
    }),
});
