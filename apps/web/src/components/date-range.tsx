import { DATE_PRESET_LABELS, DATE_PRESETS, type DatePreset, presetRange } from "@hitrail/core";
import { useState } from "react";
import { Field, Select } from "./ui.tsx";

export interface DateRangeState {
  preset: DatePreset | "custom";
  /** The local dates the preset (or the custom pick) means now, in the workspace's zone. */
  range: { from: string; to: string };
  custom: { from: string; to: string };
  setPreset: (preset: DatePreset | "custom") => void;
  setCustom: (custom: { from: string; to: string }) => void;
}

/** A date range picked by preset in the workspace's time zone (core's presets), or by hand. */
export function useDateRange(timeZone: string, initial: DatePreset = "last7"): DateRangeState {
  const [preset, setPresetState] = useState<DatePreset | "custom">(initial);
  const [custom, setCustom] = useState(() => presetRange(initial, new Date(), timeZone));
  const range = preset === "custom" ? custom : presetRange(preset, new Date(), timeZone);
  return {
    preset,
    range,
    custom,
    // Switching to custom starts from what the preset meant, so the dates do not jump.
    setPreset: (p) => {
      if (p === "custom") setCustom(range);
      setPresetState(p);
    },
    setCustom,
  };
}

/** The preset picker, named with the zone it means, and the two dates when picking by hand. */
export function DateRangeFields({ state, timeZone }: { state: DateRangeState; timeZone: string }) {
  return (
    <>
      <Select
        label={`Dates (${timeZone})`}
        value={state.preset}
        onChange={(e) => state.setPreset(e.target.value as DatePreset | "custom")}
        options={[...DATE_PRESETS, "custom" as const].map((p) => ({
          value: p,
          label: DATE_PRESET_LABELS[p],
        }))}
      />
      {state.preset === "custom" ? (
        <>
          <Field
            label="From"
            type="date"
            value={state.custom.from}
            onChange={(e) => state.setCustom({ ...state.custom, from: e.target.value })}
          />
          <Field
            label="To"
            type="date"
            value={state.custom.to}
            onChange={(e) => state.setCustom({ ...state.custom, to: e.target.value })}
          />
        </>
      ) : null}
    </>
  );
}
