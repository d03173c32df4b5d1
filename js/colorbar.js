// The colour bar beside the map: the colormap from low to high, with both ends labelled.

/** Table index of column `x` of an `n`-column bar: round(255 * x / (n - 1)), as Python's legend. */
export function barIndex(x, n) {
  return Math.round((255 * x) / Math.max(1, n - 1));
}

/** Paint a `width` x `height` bar of `lut` (Uint8Array 768) into RGBA bytes `out`. */
export function paintBar(out, lut, width, height) {
  for (let x = 0; x < width; x++) {
    const c = barIndex(x, width) * 3;
    for (let y = 0; y < height; y++) {
      const p = (y * width + x) * 4;
      out[p] = lut[c];
      out[p + 1] = lut[c + 1];
      out[p + 2] = lut[c + 2];
      out[p + 3] = 255;
    }
  }
  return out;
}

export class ColorBar {
  constructor(doc, el, scale) {
    this.scale = scale; // [low, high] labels: the widget's maps are normalised to [0, 1]
    this.canvas = doc.createElement("canvas");
    this.canvas.width = 256;
    this.canvas.height = 1;
    this.canvas.className = "atw-colorbar-strip";
    this.root = el(doc, "div", { testid: "atw-colorbar", className: "atw-colorbar" }, [
      el(doc, "span", { className: "atw-colorbar-low", text: scale[0] }),
      this.canvas,
      el(doc, "span", { className: "atw-colorbar-high", text: scale[1] }),
    ]);
    this.root.dataset.low = scale[0];
    this.root.dataset.high = scale[1];
  }

  /** Show colormap `name` through its table `lut`. */
  paint(name, lut) {
    const context = this.canvas.getContext("2d");
    const image = context.createImageData(256, 1);
    paintBar(image.data, lut, 256, 1);
    context.putImageData(image, 0, 0);
    this.root.dataset.colormap = name;
  }
}
