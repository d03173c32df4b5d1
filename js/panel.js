// The control panel, built from the schema Python sends (`_schema`): the method menu, the
// layer menu, SmoothGrad's switch and one control per method parameter, each shown only for
// the methods whose descriptor lists it; then the view-only controls and Export.
import { checkbox, el, labelled, select } from "./controls.js";
import { paramControl } from "./params.js";

export class ControlPanel {
  /**
   * @param doc the document
   * @param schema {methods: [{name, label, params, takes_layer, smoothable, ...}], params: {name: descriptor},
   *   smoothing: {label, params: [names]}, view: {name: descriptor}, fields: [state names]}
   * @param layers [{name, shape}] of the model
   * @param handlers {save(values): to the kernel, local(name, value): view-only, exportPng()}
   */
  constructor(doc, schema, layers, handlers) {
    this.schema = schema;
    this.method = select(
      doc,
      "atw-method",
      schema.methods.map((m) => [m.name, m.label]),
    );
    this.method.addEventListener("change", () => handlers.save({ method: this.method.value }));
    this.layer = select(doc, "atw-layer", [
      ["", "auto"],
      ...layers.map((l) => [l.name, `${l.name} (${l.shape.join("×")})`]),
    ]);
    this.layer.addEventListener("change", () => handlers.save({ layer: this.layer.value }));
    this.smooth = checkbox(doc, "atw-smoothgrad");
    this.smooth.addEventListener("change", () => handlers.save({ smoothgrad: this.smooth.checked }));
    this.rows = {
      layer: labelled(doc, "Layer", this.layer),
      smoothgrad: labelled(doc, schema.smoothing.label, this.smooth),
    };
    this.controls = {};
    for (const [name, param] of Object.entries(schema.params)) {
      this.controls[name] = paramControl(doc, param, (value) => handlers.save({ [name]: value }));
    }
    this.view = {};
    for (const [name, param] of Object.entries(schema.view)) {
      const control = paramControl(doc, param, (value) => handlers.local(name, value));
      if (param.kind !== "str")
        control.input.addEventListener("input", () => handlers.local(name, Number(control.input.value)));
      this.view[name] = control;
    }
    this.exportButton = el(doc, "button", {
      testid: "atw-export",
      type: "button",
      className: "atw-button",
      text: "Export PNG",
    });
    this.exportButton.addEventListener("click", () => handlers.exportPng());
    this.root = el(doc, "div", { className: "atw-controls" }, [
      labelled(doc, "Method", this.method),
      this.rows.layer,
      this.rows.smoothgrad,
      ...Object.values(this.controls).map((c) => c.row),
      ...Object.values(this.view).map((c) => c.row),
      this.exportButton,
    ]);
  }

  /** The descriptor of the method `name`. */
  describe(name) {
    return this.schema.methods.find((m) => m.name === name);
  }

  /** Show the model's values, and only the controls the current method takes. */
  sync(model) {
    const method = this.describe(model.get("method"));
    this.method.value = method.name;
    this.layer.value = model.get("layer");
    this.smooth.checked = model.get("smoothgrad");
    const smoothing = method.smoothable && model.get("smoothgrad");
    this.rows.layer.hidden = !method.takes_layer;
    this.rows.smoothgrad.hidden = !method.smoothable;
    for (const [name, control] of Object.entries(this.controls)) {
      control.show(model.get(name));
      const own = method.params.includes(name);
      control.row.hidden = !(own || (smoothing && this.schema.smoothing.params.includes(name)));
    }
    for (const [name, control] of Object.entries(this.view)) control.show(model.get(name));
  }
}
