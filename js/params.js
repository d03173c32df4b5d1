// Controls built from parameter descriptors sent by Python (`_schema`): no names, ranges or
// options are written here. A descriptor is {name, kind, label, default, choices, min, max,
// max_inclusive}; kind is "int", "float", "str" or "bool".
import { checkbox, el, labelled, select, slider } from "./controls.js";

/** The test id of a parameter's control: "atw-" and its name with dashes ("atw-noise-level"). */
export function testId(name) {
  return `atw-${name.replaceAll("_", "-")}`;
}

/** Slider geometry of a numeric descriptor: {min, max, step, digits}; an exclusive max is one step less. */
export function sliderRange(param) {
  const integer = param.kind === "int";
  const span = param.max - param.min;
  const step = integer ? 1 : span <= 1 ? 0.01 : span / 100;
  const max = param.max_inclusive === false ? param.max - step : param.max;
  const digits = integer ? 0 : Math.max(0, Math.ceil(-Math.log10(step)));
  return { min: param.min, max: Number(max.toFixed(digits)), step, digits };
}

/** A parsed control value of a descriptor's kind (ints rounded), or null when it is not a number. */
export function parseValue(param, text) {
  if (param.kind === "str") return String(text);
  const value = String(text).trim() === "" ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) return null;
  return param.kind === "int" ? Math.round(value) : value;
}

/**
 * A labelled control for one parameter: {row, input, show(value)}; `onCommit(value)` is
 * called when the user settles a value (slider released, number typed, option picked).
 */
export function paramControl(doc, param, onCommit) {
  if (param.kind === "bool") {
    const input = checkbox(doc, testId(param.name));
    input.addEventListener("change", () => onCommit(input.checked));
    return { row: labelled(doc, param.label, input), input, show: (value) => (input.checked = Boolean(value)) };
  }
  if (param.choices) {
    const input = select(
      doc,
      testId(param.name),
      param.choices.map((c) => [c, c]),
    );
    input.addEventListener("change", () => onCommit(input.value));
    return { row: labelled(doc, param.label, input), input, show: (value) => (input.value = value) };
  }
  const range = sliderRange(param);
  const input = slider(doc, testId(param.name), range);
  const number = el(doc, "input", {
    testid: `${testId(param.name)}-value`,
    type: "number",
    className: "atw-value",
    min: String(range.min),
    max: String(range.max),
    step: String(range.step),
  });
  const commit = (node) => {
    const value = parseValue(param, node.value);
    if (value !== null) onCommit(value);
  };
  input.addEventListener("input", () => (number.value = Number(input.value).toFixed(range.digits)));
  input.addEventListener("change", () => commit(input));
  number.addEventListener("change", () => commit(number));
  const show = (value) => {
    input.value = String(value);
    number.value = Number(value).toFixed(range.digits);
  };
  const row = labelled(doc, param.label, el(doc, "span", { className: "atw-slider-row" }, [input, number]));
  return { row, input, show };
}
