import { runReport } from "../services/reports/run.ts";
import { router, serviceQuery } from "../trpc.ts";

export const reportsRouter = router({
  run: serviceQuery(runReport),
});
