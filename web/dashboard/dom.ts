// A few DOM helpers: the pages build their elements with these, never with innerHTML, so no text
// from the API is ever read as markup.

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined | EventListener>;

/** An element with attributes (`on...` ones become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children)
    if (child !== null && child !== undefined && child !== false)
      element.append(typeof child === 'number' ? String(child) : child);
  return element;
}

/** A figure as shown: null is a figure about too few people for this token (suppressed). */
export function figure(value: number | null | undefined, unit = ''): string {
  if (value === null || value === undefined) return '–';
  const text = Number.isInteger(value) ? value.toLocaleString('en') : value.toFixed(1);
  return unit ? `${text} ${unit}` : text;
}

/** A table: the data behind a chart, or a list on its own. */
export function table(
  caption: string,
  head: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<Child>>,
  options: { id?: string; className?: string } = {},
): HTMLTableElement {
  return h(
    'table',
    { id: options.id, class: options.className ?? 'data' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((label) => h('th', { scope: 'col' }, label)))),
    h(
      'tbody',
      {},
      ...rows.map((row) =>
        h(
          'tr',
          {},
          ...row.map((cell, index) =>
            index === 0 ? h('th', { scope: 'row' }, cell) : h('td', {}, cell),
          ),
        ),
      ),
    ),
  );
}

/**
 * A chart and its table alternative: the canvas is an image with a label for screen readers,
 * the table (with the same figures) sits in a disclosure that anyone can open.
 */
export function chartCard(
  title: string,
  description: string,
  canvas: HTMLCanvasElement,
  data: HTMLTableElement,
  id: string,
): HTMLElement {
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${title}: ${description} The figures are in the table below.`);
  return h(
    'section',
    { class: 'card chart', 'aria-labelledby': `${id}-title`, id },
    h('h2', { id: `${id}-title` }, title),
    h('p', { class: 'hint' }, description),
    h('div', { class: 'canvas-box' }, canvas),
    h('details', {}, h('summary', {}, 'Show the figures as a table'), data),
  );
}

export function time(date: Date): string {
  return date.toLocaleTimeString('en-GB', { hour12: false });
}
