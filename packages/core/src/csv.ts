// Spreadsheet formula injection (OWASP "CSV Injection"): a cell that starts with `=`, `+`, `-`, `@`,
// a tab or a carriage return is run as a formula by Excel, LibreOffice and Sheets. Text cells that
// start so get a leading single quote, which those programs show as text; our own numbers stay
// numbers (a negative profit is `-1.5`, not `'-1.5`).

const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV cell (RFC 4180 quoting), neutralised when text could be read as a formula. */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) || text !== value ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A value we computed and know is a plain decimal number ("-1.5", "12"), kept numeric. */
export function csvNumber(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  const s = String(value);
  return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(s) ? s : csvCell(s);
}
