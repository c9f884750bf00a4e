import { z } from "zod";
import { publicProcedure, router } from "../trpc.ts";

export const systemRouter = router({
  health: publicProcedure.output(z.object({ ok: z.literal(true) })).query(async ({ ctx }) => {
    await ctx.db.sql`select 1`;
    return { ok: true as const };
  }),
});
