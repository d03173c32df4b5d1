// The picture: the image with the heatmap over it, repainted locally for opacity and colormap.
import { bytesOf, composite, rgbToRgba } from "./colormap.js";
import { patchRect } from "./hit.js";

export class HeatmapCanvas {
  constructor(doc) {
    this.canvas = doc.createElement("canvas");
    this.canvas.dataset.testid = "atw-canvas";
    this.canvas.className = "atw-canvas";
    this.context = this.canvas.getContext("2d", { willReadFrequently: true });
    this.image = null; // RGBA Uint8ClampedArray
    this.heat = null; // Uint8Array, same size as the image
    this.frame = null;
    this.paints = 0;
  }

  setImage({ data, width, height }) {
    this.canvas.width = width;
    this.canvas.height = height;
    this.image = rgbToRgba(bytesOf(data), width * height);
    this.frame = this.context.createImageData(width, height);
  }

  setHeat(heat) {
    this.heat = heat;
  }

  /** Repaint with the given colour table (Uint8Array 768) and opacity; outline `patch` if given. */
  paint(lut, opacity, patch, grid) {
    if (!this.image) return;
    const { width, height } = this.canvas;
    if (this.heat && this.heat.length === width * height && lut) {
      composite(this.frame.data, this.image, this.heat, lut, opacity);
    } else {
      this.frame.data.set(this.image);
    }
    this.context.putImageData(this.frame, 0, 0);
    const rect = patch == null ? null : patchRect(patch, width, height, grid);
    if (rect) {
      // Pixel-aligned: a 1 px black line just outside the patch, a 2 px white line inside it.
      const x = Math.round(rect.x),
        y = Math.round(rect.y);
      const w = Math.round(rect.x + rect.w) - x,
        h = Math.round(rect.y + rect.h) - y;
      this.context.lineWidth = 1;
      this.context.strokeStyle = "#000000";
      this.context.strokeRect(x - 0.5, y - 0.5, w + 1, h + 1);
      this.context.lineWidth = 2;
      this.context.strokeStyle = "#ffffff";
      this.context.strokeRect(x + 1, y + 1, w - 2, h - 2);
    }
    this.paints += 1;
    this.canvas.dataset.paints = String(this.paints);
  }

  /** (x, y) of a mouse event in canvas pixels. */
  eventPoint(event) {
    const box = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * this.canvas.width,
      y: ((event.clientY - box.top) / box.height) * this.canvas.height,
    };
  }
}
