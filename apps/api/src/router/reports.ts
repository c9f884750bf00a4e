import { exportReport } from "../services/reports/export.ts";
import { runReport } from "../services/reports/run.ts";
import { router, serviceQuery } from "../trpc.ts";

export const reportsRouter = router({
  run: serviceQuery(runReport),
  /** The same report as CSV text. */
  csv: serviceQuery(exportReport),
});
