// Compare mode: small multiples of the same image across methods, layers or classes, all on
// the one colour scale. A cell shows its map when the kernel has it; clicking it makes its
// value the main view's.
import { bytesOf, composite } from "./colormap.js";
import { el, select } from "./controls.js";

export const AXES = [
  ["", "off"],
  ["methods", "methods"],
  ["layers", "layers"],
  ["classes", "classes"],
];

/** The image (RGBA bytes, width x height) scaled to w x h by the browser's own resampling. */
function thumbnail(doc, rgba, width, height, w, h) {
  const full = doc.createElement("canvas");
  full.width = width;
  full.height = height;
  full.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  const small = doc.createElement("canvas");
  small.width = w;
  small.height = h;
  const context = small.getContext("2d");
  context.drawImage(full, 0, 0, w, h);
  return context.getImageData(0, 0, w, h).data;
}

export class CompareGrid {
  /** `onPick(field, value)` when a cell is clicked; `onAxis(axis)` when the menu changes. */
  constructor(doc, { onPick, onAxis }) {
    this.doc = doc;
    this.onPick = onPick;
    this.menu = select(doc, "atw-compare", AXES);
    this.menu.addEventListener("change", () => onAxis(this.menu.value));
    this.grid = el(doc, "div", { testid: "atw-compare-grid", className: "atw-compare-grid" });
    this.grid.hidden = true;
    this.thumb = null;
  }

  /** Show `payload` (the kernel's `_compare`) over `image` (RGBA, width x height) through `lut`. */
  render(payload, image, lut, opacity, current) {
    this.menu.value = payload?.axis ?? "";
    const cells = payload?.cells ?? [];
    this.grid.hidden = !cells.length;
    if (!cells.length) return this.grid.replaceChildren();
    const { width, height } = payload;
    const key = `${width}x${height}`;
    if (this.thumb?.key !== key)
      this.thumb = { key, data: thumbnail(this.doc, image.rgba, image.width, image.height, width, height) };
    const nodes = cells.map((cell, n) => {
      const canvas = this.doc.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext("2d");
      const frame = context.createImageData(width, height);
      if (cell.data) composite(frame.data, this.thumb.data, bytesOf(cell.data), lut, opacity);
      else frame.data.set(this.thumb.data);
      context.putImageData(frame, 0, 0);
      const words = { computing: "computing…", error: "error", cancelled: "cancelled" };
      const status = words[cell.status] ? ` (${words[cell.status]})` : "";
      const node = el(
        this.doc,
        "button",
        {
          testid: `atw-compare-cell-${n}`,
          className: "atw-compare-cell",
          type: "button",
          title: cell.caption || cell.label,
        },
        [canvas, el(this.doc, "span", { className: "atw-compare-label", text: `${cell.label}${status}` })],
      );
      node.dataset.state = cell.status;
      node.classList.toggle("atw-selected", cell.value === current);
      node.addEventListener("click", () => this.onPick(payload.field, cell.value));
      return node;
    });
    this.grid.replaceChildren(...nodes);
  }
}
