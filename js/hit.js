// Patch hit-testing for Vision Transformers: canvas pixels <-> token indices.
// Token 0 is the first prefix (CLS) token; patches follow row-major after `prefix` tokens.

/** Token index of the patch under (x, y) on a width x height view, or null outside it. */
export function patchAt(x, y, width, height, grid) {
  if (!grid?.rows || !grid.cols) return null;
  if (x < 0 || y < 0 || x >= width || y >= height) return null;
  const row = Math.min(grid.rows - 1, Math.floor((y / height) * grid.rows));
  const col = Math.min(grid.cols - 1, Math.floor((x / width) * grid.cols));
  return grid.prefix + row * grid.cols + col;
}

/** The rectangle {x, y, w, h} of a patch token on the view, or null for prefix tokens. */
export function patchRect(token, width, height, grid) {
  if (!grid?.rows || token < grid.prefix || token >= grid.prefix + grid.rows * grid.cols) return null;
  const index = token - grid.prefix;
  const row = Math.floor(index / grid.cols);
  const col = index % grid.cols;
  const w = width / grid.cols;
  const h = height / grid.rows;
  return { x: col * w, y: row * h, w, h };
}
