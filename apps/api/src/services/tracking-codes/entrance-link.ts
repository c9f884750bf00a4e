import { findFunnel, trafficSourceQueries } from "@hitrail/db";
import { z } from "zod";
import { templateForSource } from "../../data/traffic-source-templates.ts";
import { notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import type { TrackingFieldInput } from "../traffic-sources/schemas.ts";
import { appendRawParam, codeDomain } from "./domain.ts";

const macro = z.string().trim().min(1).max(200);

/**
 * The link to give a traffic source for a funnel:
 * `{scheme}://{domain}/fts/{funnelId}?ts={trafficSourceId}&{externalParam}={click-ID macro}&…`.
 * Macros come from the request, else from the tracking fields, else from the template whose click-ID
 * parameter the source uses; what is still unknown is `REPLACE` and listed in `placeholders`.
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
    /** Label of the network template the macros were taken from, if any. */
    template: z.string().nullable(),
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

      const template = templateForSource(source);
      const placeholders: string[] = [];
      let url = `${domain.origin}/fts/${funnel.id}?ts=${source.id}`;
      const add = (param: string, given: string | undefined, fromTemplate: string | null | undefined) => {
        // A template that says "null" means the network appends the value itself or has none.
        if (given === undefined && template && fromTemplate === null) return;
        const value = given ?? fromTemplate ?? undefined;
        if (value === undefined) placeholders.push(param);
        url = appendRawParam(url, param, value ?? "REPLACE");
      };
      add(source.externalParam, input.macros.external, template?.externalMacro);
      if (input.macros.campaign !== undefined || template?.campaignMacro) {
        add(source.campaignParam, input.macros.campaign, template?.campaignMacro);
      }
      add(source.costParam, input.macros.cost, template?.costMacro);
      for (const field of source.trackingFields as TrackingFieldInput[]) {
        const fromTemplate = template?.trackingFields.find((f) => f.param === field.param)?.macro;
        add(field.param, input.macros.fields?.[field.param] ?? field.macro, fromTemplate);
      }
      return {
        url,
        domain: { id: domain.id, host: domain.host },
        funnel: { id: funnel.id, name: funnel.name },
        trafficSource: { id: source.id, name: source.name },
        template: template?.label ?? null,
        placeholders,
      };
    }),
});
