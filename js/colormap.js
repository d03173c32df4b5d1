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
 * out = floor((1 - opacity) * image + opacity * lut[heat] + 0.5), in float32 as numpy computes it;
 * alpha stays 255. Matches autotimm_widgets.widget.serializers.composite. Both terms come from
 * 256-entry tables, so a 512 x 600 view blends in a few milliseconds.
 */
export function composite(out, imageRgba, heat, lut, opacity) {
  const a = Math.fround(Math.min(1, Math.max(0, opacity)));
  const b = Math.fround(1 - a);
  const base = new Float32Array(256);
  for (let v = 0; v < 256; v++) base[v] = b * v;
  const tint = new Float32Array(768);
  for (let i = 0; i < 768; i++) tint[i] = a * lut[i];
  const n = heat.length;
  for (let i = 0; i < n; i++) {
    const p = i * 4;
    const c = heat[i] * 3;
    out[p] = (Math.fround(base[imageRgba[p]] + tint[c]) + 0.5) | 0;
    out[p + 1] = (Math.fround(base[imageRgba[p + 1]] + tint[c + 1]) + 0.5) | 0;
    out[p + 2] = (Math.fround(base[imageRgba[p + 2]] + tint[c + 2]) + 0.5) | 0;
    out[p + 3] = 255;
  }
  return out;
}
