// Line charts with uPlot (a small, well-kept charting library). uPlot styles its elements through the CSSOM,
// which the console's Content-Security-Policy allows; its stylesheet is bundled into the console's CSS file.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  /** One value per x (null: no point). */
  values: (number | null)[];
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

export function LineChart({
  title,
  x,
  series,
  yLabel,
  time = true,
  height = 220,
}: {
  title: string;
  /** x values: unix seconds when `time`, else plain numbers (epochs). */
  x: number[];
  series: Series[];
  yLabel?: string;
  time?: boolean;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('\u0000') + (time ? 't' : 'n') + (yLabel ?? '');

  // (Re)creates the plot when the set of series changes.
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      scales: { x: { time } },
      axes: [{}, { label: yLabel, size: 60 }],
      legend: { show: true },
      series: [{ label: time ? 'time' : 'x' }, ...series.map((s, i) => ({
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        spanGaps: true,
        points: { show: (u: uPlot) => u.data[0].length < 60 },
      }))],
    };
    const u = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height]);

  // Feeds new points without rebuilding.
  useEffect(() => {
    plot.current?.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [x, series]);

  const last = series.map((s) => `${s.label}: ${lastValue(s.values)}`).join(', ');
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} className="chart-box" role="img" aria-label={`${title}. Latest values: ${last || 'none'}`} />
    </figure>
  );
}

function lastValue(v: (number | null)[]): string {
  for (let i = v.length - 1; i >= 0; i--) {
    const n = v[i];
    if (n !== null && n !== undefined) return String(Number(n.toPrecision(4)));
  }
  return '—';
}

/** A histogram: bar per bin (uPlot's bars path builder), `edges` has one more value than `counts`. */
export function Histogram({ title, edges, counts, height = 160 }: { title: string; edges: number[]; counts: number[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || counts.length === 0 || edges.length !== counts.length + 1) return undefined;
    const centers = counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
    const bars = uPlot.paths.bars!({ size: [0.95, Infinity], align: 0 });
    const u = new uPlot(
      {
        width: Math.max(160, el.clientWidth),
        height,
        legend: { show: false },
        cursor: { show: true, points: { show: false } },
        scales: { x: { time: false, range: [edges[0], edges[edges.length - 1]] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{ size: 30 }, { size: 40 }],
        series: [{}, { label: 'rows', stroke: COLORS[0], fill: 'rgba(37, 99, 235, 0.35)', paths: bars, points: { show: false } }],
      },
      [centers, counts],
      el,
    );
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(160, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [edges, counts, height]);
  const summary = counts.map((c, i) => `${Number(edges[i].toPrecision(4))}–${Number(edges[i + 1].toPrecision(4))}: ${c}`).join('; ');
  return (
    <figure className="chart">
      <figcaption className="small">{title}</figcaption>
      <div ref={box} className="chart-box chart-box-small" role="img" aria-label={`${title}. ${summary}`} />
    </figure>
  );
}
