import { type FormEvent, type ReactNode, useState } from "react";
import type { RouterOutputs } from "../trpc.ts";
import {
  Button,
  Card,
  Check,
  type Column,
  ConfirmDialog,
  ErrorText,
  Field,
  FormError,
  FormLabels,
  Select,
  Table,
} from "./ui.tsx";
import { UrlField } from "./url-field.tsx";

// One screen for every campaign object (traffic sources, offer sources, offers, landers, custom
// events), driven by the object's field list: the same form creates and edits (the api applies the
// same rules to both), archive asks first, archived rows are listed on request and can be restored.

export type Values = Record<string, unknown>;

export interface FieldSpec {
  /** The api's field key: errors about it are shown with `label`. */
  key: string;
  label: string;
  /**
   * "url": a URL with `{macros}`, checked as typed against the list the api accepts (`urlKind`);
   * "custom": drawn by `render` (a field made of several inputs, such as tracking fields).
   */
  type?: "text" | "select" | "check" | "url" | "custom";
  urlKind?: keyof RouterOutputs["trackingCodes"]["macros"];
  /** Names a URL field accepts on top of the list (a traffic source's own tracking fields). */
  extraMacros?: (values: Values) => readonly string[];
  render?: (values: Values, set: (patch: Values) => void) => ReactNode;
  options?: ReadonlyArray<{ value: string; label: string }>;
  placeholder?: string;
  hint?: string;
  required?: boolean;
  inputMode?: "decimal" | "text";
}

export interface ObjectRow {
  id: string;
  name: string;
  archivedAt: string | null;
}

export interface ObjectSpec<Row extends ObjectRow> {
  /** What URL fields accept, from `trackingCodes.macros`. */
  macros?: RouterOutputs["trackingCodes"]["macros"];
  /** "offer source": in titles, buttons and the confirm dialog. */
  singular: string;
  plural: string;
  fields: readonly FieldSpec[];
  /** A new object's form. */
  defaults: Values;
  /** The edit form of an existing row. */
  fromRow: (row: Row) => Values;
  columns: ReadonlyArray<Column<Row>>;
  /** Ready-made settings: picking one resets every field it sets (picking "Custom" resets to defaults). */
  templates?: {
    options: ReadonlyArray<{ value: string; label: string }>;
    apply: (key: string) => Values;
  };
  /** What archiving this kind does, in the confirm dialog. */
  archiveNote?: string;
}

export interface ObjectActions<Row extends ObjectRow> {
  rows: readonly Row[];
  listError: unknown;
  showArchived: boolean;
  setShowArchived: (v: boolean) => void;
  create: (values: Values) => Promise<unknown>;
  update: (row: Row, values: Values) => Promise<unknown>;
  archive: (row: Row, archived: boolean) => Promise<unknown>;
  /** Extra cells/buttons for a row (enable postbacks, …). */
  rowExtras?: (row: Row) => ReactNode;
}

function ObjectForm({
  title,
  submit,
  fields,
  macros,
  values,
  setValues,
  onSubmit,
  onCancel,
  before,
}: {
  title: string;
  submit: string;
  fields: readonly FieldSpec[];
  macros: ObjectSpec<ObjectRow>["macros"];
  values: Values;
  setValues: (v: Values) => void;
  onSubmit: () => Promise<unknown>;
  onCancel?: () => void;
  before?: ReactNode;
}) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const set = (key: string, value: unknown) => setValues({ ...values, [key]: value });
  return (
    <FormLabels>
      <form
        aria-label={title}
        className="grid grid-cols-1 gap-3 md:grid-cols-3"
        onSubmit={async (e: FormEvent) => {
          e.preventDefault();
          setPending(true);
          setError(null);
          try {
            await onSubmit();
          } catch (err) {
            setError(err);
          } finally {
            setPending(false);
          }
        }}
      >
        {before}
        {fields.map((f) =>
          f.type === "custom" ? (
            <div key={f.key} className="md:col-span-3">
              {f.render?.(values, (patch) => setValues({ ...values, ...patch }))}
            </div>
          ) : f.type === "url" ? (
            <UrlField
              key={f.key}
              name={f.key}
              label={f.label}
              kind={f.urlKind ?? "page"}
              macros={macros}
              extra={f.extraMacros?.(values)}
              value={String(values[f.key] ?? "")}
              placeholder={f.placeholder}
              required={f.required}
              onChange={(v) => set(f.key, v)}
            />
          ) : f.type === "select" ? (
            <Select
              key={f.key}
              name={f.key}
              label={f.label}
              value={String(values[f.key] ?? "")}
              options={f.options ?? []}
              onChange={(e) => set(f.key, e.target.value)}
            />
          ) : f.type === "check" ? (
            <div key={f.key} className="flex items-end pb-1.5">
              <Check
                name={f.key}
                label={f.label}
                checked={values[f.key] === true}
                onChange={(v) => set(f.key, v)}
              />
            </div>
          ) : (
            <Field
              key={f.key}
              name={f.key}
              label={f.label}
              value={String(values[f.key] ?? "")}
              placeholder={f.placeholder}
              hint={f.hint}
              required={f.required}
              inputMode={f.inputMode}
              onChange={(e) => set(f.key, e.target.value)}
            />
          ),
        )}
        <div className="flex items-end gap-2 md:col-span-3">
          <Button type="submit" variant="primary" disabled={pending}>
            {submit}
          </Button>
          {onCancel ? <Button onClick={onCancel}>Cancel</Button> : null}
        </div>
        <div className="md:col-span-3">
          <FormError error={error} />
        </div>
      </form>
    </FormLabels>
  );
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function ObjectScreen<Row extends ObjectRow>({
  spec,
  actions,
}: {
  spec: ObjectSpec<Row>;
  actions: ObjectActions<Row>;
}) {
  const [template, setTemplate] = useState("");
  const [draft, setDraft] = useState<Values>(spec.defaults);
  const [editing, setEditing] = useState<{ row: Row; values: Values } | null>(null);
  const [confirming, setConfirming] = useState<Row | null>(null);
  const [archiveError, setArchiveError] = useState<unknown>(null);
  const [archiving, setArchiving] = useState(false);

  const doArchive = async (row: Row, archived: boolean) => {
    setArchiving(true);
    setArchiveError(null);
    try {
      await actions.archive(row, archived);
      setConfirming(null);
    } catch (error) {
      setArchiveError(error);
    } finally {
      setArchiving(false);
    }
  };

  const columns: Column<Row>[] = [
    ...spec.columns,
    {
      key: "actions",
      header: "",
      cell: (r) => (
        <div className="flex flex-wrap justify-end gap-1">
          {actions.rowExtras?.(r)}
          {r.archivedAt ? (
            <>
              <span className="self-center text-xs text-slate-500">archived</span>
              <Button aria-label={`Restore ${r.name}`} onClick={() => doArchive(r, false)}>
                Restore
              </Button>
            </>
          ) : (
            <>
              <Button
                aria-label={`Edit ${r.name}`}
                onClick={() => {
                  setEditing({ row: r, values: spec.fromRow(r) });
                  window.scrollTo({ top: 0 });
                }}
              >
                Edit
              </Button>
              <Button variant="danger" aria-label={`Archive ${r.name}`} onClick={() => setConfirming(r)}>
                Archive
              </Button>
            </>
          )}
        </div>
      ),
    },
  ];

  const templatePicker = spec.templates ? (
    <Select
      label="Template"
      value={template}
      onChange={(e) => {
        // Everything a template sets is reset from the new choice, so nothing of the old one stays
        // (Facebook → Custom drops fbclid). Only a name the user typed is kept, never the previous
        // template's label.
        const previousLabel = spec.templates?.options.find((o) => o.value === template)?.label;
        const typed = draft.name !== "" && draft.name !== previousLabel ? draft.name : "";
        setTemplate(e.target.value);
        const applied = spec.templates?.apply(e.target.value) ?? {};
        setDraft({ ...draft, ...spec.defaults, ...applied, name: typed || applied.name || "" });
      }}
      options={[{ value: "", label: "Custom" }, ...spec.templates.options]}
    />
  ) : null;

  return (
    <div className="flex flex-col gap-4">
      {editing ? (
        <Card title={`Edit ${spec.singular}: ${editing.row.name}`}>
          <ObjectForm
            key={editing.row.id}
            title={`Edit ${spec.singular}`}
            submit="Save changes"
            fields={spec.fields}
            macros={spec.macros}
            values={editing.values}
            setValues={(values) => setEditing({ ...editing, values })}
            onSubmit={async () => {
              await actions.update(editing.row, editing.values);
              setEditing(null);
            }}
            onCancel={() => setEditing(null)}
          />
        </Card>
      ) : (
        <Card title={`New ${spec.singular}`}>
          <ObjectForm
            title={`Create ${spec.singular}`}
            submit={`Create ${spec.singular}`}
            fields={spec.fields}
            macros={spec.macros}
            values={draft}
            setValues={setDraft}
            before={templatePicker}
            onSubmit={async () => {
              await actions.create(draft);
              setDraft(spec.defaults);
              setTemplate("");
            }}
          />
        </Card>
      )}
      <Card
        title={cap(spec.plural)}
        actions={
          <Check
            label="Show archived"
            checked={actions.showArchived}
            onChange={(v) => actions.setShowArchived(v)}
          />
        }
      >
        <ErrorText error={actions.listError ? String((actions.listError as Error).message) : null} />
        {archiveError && !confirming ? <FormError error={archiveError} /> : null}
        <Table caption={cap(spec.plural)} rows={actions.rows} columns={columns} rowKey={(r) => r.id} />
      </Card>
      {confirming ? (
        <ConfirmDialog
          title={`Archive ${spec.singular} "${confirming.name}"?`}
          body={
            <>
              <p>
                It leaves this list and new funnels cannot use it.{" "}
                {spec.archiveNote ?? "Its history stays in reports."}
              </p>
              <p className="mt-2">You can restore it from "Show archived" at any time.</p>
              {archiveError ? <FormError error={archiveError} /> : null}
            </>
          }
          confirm="Archive"
          pending={archiving}
          onConfirm={() => doArchive(confirming, true)}
          onCancel={() => {
            setConfirming(null);
            setArchiveError(null);
          }}
        />
      ) : null}
    </div>
  );
}
