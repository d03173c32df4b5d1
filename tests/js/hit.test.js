import { describe, expect, it } from "vitest";
import { patchAt, patchRect } from "../../js/hit.js";

const grid = { prefix: 1, rows: 4, cols: 6, tokens: 25 };

describe("patchAt", () => {
  it("maps corners and centres to row-major tokens after the prefix", () => {
    expect(patchAt(0, 0, 600, 400, grid)).toBe(1);
    expect(patchAt(599, 0, 600, 400, grid)).toBe(6);
    expect(patchAt(0, 399, 600, 400, grid)).toBe(19);
    expect(patchAt(599.9, 399.9, 600, 400, grid)).toBe(24);
    expect(patchAt(150, 150, 600, 400, grid)).toBe(1 + 1 * 6 + 1);
  });
  it("returns null outside the image or without a grid", () => {
    expect(patchAt(-1, 5, 600, 400, grid)).toBeNull();
    expect(patchAt(5, 400, 600, 400, grid)).toBeNull();
    expect(patchAt(5, 5, 600, 400, {})).toBeNull();
  });
  it("honours any number of prefix tokens", () => {
    expect(patchAt(0, 0, 600, 400, { ...grid, prefix: 5 })).toBe(5);
  });
});

describe("patchRect", () => {
  it("round-trips with patchAt for every token", () => {
    for (let token = grid.prefix; token < grid.tokens; token++) {
      const r = patchRect(token, 600, 400, grid);
      expect(patchAt(r.x + r.w / 2, r.y + r.h / 2, 600, 400, grid)).toBe(token);
    }
  });
  it("has no rectangle for prefix tokens or beyond the grid", () => {
    expect(patchRect(0, 600, 400, grid)).toBeNull();
    expect(patchRect(25, 600, 400, grid)).toBeNull();
  });
});
