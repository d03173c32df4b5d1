import { describe, expect, it } from "vitest";
import { searchClasses } from "../../js/classes.js";

const names = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead"];

describe("searchClasses", () => {
  it("finds by case-insensitive substring", () => {
    expect(searchClasses(names, "SHARK")).toEqual([2, 3]);
  });
  it("finds by exact index first", () => {
    expect(searchClasses(names, "3")).toEqual([3]);
    expect(searchClasses(names, "9")).toEqual([]);
  });
  it("returns nothing for an empty query and respects the limit", () => {
    expect(searchClasses(names, "  ")).toEqual([]);
    expect(searchClasses(names, "h", 2)).toEqual([0, 1]);
  });
});
