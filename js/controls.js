// Small DOM builders for the controls. Each returns the element; events are wired by the caller.

export function el(doc, tag, props = {}, children = []) {
  const node = doc.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "testid") node.dataset.testid = value;
    else if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

export function labelled(doc, text, control) {
  return el(doc, "label", { className: "atw-field" }, [el(doc, "span", { className: "atw-label", text }), control]);
}

export function select(doc, testid, options) {
  const node = el(doc, "select", { testid, className: "atw-select" });
  setOptions(doc, node, options);
  return node;
}

/** Replace a <select>'s options: `options` is a list of [value, label]. */
function setOptions(doc, node, options) {
  node.replaceChildren(...options.map(([value, label]) => el(doc, "option", { value, text: label })));
}

export function slider(doc, testid, { min, max, step }) {
  return el(doc, "input", {
    testid,
    type: "range",
    min: String(min),
    max: String(max),
    step: String(step),
    className: "atw-slider",
  });
}

export function checkbox(doc, testid) {
  return el(doc, "input", { testid, type: "checkbox", className: "atw-checkbox" });
}
