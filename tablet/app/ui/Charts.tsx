// Small SVG charts for the director's ward screen: horizontal grouped bars (readable labels on a
// tablet in either orientation), a line over time, and a ratio meter. Each chart is drawn at the
// width it has on screen (one unit of its viewBox is one CSS pixel), so its labels are as large as
// the stylesheet says (16 px) whatever the orientation; numbers are text, so nothing depends on
// colour alone.

import type { RefObject } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

const COLORS = ["#1d5fa8", "#e08a00", "#2e7d32", "#b3261e", "#6a4c93"];

export type Series = { label: string; values: number[] };

/** Rows of bars: one row per category, one bar per series. */
export function BarChart(props: {
  title: string;
  categories: string[];
  series: Series[];
  format?: (v: number) => string;
  testId?: string;
}) {
  const { categories, series } = props;
  const format = props.format ?? ((v: number) => String(v));
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const barH = 24;
  const labelH = 24;
  const rowH = labelH + series.length * barH + 10;
  const [figure, width] = useDrawnWidth();
  const valueW = 110;
  const height = categories.length * rowH;
  return (
    <figure class="chart" data-testid={props.testId} ref={figure}>
      <figcaption>{props.title}</figcaption>
      {series.length > 1 && <Legend series={series.map((s) => s.label)} />}
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.title}>
        {categories.map((category, row) => (
          <g
            key={category}
            transform={`translate(0 ${row * rowH})`}
            data-category={category}
            data-values={series.map((s) => s.values[row] ?? 0).join(",")}
          >
            <text x={0} y={labelH - 6} class="chart-label">
              {category}
            </text>
            {series.map((s, i) => {
              const v = s.values[row] ?? 0;
              const w = ((width - valueW) * v) / max;
              return (
                <g key={s.label} transform={`translate(0 ${labelH + i * barH})`}>
                  <rect width={Math.max(w, 2)} height={barH - 4} fill={COLORS[i % COLORS.length]} rx={3} />
                  <text x={Math.max(w, 2) + 6} y={barH - 8} class="chart-value">
                    {format(v)}
                  </text>
                </g>
              );
            })}
          </g>
        ))}
      </svg>
    </figure>
  );
}

/** Values over time (e.g. the ward's backlog over the last day). */
export function LineChart(props: { title: string; times: string[]; series: Series[]; testId?: string }) {
  const [figure, width] = useDrawnWidth();
  const height = 220;
  const pad = { left: 44, right: 10, top: 12, bottom: 30 };
  const n = props.times.length;
  const max = Math.max(1, ...props.series.flatMap((s) => s.values));
  const x = (i: number) => pad.left + (n <= 1 ? 0 : ((width - pad.left - pad.right) * i) / (n - 1));
  const y = (v: number) => height - pad.bottom - ((height - pad.top - pad.bottom) * v) / max;
  return (
    <figure class="chart" data-testid={props.testId} ref={figure}>
      <figcaption>{props.title}</figcaption>
      <Legend series={props.series.map((s) => s.label)} />
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.title}>
        <line x1={pad.left} y1={y(0)} x2={width - pad.right} y2={y(0)} class="axis" />
        <line x1={pad.left} y1={pad.top} x2={pad.left} y2={y(0)} class="axis" />
        <text x={pad.left - 6} y={pad.top + 12} class="chart-tick" text-anchor="end">
          {max}
        </text>
        <text x={pad.left - 6} y={y(0)} class="chart-tick" text-anchor="end">
          0
        </text>
        {n > 0 && (
          <>
            <text x={pad.left} y={height - 6} class="chart-tick">
              {props.times[0]}
            </text>
            <text x={width - pad.right} y={height - 6} class="chart-tick" text-anchor="end">
              {props.times[n - 1]}
            </text>
          </>
        )}
        {props.series.map((s, i) => (
          <polyline
            key={s.label}
            fill="none"
            stroke={COLORS[i % COLORS.length]}
            stroke-width={3}
            points={s.values.map((v, j) => `${x(j)},${y(v)}`).join(" ")}
            data-series={s.label}
            data-values={s.values.join(",")}
          />
        ))}
      </svg>
    </figure>
  );
}

/** A ratio (0..1) as a big number over a bar; `warnBelow` turns it red when it falls short. */
export function Meter(props: {
  title: string;
  ratio: number | null;
  text: string;
  warnBelow?: number;
  warnAbove?: number;
  testId?: string;
}) {
  const r = props.ratio ?? 0;
  const warn =
    props.ratio !== null &&
    ((props.warnBelow !== undefined && r < props.warnBelow) ||
      (props.warnAbove !== undefined && r > props.warnAbove));
  return (
    <figure class={`meter${warn ? " warn" : ""}`} data-testid={props.testId}>
      <figcaption>{props.title}</figcaption>
      <div class="meter-value">{props.text}</div>
      <div class="meter-track" aria-hidden="true">
        <div class="meter-fill" style={{ width: `${Math.min(100, r * 100)}%` }} />
      </div>
    </figure>
  );
}

/** The width a figure draws its chart at (600 until measured), followed as the screen turns. */
function useDrawnWidth(): [RefObject<HTMLElement | null>, number] {
  const figure = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const el = figure.current;
    if (!el) return;
    // The figure's content box: the width its svg is drawn at.
    const observer = new ResizeObserver(([entry]) => {
      const drawn = Math.round(entry?.contentRect.width ?? 0);
      if (drawn > 0) setWidth(drawn);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [figure, width];
}

function Legend(props: { series: string[] }) {
  return (
    <ul class="legend">
      {props.series.map((label, i) => (
        <li key={label}>
          <span class="swatch" style={{ background: COLORS[i % COLORS.length] }} />
          {label}
        </li>
      ))}
    </ul>
  );
}
