import { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { parse } from "csv-parse";

/** One data row of an import and the line it starts on (1 is a CSV file's header). */
export interface ImportRow {
  line: number;
  values: Record<string, string>;
}

export interface RowSource {
  /** The file's column names, known once the first row is read (JSON rows: their keys). */
  headers(): string[] | null;
  rows: AsyncIterable<ImportRow>;
}

/**
 * CSV from any byte stream, parsed as it arrives (csv-parse): memory holds one parser buffer,
 * whatever the file's size. Comma, semicolon or tab separated, with or without a byte-order mark.
 */
export function csvSource(input: AsyncIterable<Buffer | string> | Readable): RowSource {
  let headers: string[] | null = null;
  const parser = parse({
    bom: true,
    columns: (header: string[]) => {
      headers = header.map((h) => h.trim());
      return headers;
    },
    delimiter: [",", ";", "\t"],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    trim: true,
    info: true,
  });
  const stream = input instanceof Readable ? input : Readable.from(input);
  stream.on("error", (e) => parser.destroy(e));
  stream.pipe(parser);
  async function* rows(): AsyncGenerator<ImportRow> {
    for await (const { record, info } of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number; records: number };
    }>) {
      // `lines` counts the lines read by the end of the record: a quoted cell may span several.
      yield { line: info.lines, values: record };
    }
  }
  return { headers: () => headers, rows: rows() };
}

/** JSON rows posted to the API (or stored as NDJSON): line N is the Nth row. */
export function jsonSource(
  rows: Iterable<Record<string, unknown>> | AsyncIterable<Record<string, unknown>>,
): RowSource {
  let headers: string[] | null = null;
  async function* gen(): AsyncGenerator<ImportRow> {
    let line = 0;
    for await (const row of rows as AsyncIterable<Record<string, unknown>>) {
      line++;
      const values: Record<string, string> = {};
      for (const [k, v] of Object.entries(row)) {
        if (v === null || v === undefined) continue;
        values[k] = typeof v === "string" ? v : String(v);
      }
      headers ??= Object.keys(values);
      yield { line, values };
    }
  }
  return { headers: () => headers, rows: gen() };
}

/** NDJSON bytes (how JSON rows are stored for the worker) back to rows. */
export async function* ndjsonObjects(
  input: AsyncIterable<Buffer | string>,
): AsyncGenerator<Record<string, unknown>> {
  let rest = "";
  // A stored piece may end inside a multi-byte character: the decoder carries it over.
  const decoder = new StringDecoder("utf8");
  for await (const chunk of input) {
    rest += typeof chunk === "string" ? chunk : decoder.write(chunk);
    let nl = rest.indexOf("\n");
    while (nl >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line !== "") yield JSON.parse(line) as Record<string, unknown>;
      nl = rest.indexOf("\n");
    }
  }
  if (rest.trim() !== "") yield JSON.parse(rest) as Record<string, unknown>;
}
