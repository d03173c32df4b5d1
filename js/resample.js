// Maps made in the browser from what the kernel sent once: native maps upsampled and normalised
// as BaseInterpreter.finish_maps does (bilinear with align_corners=False, clamped at 0, min-max
// scaled), and patch maps read from a rollout matrix as TokenMaps.map does. In float32 (Math.fround),
// like torch on the CPU; tests/js/resample.test.js compares them with Python's on shared fixtures.
const f = Math.fround;

/** Source index and weights of output index `dst` along an axis of `inSize` -> `outSize` (torch's rule). */
function axis(inSize, outSize) {
  const scale = f(inSize / outSize);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const w1 = new Float32Array(outSize);
  for (let dst = 0; dst < outSize; dst++) {
    const real = Math.max(0, f(f(scale * f(dst + 0.5)) - 0.5));
    const index = Math.min(Math.floor(real), inSize - 1);
    lo[dst] = index;
    hi[dst] = index < inSize - 1 ? index + 1 : index;
    w1[dst] = Math.min(1, Math.max(0, f(real - index)));
  }
  return { lo, hi, w1 };
}

/** Bilinear resize (align_corners=False) of an h x w Float32Array to H x W; a 1x1 map is expanded. */
export function resize(map, h, w, H, W) {
  if (h === H && w === W) return Float32Array.from(map);
  const out = new Float32Array(H * W);
  if (h * w === 1) return out.fill(map[0]);
  const ys = axis(h, H);
  const xs = axis(w, W);
  for (let y = 0; y < H; y++) {
    const r0 = ys.lo[y] * w;
    const r1 = ys.hi[y] * w;
    const b = ys.w1[y];
    const a = f(1 - b);
    for (let x = 0; x < W; x++) {
      const c0 = xs.lo[x];
      const c1 = xs.hi[x];
      const d = xs.w1[x];
      const c = f(1 - d);
      const top = f(f(c * map[r0 + c0]) + f(d * map[r0 + c1]));
      const bottom = f(f(c * map[r1 + c0]) + f(d * map[r1 + c1]));
      out[y * W + x] = f(f(a * top) + f(b * bottom));
    }
  }
  return out;
}

/** Clamp at 0 and min-max scale to [0, 1] in place (a constant map becomes all zeros). */
export function normalise(map) {
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < map.length; i++) {
    const v = Math.max(0, map[i]);
    map[i] = v;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const span = f(high - low);
  for (let i = 0; i < map.length; i++) map[i] = span > 0 ? f(f(map[i] - low) / span) : 0;
  return map;
}

/** A native map (h x w) as the view's uint8 map at H x W: resized, clamped, normalised, * 255 rounded. */
export function finishMap(native, h, w, H, W) {
  return toBytes(normalise(resize(native, h, w, H, W)));
}

/** Float map in [0, 1] -> uint8 (0..255), rounded as numpy's map_bytes (ties to even). */
export function toBytes(map) {
  const out = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) {
    const v = f(Math.min(1, Math.max(0, map[i])) * 255); // float32, as numpy's float32 map * 255.0
    const r = Math.round(v);
    out[i] = r - v === 0.5 && r % 2 === 1 ? r - 1 : r; // Math.round rounds halves up
  }
  return out;
}

/** The (rows x cols) patch scores of `token` from a T x T rollout matrix (row-major Float32Array). */
export function rolloutGrid(matrix, tokens, token, { prefix, rows, cols }) {
  const grid = new Float32Array(rows * cols);
  let total = 0;
  for (let j = 0; j < rows * cols; j++) {
    const v = Math.max(0, matrix[token * tokens + prefix + j]);
    grid[j] = v;
    total = f(total + v);
  }
  if (total > 0) for (let j = 0; j < grid.length; j++) grid[j] = f(grid[j] / total);
  return grid;
}
