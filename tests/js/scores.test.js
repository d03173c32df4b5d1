import { describe, expect, it } from "vitest";
import { curvePoints } from "../../js/scores.js";

describe("curvePoints", () => {
  it("maps fractions to x and scores to y (top of the box = the highest score)", () => {
    expect(curvePoints([0, 0.5, 1], [1, 0.5, 0], 100, 50)).toBe("0.0,0.0 50.0,25.0 100.0,50.0");
  });
  it("puts curves drawn together on one scale", () => {
    // a deletion curve that peaks at 0.3 stays below an insertion curve that reaches 0.9
    expect(curvePoints([0, 1], [0.3, 0], 10, 90, 0.9)).toBe("0.0,60.0 10.0,90.0");
    expect(curvePoints([0, 1], [0, 0.9], 10, 90, 0.9)).toBe("0.0,90.0 10.0,0.0");
  });
  it("draws an all-zero curve along the bottom", () => {
    expect(curvePoints([0, 1], [0, 0], 10, 10)).toBe("0.0,10.0 10.0,10.0");
  });
});
