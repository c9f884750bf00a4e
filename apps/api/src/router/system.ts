import { eq, schema } from "@hitrail/db";
import { publicProcedure, router, workspaceProcedure } from "../trpc.ts";

export const systemRouter = router({
  health: publicProcedure.query(async ({ ctx }) => {
    await ctx.db.sql`select 1`;
    return { ok: true as const };
  }),
  /** Who the caller is: the workspace an API key belongs to. */
  whoami: workspaceProcedure("viewer").query(async ({ ctx }) => {
    const [ws] = await ctx.db.db
      .select({ id: schema.workspaces.id, slug: schema.workspaces.slug, name: schema.workspaces.name })
      .from(schema.workspaces)
      .where(eq(schema.workspaces.id, ctx.actor.workspaceId))
      .limit(1);
    return { workspace: ws ?? null, role: ctx.actor.role };
  }),
});
