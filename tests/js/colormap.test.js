import { describe, expect, it } from "vitest";
import { bytesOf, composite, rgbToRgba } from "../../js/colormap.js";

const grayTable = () => {
  const lut = new Uint8Array(768);
  for (let i = 0; i < 256; i++) lut.set([i, i, i], i * 3);
  return lut;
};

describe("bytesOf", () => {
  it("views a DataView without copying", () => {
    const buffer = new Uint8Array([1, 2, 3, 4, 5]).buffer;
    const view = bytesOf(new DataView(buffer, 1, 3));
    expect(Array.from(view)).toEqual([2, 3, 4]);
    expect(view.buffer).toBe(buffer);
  });
  it("rejects non-binary values", () => {
    expect(() => bytesOf("abc")).toThrow(TypeError);
  });
});

describe("rgbToRgba", () => {
  it("adds an opaque alpha channel", () => {
    expect(Array.from(rgbToRgba(new Uint8Array([1, 2, 3, 4, 5, 6]), 2))).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
  });
});

describe("composite", () => {
  const image = rgbToRgba(new Uint8Array([200, 100, 0, 10, 20, 30]), 2);
  const heat = new Uint8Array([0, 255]);

  it("shows the image alone at opacity 0", () => {
    const out = composite(new Uint8ClampedArray(8), image, heat, grayTable(), 0);
    expect(Array.from(out)).toEqual(Array.from(image));
  });

  it("shows the coloured map alone at opacity 1", () => {
    const out = composite(new Uint8ClampedArray(8), image, heat, grayTable(), 1);
    expect(Array.from(out)).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
  });

  it("blends linearly and looks colours up in the table", () => {
    const lut = new Uint8Array(768);
    lut.set([255, 0, 0], 255 * 3); // hot = red
    const out = composite(new Uint8ClampedArray(8), image, heat, lut, 0.5);
    expect(Array.from(out)).toEqual([100, 50, 0, 255, 133, 10, 15, 255]);
  });

  it("clamps the opacity to [0, 1]", () => {
    const low = composite(new Uint8ClampedArray(8), image, heat, grayTable(), -3);
    expect(Array.from(low)).toEqual(Array.from(image));
    const high = composite(new Uint8ClampedArray(8), image, heat, grayTable(), 3);
    expect(Array.from(high)).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
  });
});
