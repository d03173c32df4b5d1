import { describe, expect, it } from "vitest";
import { parseValue, sliderRange, testId } from "../../js/params.js";

const integer = { name: "a_count", kind: "int", min: 1, max: 10000, max_inclusive: true };
const fraction = { name: "a_fraction", kind: "float", min: 0, max: 1, max_inclusive: false };
const wide = { name: "a_level", kind: "float", min: 0, max: 50, max_inclusive: true };

describe("sliderRange", () => {
  it("steps integers by one over the whole declared range", () => {
    expect(sliderRange(integer)).toEqual({ min: 1, max: 10000, step: 1, digits: 0 });
  });
  it("keeps an exclusive maximum out of reach by one step", () => {
    expect(sliderRange(fraction)).toEqual({ min: 0, max: 0.99, step: 0.01, digits: 2 });
  });
  it("scales the step of a wide float range to a hundredth of it", () => {
    expect(sliderRange(wide)).toEqual({ min: 0, max: 50, step: 0.5, digits: 1 });
  });
});

describe("parseValue", () => {
  it("rounds integers, keeps floats and strings, refuses what is not a number", () => {
    expect(parseValue(integer, "7.6")).toBe(8);
    expect(parseValue(fraction, "0.25")).toBe(0.25);
    expect(parseValue({ kind: "str" }, "white")).toBe("white");
    expect(parseValue(integer, " ")).toBeNull();
    expect(parseValue(integer, "abc")).toBeNull();
  });
});

describe("testId", () => {
  it("is the parameter's name with dashes", () => {
    expect(testId("a_fraction")).toBe("atw-a-fraction");
  });
});
