import { describe, expect, it } from "vitest";
import { captionFor } from "../../js/caption.js";
import { nextRow } from "../../js/classes.js";
import { barIndex, paintBar } from "../../js/colorbar.js";
import { wrapLines } from "../../js/exporter.js";

const heatmap = { caption: "Grad-CAM · class 3" };
const base = { progress: 0.4, error: "", heatmap, methodLabel: "Integrated Gradients" };

describe("captionFor", () => {
  it("gives the map's own caption when the map is the current state's", () => {
    expect(captionFor({ ...base, status: "idle", matches: true })).toEqual({
      text: "Grad-CAM · class 3",
      stale: false,
      blank: false,
    });
  });
  it("marks the old map stale while a new one computes, with progress and what is computing", () => {
    const view = captionFor({ ...base, status: "computing", matches: false });
    expect(view.stale).toBe(true);
    expect(view.blank).toBe(false);
    expect(view.text).toContain("Computing Integrated Gradients… 40%");
    expect(view.text).toContain("previous map: Grad-CAM · class 3");
  });
  it("says no valid map is there after an error or a cancel, and blanks the canvas", () => {
    const error = captionFor({ ...base, status: "error", error: "ValueError: bad", matches: false });
    expect(error).toEqual({ text: "No valid map: ValueError: bad", stale: true, blank: true });
    const cancelled = captionFor({ ...base, status: "cancelled", matches: false });
    expect(cancelled.stale && cancelled.blank).toBe(true);
    expect(cancelled.text).toContain("cancelled");
  });
  it("keeps a valid map valid while its scores compute", () => {
    const view = captionFor({ ...base, status: "computing", matches: true });
    expect(view.stale).toBe(false);
    expect(view.text).toContain("computing scores… 40%");
  });
});

describe("colour bar", () => {
  it("runs from the table's first entry to its last", () => {
    expect([barIndex(0, 5), barIndex(2, 5), barIndex(4, 5)]).toEqual([0, 128, 255]);
    const lut = new Uint8Array(768);
    for (let i = 0; i < 256; i++) lut.set([i, 255 - i, 7], i * 3);
    const out = paintBar(new Uint8ClampedArray(3 * 2 * 4), lut, 3, 2);
    expect(Array.from(out.slice(0, 12))).toEqual([0, 255, 7, 255, 128, 127, 7, 255, 255, 0, 7, 255]);
    expect(Array.from(out.slice(12, 24))).toEqual(Array.from(out.slice(0, 12))); // every row alike
  });
});

describe("wrapLines", () => {
  it("wraps greedily at the width and keeps a long word on its own line", () => {
    const measure = (text) => text.length;
    expect(wrapLines("aa bb cc dd", 5, measure)).toEqual(["aa bb", "cc dd"]);
    expect(wrapLines("a verylongword b", 4, measure)).toEqual(["a", "verylongword", "b"]);
    expect(wrapLines("", 4, measure)).toEqual([""]);
  });
});

describe("nextRow", () => {
  it("moves within the list and stops at its ends", () => {
    expect(nextRow("ArrowDown", -1, 3)).toBe(0);
    expect(nextRow("ArrowDown", 2, 3)).toBe(2);
    expect(nextRow("ArrowUp", 0, 3)).toBe(0);
    expect(nextRow("ArrowUp", -1, 3)).toBe(2);
    expect([nextRow("Home", 2, 3), nextRow("End", 0, 3)]).toEqual([0, 2]);
    expect(nextRow("a", 1, 3)).toBe(null);
    expect(nextRow("ArrowDown", -1, 0)).toBe(null);
  });
});
