import { createContext, type ReactNode, useContext, useEffect, useId, useRef, useState } from "react";
import { errorMessage } from "../trpc.ts";

/**
 * The labels of the fields inside one form, by their `name` (the api's field key). Every Field and
 * Select with a name registers its label here, so the form's error reads "Default payout: must be an
 * amount", not "defaultPayout: …", for every form at once.
 */
const FormLabelsContext = createContext<Map<string, string> | null>(null);

export function FormLabels({ children }: { children: ReactNode }) {
  const labels = useRef(new Map<string, string>());
  return <FormLabelsContext.Provider value={labels.current}>{children}</FormLabelsContext.Provider>;
}

export function useRegisterLabel(name: unknown, label: string) {
  const labels = useContext(FormLabelsContext);
  if (labels && typeof name === "string" && name !== "") labels.set(name, label);
}

/** A failed call's message with field keys replaced by the labels of the form it came from. */
export function FormError({ error }: { error: unknown }) {
  const labels = useContext(FormLabelsContext);
  return <ErrorText error={error ? errorMessage(error, labels ?? undefined) : null} />;
}

export function Button(
  props: React.ButtonHTMLAttributes<HTMLButtonElement> & { variant?: "primary" | "plain" | "danger" },
) {
  const { variant = "plain", className = "", ...rest } = props;
  const look =
    variant === "primary"
      ? "bg-blue-600 text-white hover:bg-blue-700 border-blue-700"
      : variant === "danger"
        ? "bg-white text-red-700 hover:bg-red-50 border-red-300"
        : "bg-white text-slate-800 hover:bg-slate-100 border-slate-300";
  return (
    <button
      type="button"
      className={`rounded border px-3 py-1.5 text-sm font-medium disabled:opacity-50 ${look} ${className}`}
      {...rest}
    />
  );
}

/** A labelled input: every field has a label a screen reader and a test can find. */
export function Field(
  props: React.InputHTMLAttributes<HTMLInputElement> & {
    label: string;
    hint?: string;
    error?: string | null;
  },
) {
  const { label, hint, error, className = "", ...rest } = props;
  const id = useId();
  useRegisterLabel(rest.name, label);
  return (
    <label htmlFor={id} className={`flex flex-col gap-1 text-sm ${className}`}>
      <span className="font-medium text-slate-700">{label}</span>
      <input
        id={id}
        className="rounded border border-slate-300 bg-white px-2 py-1.5 text-sm"
        aria-invalid={error ? true : undefined}
        {...rest}
      />
      {hint ? <span className="text-xs text-slate-500">{hint}</span> : null}
      {error ? <span className="text-xs text-red-700">{error}</span> : null}
    </label>
  );
}

export function Select(
  props: React.SelectHTMLAttributes<HTMLSelectElement> & {
    label: string;
    options: ReadonlyArray<{ value: string; label: string }>;
  },
) {
  const { label, options, className = "", ...rest } = props;
  const id = useId();
  useRegisterLabel(rest.name, label);
  return (
    <label htmlFor={id} className={`flex flex-col gap-1 text-sm ${className}`}>
      <span className="font-medium text-slate-700">{label}</span>
      <select
        id={id}
        className="rounded border border-slate-300 bg-white px-2 py-1.5 text-sm text-slate-900"
        {...rest}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Card({
  title,
  children,
  actions,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <section className="rounded border border-slate-200 bg-white shadow-sm">
      <header className="flex items-center justify-between gap-2 border-b border-slate-200 px-4 py-2">
        <h2 className="text-sm font-semibold">{title}</h2>
        <div className="flex gap-2">{actions}</div>
      </header>
      <div className="p-4">{children}</div>
    </section>
  );
}

export function ErrorText({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p role="alert" className="rounded border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      {error}
    </p>
  );
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <Button
      aria-label={`${label}: ${text.slice(0, 40)}`}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // Clipboard refused (insecure origin, permissions): select-and-copy still works on the code.
        }
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? "Copied" : label}
    </Button>
  );
}

export function CodeLine({ label, value }: { label: string; value: string }) {
  // A fieldset named by its label: the line and its copy button are one group a user (and a test)
  // can find by name.
  return (
    <fieldset className="m-0 flex min-w-0 flex-col gap-1 border-0 p-0" aria-label={label}>
      <span className="text-xs font-medium text-slate-600">{label}</span>
      <div className="flex items-start gap-2">
        <code className="block flex-1 overflow-x-auto whitespace-pre-wrap break-all rounded bg-slate-100 px-2 py-1.5 text-xs">
          {value}
        </code>
        <CopyButton text={value} />
      </div>
    </fieldset>
  );
}

export interface Column<T> {
  key: string;
  header: string;
  cell: (row: T) => ReactNode;
  /** A sortable value; columns without one do not sort. */
  sort?: (row: T) => number | string;
  align?: "left" | "right";
}

/** A dense table with sortable headers (click, or Enter on the focused header). */
export function Table<T>({
  rows,
  columns,
  rowKey,
  onRowClick,
  empty = "Nothing yet.",
  caption,
}: {
  rows: readonly T[];
  columns: ReadonlyArray<Column<T>>;
  rowKey: (row: T) => string;
  onRowClick?: (row: T) => void;
  empty?: string;
  caption?: string;
}) {
  const [sort, setSort] = useState<{ key: string; dir: 1 | -1 } | null>(null);
  const sorted = (() => {
    if (!sort) return rows;
    const col = columns.find((c) => c.key === sort.key);
    if (!col?.sort) return rows;
    const get = col.sort;
    return [...rows].sort((a, b) => {
      const x = get(a);
      const y = get(b);
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
    });
  })();
  return (
    <div className="overflow-x-auto">
      <table className="w-full border-collapse text-sm">
        {caption ? <caption className="sr-only">{caption}</caption> : null}
        <thead>
          <tr className="border-b border-slate-200 text-xs uppercase text-slate-500">
            {columns.map((c) => (
              <th
                key={c.key}
                scope="col"
                className={`px-2 py-1.5 font-medium ${c.align === "right" ? "text-right" : "text-left"}`}
                aria-sort={sort?.key === c.key ? (sort.dir === 1 ? "ascending" : "descending") : undefined}
              >
                {c.sort ? (
                  <button
                    type="button"
                    className="uppercase hover:text-slate-900"
                    onClick={() =>
                      setSort((s) =>
                        s?.key === c.key
                          ? { key: c.key, dir: s.dir === 1 ? -1 : 1 }
                          : { key: c.key, dir: -1 },
                      )
                    }
                  >
                    {c.header}
                    {sort?.key === c.key ? (sort.dir === 1 ? " ▲" : " ▼") : ""}
                  </button>
                ) : (
                  c.header
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.length === 0 ? (
            <tr>
              <td colSpan={columns.length} className="px-2 py-6 text-center text-slate-500">
                {empty}
              </td>
            </tr>
          ) : (
            sorted.map((row) => (
              <tr
                key={rowKey(row)}
                className={`border-b border-slate-100 ${onRowClick ? "cursor-pointer hover:bg-blue-50" : ""}`}
                onClick={onRowClick ? () => onRowClick(row) : undefined}
                onKeyDown={onRowClick ? (e) => e.key === "Enter" && onRowClick(row) : undefined}
                tabIndex={onRowClick ? 0 : undefined}
              >
                {columns.map((c) => (
                  <td
                    key={c.key}
                    className={`px-2 py-1.5 ${c.align === "right" ? "text-right tabular-nums" : ""}`}
                  >
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A labelled checkbox that registers its label like Field does. */
export function Check({
  label,
  checked,
  onChange,
  name,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  name?: string;
}) {
  useRegisterLabel(name, label);
  return (
    <label className="flex items-center gap-2 text-sm">
      <input type="checkbox" name={name} checked={checked} onChange={(e) => onChange(e.target.checked)} />
      {label}
    </label>
  );
}

/**
 * Asks before something a person may regret (archiving): a modal with the question, a confirming
 * button named after the act, and Cancel (also Escape). Focus starts on Cancel.
 */
export function ConfirmDialog({
  title,
  body,
  confirm,
  onConfirm,
  onCancel,
  pending = false,
}: {
  title: string;
  body: ReactNode;
  confirm: string;
  onConfirm: () => void;
  onCancel: () => void;
  pending?: boolean;
}) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  const cancel = useRef(onCancel);
  cancel.current = onCancel;
  const titleId = useId();
  useEffect(() => {
    cancelRef.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && cancel.current();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-slate-900/40 p-4">
      <div
        role="alertdialog"
        aria-modal="true"
        aria-labelledby={titleId}
        className="w-full max-w-md rounded border border-slate-200 bg-white p-4 shadow-lg"
      >
        <h2 id={titleId} className="mb-2 text-base font-semibold">
          {title}
        </h2>
        <div className="mb-4 text-sm text-slate-700">{body}</div>
        <div className="flex justify-end gap-2">
          <button
            ref={cancelRef}
            type="button"
            className="rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-100"
            onClick={onCancel}
          >
            Cancel
          </button>
          <Button variant="danger" disabled={pending} onClick={onConfirm}>
            {confirm}
          </Button>
        </div>
      </div>
    </div>
  );
}
