import { Button } from "./ui.tsx";

export interface TrackingFieldRow {
  name: string;
  param: string;
  /** The network's macro that fills the parameter on the entrance link (`{zoneid}`); empty: REPLACE. */
  macro?: string;
}

/**
 * A traffic source's tracking fields: each a name reports group by (zone, creative, …) and the
 * entrance-link parameter the tracker reads it from. The campaign has its own parameter and is
 * always a field named `campaign`.
 */
export function TrackingFieldsEditor({
  value,
  onChange,
}: {
  value: readonly TrackingFieldRow[];
  onChange: (next: TrackingFieldRow[]) => void;
}) {
  const set = (i: number, patch: Partial<TrackingFieldRow>) =>
    onChange(value.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  return (
    <fieldset className="flex flex-col gap-2 text-sm">
      <legend className="font-medium text-slate-700">Tracking fields</legend>
      {value.map((f, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place; the index is their identity
        <div key={i} className="flex flex-wrap items-end gap-2">
          <label className="flex flex-col gap-1">
            <span className="text-xs text-slate-600">Field name</span>
            <input
              className="rounded border border-slate-300 px-2 py-1"
              value={f.name}
              placeholder="zone"
              onChange={(e) => set(i, { name: e.target.value })}
            />
          </label>
          <label className="flex flex-col gap-1">
            <span className="text-xs text-slate-600">Entrance parameter</span>
            <input
              className="rounded border border-slate-300 px-2 py-1"
              value={f.param}
              placeholder="zoneid"
              onChange={(e) => set(i, { param: e.target.value })}
            />
          </label>
          <label className="flex flex-col gap-1">
            <span className="text-xs text-slate-600">Network macro</span>
            <input
              className="rounded border border-slate-300 px-2 py-1"
              value={f.macro ?? ""}
              placeholder="{zoneid}"
              onChange={(e) => set(i, { macro: e.target.value })}
            />
          </label>
          <Button
            onClick={() => onChange(value.filter((_, j) => j !== i))}
            aria-label={`Remove field ${f.name}`}
          >
            Remove
          </Button>
        </div>
      ))}
      <div>
        <Button onClick={() => onChange([...value, { name: "", param: "" }])}>Add tracking field</Button>
      </div>
    </fieldset>
  );
}
