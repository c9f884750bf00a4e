import { useEffect, useRef } from "react";
import uPlot from "uplot";

export interface Series {
  label: string;
  values: number[];
  color: string;
  /** Money series share the right-hand axis; counts use the left one. */
  money?: boolean;
}

/** A time-series line chart (uPlot: small, fast, canvas). `x` are unix seconds. */
export function TimeChart({
  x,
  series,
  title,
  range,
}: {
  x: number[];
  series: Series[];
  title: string;
  /** The report's whole range in unix seconds, so a single point does not stretch the axis to years. */
  range: [number, number];
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const width = Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        title,
        width,
        height: 240,
        scales: { x: { time: true, range: () => range }, count: {}, money: {} },
        axes: [{}, { scale: "count" }, { scale: "money", side: 1, grid: { show: false } }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            scale: s.money ? "money" : "count",
          })),
        ],
      },
      [x, ...series.map((s) => s.values)],
      el,
    );
    const resize = () => plot.setSize({ width: Math.max(280, el.clientWidth), height: 240 });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [x, series, title, range]);
  return <div ref={ref} role="img" aria-label={title} className="w-full" />;
}
