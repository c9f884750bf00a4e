import { csvCell, csvNumber } from "@hitrail/core";
import { z } from "zod";
import { workspaceService } from "../context.ts";
import { runReport } from "./run.ts";

const LABEL: Record<string, string> = {
  funnel: "Funnel",
  node: "Node",
  lander: "Lander",
  offer: "Offer",
  trafficSource: "Traffic source",
  country: "Country",
  device: "Device",
  os: "OS",
  browser: "Browser",
  hour: "Hour",
  day: "Day",
  trackingField: "Tracking field",
};

/**
 * Any report as CSV (the same input as reports.run): one line per row, names beside ids, every
 * metric and one count column per custom event type, and a totals line. For spreadsheets and scripts.
 */
export const exportReport = workspaceService({
  role: "viewer",
  input: runReport.input,
  output: z.object({ filename: z.string(), contentType: z.literal("text/csv"), csv: z.string() }),
  run: async ({ ctx, input }) => {
    const report = await runReport.execute({ ctx, input });
    const dims = report.groupBy;
    const header = [
      ...dims.flatMap((d) => [LABEL[d] ?? d, `${LABEL[d] ?? d} id`]),
      "Visits",
      "Unique visitors",
      "Bots",
      "Cost",
      "Conversions",
      "Revenue",
      "Assisted conversions",
      "Assisted revenue",
      "Profit",
      "ROI",
      "CR",
      "EPV",
      ...report.eventTypes.map((e) => e.name),
    ];
    type Metrics = (typeof report.rows)[number]["metrics"];
    const metricCells = (m: Metrics) => [
      m.visits,
      m.uniqueVisitors,
      m.bots,
      m.cost,
      m.direct?.conversions ?? null,
      m.direct?.revenue ?? null,
      m.assisted?.conversions ?? null,
      m.assisted?.revenue ?? null,
      m.profit,
      m.roi,
      m.cr,
      m.epv,
      ...report.eventTypes.map((e) => m.events?.[e.id]?.direct.conversions ?? 0),
    ];
    // Labels and keys are text from outside (names, tracking fields): always neutralised. Metrics
    // are our own numbers: kept numeric, so a negative profit stays a number in the spreadsheet.
    const line = (labels: string[], metrics: Metrics) =>
      [...labels.map(csvCell), ...metricCells(metrics).map(csvNumber)].join(",");
    const lines = [
      header.map(csvCell).join(","),
      ...report.rows.map((r) =>
        line(
          dims.flatMap((d) => [r.labels[d] ?? r.key[d] ?? "", r.key[d] ?? ""]),
          r.metrics,
        ),
      ),
      line(
        dims.flatMap((_, i) => (i === 0 ? ["Total", ""] : ["", ""])),
        report.totals,
      ),
    ];
    const csv = `${lines.join("\r\n")}\r\n`;
    return {
      filename: `hitrail-report-${report.from}-${report.to}${dims.length ? `-by-${dims.join("-")}` : ""}.csv`,
      contentType: "text/csv" as const,
      csv,
    };
  },
});
