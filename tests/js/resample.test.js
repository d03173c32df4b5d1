import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { finishMap, resize, rolloutGrid, toBytes } from "../../js/resample.js";

const fixtures = JSON.parse(readFileSync(new URL("./fixtures/maps.json", import.meta.url), "utf8"));

/** Largest difference and the share of exactly equal bytes. */
function compare(ours, theirs) {
  let worst = 0;
  let equal = 0;
  for (let i = 0; i < theirs.length; i++) {
    worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
    if (ours[i] === theirs[i]) equal += 1;
  }
  return { worst, equal: equal / theirs.length };
}

describe("finishMap equals BaseInterpreter.finish_maps", () => {
  for (const c of fixtures.resizes) {
    it(`${c.h}x${c.w} -> ${c.H}x${c.W}`, () => {
      const ours = finishMap(Float32Array.from(c.native.flat()), c.h, c.w, c.H, c.W);
      expect(ours.length).toBe(c.H * c.W);
      const { worst, equal } = compare(ours, c.bytes);
      expect(worst).toBeLessThanOrEqual(1);
      expect(equal).toBeGreaterThan(0.999);
    });
  }
});

describe("patch maps from the rollout matrix equal TokenMaps.map", () => {
  const r = fixtures.rollout;
  const matrix = Float32Array.from(r.matrix);
  for (const click of r.clicks) {
    it(`token ${click.token}`, () => {
      const grid = rolloutGrid(matrix, r.tokens, click.token, r.grid);
      const ours = finishMap(grid, r.grid.rows, r.grid.cols, r.H, r.W);
      const { worst, equal } = compare(ours, click.bytes);
      expect(worst).toBeLessThanOrEqual(1);
      expect(equal).toBeGreaterThan(0.999);
    });
  }
});

describe("the pieces", () => {
  it("expands a 1x1 map and keeps a same-size map", () => {
    expect(Array.from(resize(Float32Array.of(0.5), 1, 1, 2, 2))).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(Array.from(resize(Float32Array.of(1, 2), 1, 2, 1, 2))).toEqual([1, 2]);
  });
  it("rounds halves to even, as numpy does", () => {
    // 0.5 * 255 = 127.5 -> 128 (even); 2.5 / 255 * 255 in float32 is 2.5 -> 2 (even), not 3
    const half = Math.fround(2.5 / 255);
    expect(Math.fround(half * 255)).toBe(2.5);
    expect(Array.from(toBytes(Float32Array.of(0, 0.5, half, 1, 2)))).toEqual([0, 128, 2, 255, 255]);
  });
});
