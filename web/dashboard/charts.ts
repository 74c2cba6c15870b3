// Chart.js, only the parts the pages use (esbuild leaves the rest out of the bundle).
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartType,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.font.size = 14;
Chart.defaults.color = '#1f2328';
// A wall screen redraws on every change: no animation to watch each time.
Chart.defaults.animation = false;
// Each canvas sits in a box of fixed height; the width follows the card.
Chart.defaults.responsive = true;
Chart.defaults.maintainAspectRatio = false;

/**
 * Colours with at least 3:1 contrast against white (graphical objects, WCAG 1.4.11), told apart
 * by lightness as well as hue.
 */
export const COLOURS = {
  ahead: '#1a7f37',
  on_track: '#0969da',
  behind: '#9a6700',
  at_risk: '#cf222e',
  completed: '#6639ba',
  withdrawn: '#57606a',
  political: '#cf222e',
  professional: '#0969da',
  social: '#1a7f37',
  expected: '#57606a',
  left: '#bc4c00',
  main: '#0550ae',
} as const;

const charts = new WeakMap<HTMLCanvasElement, { destroy(): void }>();

/** Draws `config` on a new canvas; the chart is destroyed when the canvas is replaced. */
export function draw<T extends ChartType>(
  config: ChartConfiguration<T>,
  height = 260,
): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.height = height;
  canvas.style.height = `${height}px`;
  // Chart.js needs the canvas in the document to size it: drawn on the next frame.
  requestAnimationFrame(() => {
    if (!canvas.isConnected) return;
    charts.set(canvas, new Chart(canvas, config));
  });
  return canvas;
}

/** Destroys the charts inside `root` (before its content is replaced). */
export function destroyCharts(root: ParentNode): void {
  for (const canvas of root.querySelectorAll('canvas')) {
    charts.get(canvas)?.destroy();
    charts.delete(canvas);
  }
}
