import { findFunnel, trafficSourceQueries } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import type { TrackingFieldInput } from "../traffic-sources/schemas.ts";
import { appendRawParam, codeDomain } from "./domain.ts";

const macro = z.string().trim().min(1).max(200);

/**
 * The link to give a traffic source for a funnel:
 * `{scheme}://{domain}[:port]/fts/{funnelId}?ts={trafficSourceId}&{externalParam}={macro}&…`, built
 * from the source's own parameters and macros only (never guessed from a template that happens to
 * share a parameter name). Macros come from the request, else from the source; a parameter whose
 * macro is unknown shows `REPLACE` and is listed in `placeholders`; one whose macro is empty stays
 * off the link (the network appends it itself). The campaign parameter appears only with a macro.
 */
export const entranceLink = workspaceService({
  role: "viewer",
  input: z.object({
    funnelId: id,
    trafficSourceId: id,
    domainId: id.optional(),
    macros: z
      .object({
        external: macro.optional(),
        campaign: macro.optional(),
        cost: macro.optional(),
        /** By tracking-field parameter. */
        fields: z.record(z.string(), macro).optional(),
      })
      .default({}),
  }),
  output: z.object({
    url: z.string(),
    domain: z.object({ id: z.string(), host: z.string() }),
    funnel: z.object({ id: z.string(), name: z.string() }),
    trafficSource: z.object({ id: z.string(), name: z.string() }),
    /** Parameters whose macro is unknown: the user replaces REPLACE with the network's macro. */
    placeholders: z.array(z.string()),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const funnel = await findFunnel(tx, { workspaceId: ctx.workspace.id, funnelId: input.funnelId });
      if (!funnel) throw notFound("funnel");
      const source = await trafficSourceQueries.find(tx, {
        workspaceId: ctx.workspace.id,
        id: input.trafficSourceId,
      });
      if (!source) throw notFound("traffic source");
      const domain = await codeDomain(tx, ctx, input.domainId);

      const placeholders: string[] = [];
      let url = `${domain.origin}/fts/${funnel.id}?ts=${source.id}`;
      const add = (param: string, given: string | undefined, own: string | null | undefined) => {
        const value = given ?? own ?? null;
        if (value === "") return;
        if (value === null) placeholders.push(param);
        url = appendRawParam(url, param, value ?? "REPLACE");
      };
      add(source.externalParam, input.macros.external, source.externalMacro);
      if (input.macros.campaign !== undefined || source.campaignMacro) {
        add(source.campaignParam, input.macros.campaign, source.campaignMacro);
      }
      add(source.costParam, input.macros.cost, source.costMacro);
      for (const field of source.trackingFields as TrackingFieldInput[]) {
        add(field.param, input.macros.fields?.[field.param], field.macro || null);
      }
      return {
        url,
        domain: { id: domain.id, host: domain.host },
        funnel: { id: funnel.id, name: funnel.name },
        trafficSource: { id: source.id, name: source.name },
        placeholders,
      };
    }),
});
