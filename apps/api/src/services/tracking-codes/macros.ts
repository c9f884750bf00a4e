import { z } from "zod";
import { inWorkspace, workspaceService } from "../context.ts";
import { offerSourcePostbackParams, pageMacros, trafficSourcePostbackMacros } from "../macros.ts";

const list = z.array(z.object({ name: z.string(), description: z.string() }));

/**
 * The macros each kind of URL field accepts, for the dashboard to show beside it: page URLs (with
 * the workspace's tracking fields), traffic-source postback URLs (a source's own tracking fields come
 * on top) and the `/pb/` parameters an offer source's postback template names.
 */
export const listMacros = workspaceService({
  role: "viewer",
  input: z.object({}),
  output: z.object({ page: list, trafficSourcePostback: list, offerSourcePostback: list }),
  run: ({ ctx }) =>
    inWorkspace(ctx, async (tx) => ({
      page: await pageMacros(tx, ctx.workspace.id),
      trafficSourcePostback: trafficSourcePostbackMacros([]),
      offerSourcePostback: offerSourcePostbackParams({}),
    })),
});
