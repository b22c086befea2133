import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { bucketLabel } from '../format';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

/** What marks a bucket still filling: a light band over it, labelled, so its low values do not read as a drop. */
const PARTIAL_FILL = 'rgba(100, 116, 139, 0.14)';
const PARTIAL_LABEL = 'still filling';

/**
 * A uPlot plugin that shades the plot from the last complete bucket to the right edge: the line
 * into the newest bucket, whose counts are not final (its point sits on the right edge, so a band
 * from the point itself would have no width), and writes what the band means.
 */
function partialBand(fromX: number | null): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        if (fromX === null) return;
        const { left, top, width, height } = u.bbox;
        const from = Math.max(left, u.valToPos(fromX, 'x', true));
        if (from >= left + width) return;
        const { ctx } = u;
        ctx.save();
        ctx.fillStyle = PARTIAL_FILL;
        ctx.fillRect(from, top, left + width - from, height);
        ctx.fillStyle = '#475569';
        ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
        ctx.textAlign = 'right';
        ctx.textBaseline = 'top';
        ctx.fillText(PARTIAL_LABEL, left + width - 4 * devicePixelRatio, top + 4 * devicePixelRatio);
        ctx.restore();
      },
    },
  };
}

const PALETTE = ['#2563eb', '#dc2626', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];
export const color = (i: number) => PALETTE[i % PALETTE.length]!;

/**
 * A time-series chart (uPlot, canvas) with its data as a table below it for screen readers and
 * keyboard users. `starts` are the ISO bucket starts; values use `format` in the axis, legend
 * and table.
 */
export function TimeChart(props: {
  id: string;
  title: string;
  starts: string[];
  series: ChartSeries[];
  format: (v: number | null) => string;
  /** Index of the first bucket still filling (drawn as a labelled band), -1 or absent: none. */
  partialFrom?: number;
  /** A sentence under the chart on what it counts (a filter it does not follow, work left out). */
  note?: string | null;
}) {
  const partialFrom = props.partialFrom ?? -1;
  const host = useRef<HTMLDivElement>(null);
  // The table is built when first opened: five charts' tables would otherwise cost the first render.
  const [tableOpen, setTableOpen] = useState(false);

  // A layout effect: the chart is drawn in the same task as the commit that adds its element,
  // not after the next frame (when a plain effect runs), which the first render would wait for.
  useLayoutEffect(() => {
    const el = host.current;
    if (!el) return;
    const x = props.starts.map((s) => Date.parse(s) / 1000);
    const width = Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width,
        plugins: [partialBand(partialFrom >= 0 ? (x[Math.max(0, partialFrom - 1)] ?? null) : null)],
        height: 220,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [{}, { values: (_u, ticks) => ticks.map((t) => props.format(t)), size: 70 }],
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            value: (_u: uPlot, v: number | null) => props.format(v),
            points: { show: x.length < 60 },
          })),
        ],
      },
      [x, ...props.series.map((s) => s.values)] as uPlot.AlignedData,
      el,
    );
    // Only a real change of width: a ResizeObserver also calls back once as soon as it observes,
    // and uPlot's setSize redraws the whole chart even at the same size (a second draw of every
    // chart in the first frame).
    let drawnWidth = width;
    const resize = new ResizeObserver(() => {
      const next = Math.max(280, el.clientWidth);
      if (next === drawnWidth) return;
      drawnWidth = next;
      plot.setSize({ width: next, height: 220 });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [props.starts, props.series, props.format, partialFrom]);

  return (
    <figure class="chart" data-chart={props.id} data-partial-from={partialFrom >= 0 ? partialFrom : undefined}>
      <figcaption>{props.title}</figcaption>
      <div
        ref={host}
        class="chart__plot"
        role="img"
        aria-label={`${props.title}: chart${partialFrom >= 0 ? ' (the shaded newest bucket is still filling)' : ''}; the same data is in the table below`}
      />
      {props.series.every((s) => s.values.every((v) => v == null)) && <p class="chart__empty">No data in this range.</p>}
      {props.note && <p class="chart__note">{props.note}</p>}
      <details class="chart__table" onToggle={(e) => setTableOpen((e.currentTarget as HTMLDetailsElement).open)}>
        <summary>Table view</summary>
        {tableOpen && (
          <table>
            <thead>
              <tr>
                <th scope="col">Bucket (UTC)</th>
                {props.series.map((s) => (
                  <th scope="col" key={s.label}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.starts.map((start, i) => (
                <tr key={start}>
                  <th scope="row">
                    {bucketLabel(start)}
                    {partialFrom >= 0 && i >= partialFrom && <span class="muted"> (still filling)</span>}
                  </th>
                  {props.series.map((s) => (
                    <td key={s.label}>{props.format(s.values[i] ?? null)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </details>
    </figure>
  );
}
