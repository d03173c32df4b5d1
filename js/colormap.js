// Colour lookup and compositing: pure functions over typed arrays (unit-tested with vitest).

/** View a DataView / ArrayBuffer / typed array as a Uint8Array without copying. */
export function bytesOf(data) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError("expected binary data (DataView, ArrayBuffer or typed array)");
}

/** RGB bytes (h*w*3) -> RGBA bytes (h*w*4), opaque. */
export function rgbToRgba(rgb, count) {
  const out = new Uint8ClampedArray(count * 4);
  for (let i = 0, j = 0; i < count; i++, j += 3) {
    out[i * 4] = rgb[j];
    out[i * 4 + 1] = rgb[j + 1];
    out[i * 4 + 2] = rgb[j + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

/**
 * Blend a uint8 heatmap, coloured through a 256x3 lookup table, over an RGBA image.
 * out = round((1 - opacity) * image + opacity * lut[heat]); alpha stays 255.
 * Matches autotimm_widgets.widget.serializers.composite.
 */
export function composite(out, imageRgba, heat, lut, opacity) {
  const a = Math.min(1, Math.max(0, opacity));
  const b = 1 - a;
  const n = heat.length;
  for (let i = 0; i < n; i++) {
    const p = i * 4;
    const c = heat[i] * 3;
    out[p] = Math.round(b * imageRgba[p] + a * lut[c]);
    out[p + 1] = Math.round(b * imageRgba[p + 1] + a * lut[c + 1]);
    out[p + 2] = Math.round(b * imageRgba[p + 2] + a * lut[c + 2]);
    out[p + 3] = 255;
  }
  return out;
}
