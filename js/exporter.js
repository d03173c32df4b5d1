// Export PNG: the view, its colour bar with low and high labels, and the caption below, laid out
// as Python's ExplainerWidget.export_image (autotimm_widgets/widget/legend.py).
import { paintBar } from "./colorbar.js";

export const PAD = 8;
export const BAR_HEIGHT = 12;
export const LINE_HEIGHT = 16;
const FONT = "12px sans-serif";

/** Greedy word wrap of `text` to lines at most `width` px wide, measured by `measure(text)`. */
export function wrapLines(text, width, measure) {
  const lines = [];
  for (const word of text.split(" ")) {
    const candidate = lines.length ? `${lines[lines.length - 1]} ${word}` : word;
    if (lines.length && measure(candidate) <= width) lines[lines.length - 1] = candidate;
    else lines.push(word);
  }
  return lines.length ? lines : [""];
}

/** A new canvas: `view` (a canvas) with the colour bar of `lut` and `caption` below it. */
export function legendCanvas(doc, view, lut, scale, caption) {
  const { width, height } = view;
  const out = doc.createElement("canvas");
  const context = out.getContext("2d");
  context.font = FONT;
  const lines = wrapLines(caption, width - 2 * PAD, (t) => context.measureText(t).width);
  const barTop = height + PAD;
  const labelsTop = barTop + BAR_HEIGHT + 2;
  const captionTop = labelsTop + LINE_HEIGHT + 2;
  out.width = width;
  out.height = captionTop + LINE_HEIGHT * lines.length + PAD;
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, out.width, out.height);
  context.drawImage(view, 0, 0);
  const barWidth = Math.max(2, width - 2 * PAD);
  const bar = context.createImageData(barWidth, BAR_HEIGHT);
  paintBar(bar.data, lut, barWidth, BAR_HEIGHT);
  context.putImageData(bar, PAD, barTop);
  context.font = FONT;
  context.fillStyle = "#000000";
  context.textBaseline = "top";
  context.fillText(scale[0], PAD, labelsTop);
  context.fillText(scale[1], PAD + barWidth - context.measureText(scale[1]).width, labelsTop);
  for (const [n, line] of lines.entries()) context.fillText(line, PAD, captionTop + n * LINE_HEIGHT);
  return out;
}

/** Download `canvas` as a PNG named `name`. */
export function downloadPng(doc, canvas, name) {
  canvas.toBlob((blob) => {
    const link = doc.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }, "image/png");
}
