import { exportReport } from "../services/reports/export.ts";
import { getReportPreferences, saveReportPreferencesService } from "../services/reports/preferences.ts";
import { runReport } from "../services/reports/run.ts";
import { listTrackingFields } from "../services/reports/tracking-fields.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const reportsRouter = router({
  run: serviceQuery(runReport),
  /** The same report as CSV text. */
  csv: serviceQuery(exportReport),
  /** Tracking field names to group by, with the traffic sources that capture each. */
  trackingFields: serviceQuery(listTrackingFields),
  /** The signed-in user's report settings in this workspace. */
  preferences: serviceQuery(getReportPreferences),
  savePreferences: serviceMutation(saveReportPreferencesService),
});
