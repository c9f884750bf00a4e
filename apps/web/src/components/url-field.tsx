import { type MacroProblem, unknownMacros, unknownPostbackParams } from "@hitrail/core";
import { useId } from "react";
import type { RouterOutputs } from "../trpc.ts";
import { useRegisterLabel } from "./ui.tsx";

type MacroList = RouterOutputs["trackingCodes"]["macros"];
export type MacroKind = keyof MacroList;

/**
 * A URL field with the macros it accepts beside it and a live check of what is typed: a mistyped
 * `{macro}` is named with the nearest known one as the user types, with the same rule (core's) the
 * api applies when saving. A click on a macro adds it to the end of the URL.
 *
 * `kind` says who fills the URL in: "page" and "trafficSourcePostback" URLs take our `{macros}`;
 * an offer source's postback ("offerSourcePostback") takes the network's macros, and its `/pb/`
 * parameter names are what is checked.
 */
export function UrlField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  kind: MacroKind;
  macros: MacroList | undefined;
  /** Names known on top of the list (a traffic source's own tracking fields). */
  extra?: readonly string[];
  placeholder?: string;
  required?: boolean;
  className?: string;
  /** The api's field key: the form's errors about it are shown with `label`. */
  name?: string;
}) {
  const { label, value, onChange, kind, macros, extra = [], placeholder, required, className = "" } = props;
  const id = useId();
  useRegisterLabel(props.name, label);
  const listId = `${id}-macros`;
  const known = [...(macros?.[kind] ?? []).map((m) => m.name), ...extra];
  const problems: MacroProblem[] =
    macros === undefined || value.trim() === ""
      ? []
      : kind === "offerSourcePostback"
        ? unknownPostbackParams(value, extra)
        : unknownMacros(value, known);
  const insert = (name: string) =>
    onChange(
      kind === "offerSourcePostback"
        ? `${value}${value.includes("?") ? "&" : "?"}${name}=`
        : `${value}{${name}}`,
    );
  return (
    <div className={`flex flex-col gap-1 text-sm ${className}`}>
      <label htmlFor={id} className="font-medium text-slate-700">
        {label}
      </label>
      <input
        id={id}
        name={props.name}
        className="rounded border border-slate-300 bg-white px-2 py-1.5 font-mono text-xs"
        value={value}
        placeholder={placeholder}
        required={required}
        spellCheck={false}
        aria-invalid={problems.length > 0 ? true : undefined}
        aria-describedby={listId}
        onChange={(e) => onChange(e.target.value)}
      />
      {problems.map((p) => (
        <span key={p.name} role="status" className="text-xs text-amber-800">
          {p.message}
          {p.suggestion ? (
            <button
              type="button"
              className="ml-2 underline"
              onClick={() =>
                onChange(
                  kind === "offerSourcePostback"
                    ? value.replace(new RegExp(`([?&])${escapeRegExp(p.name)}=`), `$1${p.suggestion}=`)
                    : value.split(`{${p.name}}`).join(`{${p.suggestion}}`),
                )
              }
            >
              Use {kind === "offerSourcePostback" ? p.suggestion : `{${p.suggestion}}`}
            </button>
          ) : null}
        </span>
      ))}
      <details id={listId} className="text-xs text-slate-600">
        <summary className="cursor-pointer select-none">
          {kind === "offerSourcePostback" ? "Parameters the postback endpoint reads" : "Macros"} (
          {known.length})
        </summary>
        <ul className="mt-1 flex flex-col gap-0.5">
          {(macros?.[kind] ?? []).map((m) => (
            <li key={m.name}>
              <button
                type="button"
                className="font-mono text-blue-700 hover:underline"
                title={`Add ${m.name} to ${label}`}
                onClick={() => insert(m.name)}
              >
                {kind === "offerSourcePostback" ? m.name : `{${m.name}}`}
              </button>{" "}
              {m.description}
            </li>
          ))}
          {extra.map((name) => (
            <li key={`extra-${name}`}>
              <button
                type="button"
                className="font-mono text-blue-700 hover:underline"
                onClick={() => insert(name)}
              >
                {kind === "offerSourcePostback" ? name : `{${name}}`}
              </button>{" "}
              this source's own
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
