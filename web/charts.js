// Line charts of a job's evaluation history, drawn by uPlot (bundled in
// dist/vendor.js). A chart is created once and updated in place as points
// arrive, so polling never rebuilds the canvas.

import { el, loadVendor, vendorMissing } from "./api.js";

const height = 220;

// lineChart returns a chart in container with the given series (each
// {label, stroke, dash?}) over the x values, y-axis labelled yLabel, or a
// note in words when the chart library is not built. Its update(xs, ...ys)
// replaces the data.
export async function lineChart(container, { title, yLabel, series, yRange }) {
  const v = await loadVendor();
  if (!v) {
    container.append(el("p", { className: "note", textContent: vendorMissing }));
    return { update() {} };
  }
  const box = el("div", { className: "chart" });
  box.setAttribute("role", "img");
  box.dataset.points = "0";
  container.append(box);
  const opts = {
    title,
    width: Math.max(240, container.clientWidth || 480),
    height,
    scales: { x: { time: false }, y: yRange ? { range: yRange } : {} },
    axes: [{ label: "step" }, { label: yLabel }],
    series: [{ label: "step" }, ...series.map((s) => ({ width: 2, points: { show: true, size: 4 }, ...s }))],
  };
  const plot = new v.uPlot(opts, [[], ...series.map(() => [])], box);
  // Follow the container's width (narrow screens, resized windows).
  new ResizeObserver(() => {
    const w = Math.max(240, container.clientWidth);
    if (w !== plot.width) plot.setSize({ width: w, height });
  }).observe(container);
  return {
    update(xs, ...ys) {
      plot.setData([xs, ...ys]);
      box.dataset.points = String(xs.length);
      const last = xs.length - 1;
      box.setAttribute("aria-label", last < 0
        ? `${title}: no evaluation yet`
        : `${title} at step ${xs[last]}: ${series.map((s, i) => `${s.label} ${Number(ys[i][last]).toPrecision(4)}`).join(", ")}`);
    },
  };
}
