import { listDomains } from "@hitrail/db";
import { z } from "zod";
import { id } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import { appendRawParam, codeDomain, postbackKey } from "./domain.ts";

const postbacks = z.object({
  /** hit (+ optional tx and rev): the seed's primary form. */
  hit: z.string(),
  hitWithStatus: z.string(),
  /** Records the conversion but tells no traffic source (search arbitrage, delayed revenue). */
  hitWithoutTrafficSourcePostback: z.string(),
  /** vid + p: the visitor's most recent hit on page p (vid alone: their most recent offer hit). */
  vid: z.string(),
  vidWithStatus: z.string(),
  vidWithoutTrafficSourcePostback: z.string(),
});

/**
 * The workspace-wide codes for one domain: the global postback URL in all its forms and the
 * universal tag. `REPLACE` marks what the network fills in with its own macros.
 */
export const getTrackingCodes = workspaceService({
  role: "viewer",
  input: z.object({ domainId: id.optional() }),
  output: z.object({
    domain: z.object({ id: z.string(), host: z.string() }),
    domains: z.array(z.object({ id: z.string(), host: z.string(), kind: z.enum(["default", "custom"]) })),
    postback: postbacks,
    /** Whether the URLs carry the workspace's postback secret (`key=`). */
    keyIncluded: z.boolean(),
    universalTag: z.string(),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const domain = await codeDomain(tx, ctx, input.domainId);
      const domains = await listDomains(tx, { workspaceId: ctx.workspace.id, verifiedOnly: true });
      const key = postbackKey(ctx);
      const withKey = (url: string) => (key ? appendRawParam(url, "key", key) : url);
      const hit = `${domain.origin}/pb/?hit=REPLACE&tx=REPLACE&rev=REPLACE`;
      const vid = `${domain.origin}/pb/?vid=REPLACE&p=REPLACE&tx=REPLACE&rev=REPLACE`;
      return {
        domain: { id: domain.id, host: domain.host },
        domains: domains.map((d) => ({ id: d.id, host: d.host, kind: d.kind })),
        postback: {
          hit: withKey(hit),
          hitWithStatus: withKey(`${hit}&status=REPLACE`),
          hitWithoutTrafficSourcePostback: withKey(`${hit}&disable_postbacks=true`),
          vid: withKey(vid),
          vidWithStatus: withKey(`${vid}&status=REPLACE`),
          vidWithoutTrafficSourcePostback: withKey(`${vid}&disable_postbacks=true`),
        },
        keyIncluded: key !== null,
        universalTag: `<script src="${domain.origin}/tag.js" async></script>`,
      };
    }),
});
