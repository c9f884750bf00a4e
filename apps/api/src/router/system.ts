import { ping } from "@hitrail/db";
import { z } from "zod";
import { publicProcedure, router } from "../trpc.ts";

export const systemRouter = router({
  health: publicProcedure.output(z.object({ ok: z.literal(true) })).query(async ({ ctx }) => {
    await ping(ctx.db.sql);
    return { ok: true as const };
  }),
});
