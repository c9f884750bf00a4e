import { csvCell, csvNumber, eventColumns, METRIC_COLUMNS } from "@hitrail/core";
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
    // The dashboard's columns (every metric, then one per custom event type), with each dimension's
    // name and id; the dashboard exports its own grid, as shown, with the same columns.
    const columns = [...METRIC_COLUMNS, ...eventColumns(report.eventTypes)];
    const header = [
      ...dims.flatMap((d) => {
        const label = LABEL[d] ?? d.replace(/^field:/, "");
        return [label, `${label} id`];
      }),
      ...columns.map((c) => c.label),
    ];
    type Metrics = (typeof report.rows)[number]["metrics"];
    // Labels and keys are text from outside (names, tracking fields): always neutralised. Metrics
    // are our own numbers: kept numeric, so a negative profit stays a number in the spreadsheet.
    const line = (labels: string[], metrics: Metrics) =>
      [...labels.map(csvCell), ...columns.map((c) => csvNumber(c.value(metrics)))].join(",");
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
      filename: `hitrail-report-${report.from}-${report.to}${dims.length ? `-by-${dims.join("-").replace(/[^A-Za-z0-9_.-]/g, "_")}` : ""}.csv`,
      contentType: "text/csv" as const,
      csv,
    };
  },
});
