// ExplainerWidget front end (anywidget ESM). Traits are the single source of truth: controls
// write traits, the view repaints from traits. Opacity and colormap repaint locally at once and
// send nothing to the kernel (they reach Python with the next update that goes there anyway);
// everything else goes to the kernel, which answers with a new heatmap.
import "./widget.css";
import { HeatmapCanvas } from "./canvas.js";
import { ClassPanel } from "./classes.js";
import { bytesOf } from "./colormap.js";
import { checkbox, el, labelled, select, slider } from "./controls.js";
import { patchAt } from "./hit.js";
import { ScoresPanel } from "./scores.js";

const METHOD_LABELS = {
  gradcam: "GradCAM",
  "gradcam++": "GradCAM++",
  integrated_gradients: "Integrated Gradients",
  attention_rollout: "Attention rollout",
  attention_flow: "Attention flow",
};
const CAM_METHODS = new Set(["gradcam", "gradcam++"]);
const SMOOTHABLE = new Set(["gradcam", "gradcam++", "integrated_gradients"]);
const ATTENTION = new Set(["attention_rollout", "attention_flow"]);

/** True when a heatmap was computed for the state the model holds now. */
export function heatmapMatches(model, heatmap) {
  if (!heatmap?.state) return false;
  return Object.entries(heatmap.state).every(([key, value]) => model.get(key) === value);
}

function render({ model, el: host }) {
  const doc = host.ownerDocument;
  const listeners = [];
  const on = (event, fn) => {
    model.on(event, fn);
    listeners.push([event, fn]);
  };
  const save = (values) => {
    for (const [key, value] of Object.entries(values)) model.set(key, value);
    model.save_changes();
  };

  // -- picture -------------------------------------------------------------------------
  const picture = new HeatmapCanvas(doc);
  picture.setImage(model.get("_image"));
  const tables = {};
  const table = (name) => (tables[name] ??= bytesOf(model.get("_colormaps")[name]));
  let shownHeat = null;
  const repaint = () => {
    const patch = model.get("method") === "attention_flow" ? model.get("target_patch") : null;
    picture.paint(table(model.get("colormap")), model.get("opacity"), patch, model.get("_grid"));
  };
  const takeHeatmap = () => {
    const heatmap = model.get("_heatmap");
    if (heatmap && heatmap !== shownHeat && heatmapMatches(model, heatmap)) {
      shownHeat = heatmap;
      picture.setHeat(bytesOf(heatmap.data));
      repaint();
      picture.canvas.dataset.heatPaints = String(Number(picture.canvas.dataset.heatPaints || 0) + 1);
    }
  };
  picture.canvas.addEventListener("click", (event) => {
    if (model.get("method") !== "attention_flow") return;
    const { x, y } = picture.eventPoint(event);
    const token = patchAt(x, y, picture.canvas.width, picture.canvas.height, model.get("_grid"));
    if (token != null) save({ target_patch: token });
  });

  // -- controls ------------------------------------------------------------------------
  const method = select(
    doc,
    "atw-method",
    model.get("_methods").map((m) => [m, METHOD_LABELS[m] ?? m]),
  );
  const layer = select(doc, "atw-layer", [
    ["", "auto"],
    ...model.get("_layers").map((l) => [l.name, `${l.name} (${l.shape.join("×")})`]),
  ]);
  const smooth = checkbox(doc, "atw-smoothgrad");
  const noise = slider(doc, "atw-noise", { min: 0, max: 1, step: 0.01 });
  const samples = slider(doc, "atw-samples", { min: 1, max: 200, step: 1 });
  const steps = slider(doc, "atw-steps", { min: 1, max: 200, step: 1 });
  const baseline = select(
    doc,
    "atw-baseline",
    ["black", "white", "blur", "random"].map((b) => [b, b]),
  );
  const fusion = select(
    doc,
    "atw-head-fusion",
    ["mean", "max", "min"].map((f) => [f, f]),
  );
  const discard = slider(doc, "atw-discard", { min: 0, max: 0.99, step: 0.01 });
  const opacity = slider(doc, "atw-opacity", { min: 0, max: 1, step: 0.01 });
  const colormap = select(
    doc,
    "atw-colormap",
    Object.keys(model.get("_colormaps")).map((c) => [c, c]),
  );
  const exportButton = el(doc, "button", {
    testid: "atw-export",
    type: "button",
    className: "atw-button",
    text: "Export PNG",
  });

  const sliderValue = (name, digits) => {
    const label = el(doc, "span", { className: "atw-value" });
    const show = () => (label.textContent = Number(model.get(name)).toFixed(digits));
    return { label, show };
  };
  const fields = {
    noise: sliderValue("noise_level", 2),
    samples: sliderValue("num_samples", 0),
    steps: sliderValue("steps", 0),
    discard: sliderValue("discard_ratio", 2),
    opacity: sliderValue("opacity", 2),
  };
  const withValue = (text, node, field) =>
    labelled(doc, text, el(doc, "span", { className: "atw-slider-row" }, [node, field.label]));

  const rows = {
    layer: labelled(doc, "Layer", layer),
    smooth: labelled(doc, "SmoothGrad", smooth),
    noise: withValue("Noise", noise, fields.noise),
    samples: withValue("Samples", samples, fields.samples),
    steps: withValue("Steps", steps, fields.steps),
    baseline: labelled(doc, "Baseline", baseline),
    fusion: labelled(doc, "Head fusion", fusion),
    discard: withValue("Discard", discard, fields.discard),
  };
  const status = el(doc, "div", { testid: "atw-status", className: "atw-status" });
  const statusText = el(doc, "span", { className: "atw-status-text" });
  const progressBar = el(doc, "span", { className: "atw-progress" });
  status.append(statusText, el(doc, "span", { className: "atw-progress-track" }, [progressBar]));
  const errorBox = el(doc, "div", { testid: "atw-error", className: "atw-error" });
  const hint = el(doc, "div", { className: "atw-hint", text: "Click a patch to move the flow source." });

  const scores = new ScoresPanel(doc, () => model.send({ type: "scores" }));
  const renderScores = () => {
    const value = model.get("_scores");
    scores.render(value, heatmapMatches(model, value));
  };
  const classes = new ClassPanel(doc, (index) => save({ target_class: index }));
  classes.search.addEventListener("input", () => renderClasses());
  const renderClasses = () =>
    classes.render(model.get("_classes"), model.get("_top_classes"), model.get("target_class"));

  const controls = el(doc, "div", { className: "atw-controls" }, [
    labelled(doc, "Method", method),
    ...Object.values(rows),
    withValue("Opacity", opacity, fields.opacity),
    labelled(doc, "Colormap", colormap),
    exportButton,
    scores.root,
  ]);
  const root = el(doc, "div", { testid: "atw-root", className: "atw-root" }, [
    el(doc, "div", { className: "atw-picture" }, [picture.canvas, hint, status, errorBox]),
    el(doc, "div", { className: "atw-side" }, [classes.root, controls]),
  ]);
  host.append(root);

  // -- control -> trait ------------------------------------------------------------------
  method.addEventListener("change", () => save({ method: method.value }));
  layer.addEventListener("change", () => save({ layer: layer.value }));
  smooth.addEventListener("change", () => save({ smoothgrad: smooth.checked }));
  baseline.addEventListener("change", () => save({ baseline: baseline.value }));
  fusion.addEventListener("change", () => save({ head_fusion: fusion.value }));
  // View-only: set locally (repaints through the change event), no message to the kernel.
  colormap.addEventListener("change", () => model.set("colormap", colormap.value));
  // Sliders reach the kernel on release ("change"); opacity only repaints, while dragging.
  for (const [node, name, parse] of [
    [noise, "noise_level", Number],
    [samples, "num_samples", (v) => Math.round(Number(v))],
    [steps, "steps", (v) => Math.round(Number(v))],
    [discard, "discard_ratio", Number],
  ]) {
    node.addEventListener("change", () => save({ [name]: parse(node.value) }));
  }
  opacity.addEventListener("input", () => model.set("opacity", Number(opacity.value)));
  exportButton.addEventListener("click", () => exportPng(doc, picture.canvas));

  // -- trait -> view -------------------------------------------------------------------
  const syncControls = () => {
    const m = model.get("method");
    method.value = m;
    layer.value = model.get("layer");
    smooth.checked = model.get("smoothgrad");
    noise.value = String(model.get("noise_level"));
    samples.value = String(model.get("num_samples"));
    steps.value = String(model.get("steps"));
    baseline.value = model.get("baseline");
    fusion.value = model.get("head_fusion");
    discard.value = String(model.get("discard_ratio"));
    opacity.value = String(model.get("opacity"));
    colormap.value = model.get("colormap");
    for (const field of Object.values(fields)) field.show();
    const smoothOn = SMOOTHABLE.has(m) && model.get("smoothgrad");
    rows.layer.hidden = !CAM_METHODS.has(m);
    rows.smooth.hidden = !SMOOTHABLE.has(m);
    rows.noise.hidden = rows.samples.hidden = !smoothOn;
    rows.steps.hidden = rows.baseline.hidden = m !== "integrated_gradients";
    rows.fusion.hidden = rows.discard.hidden = !ATTENTION.has(m);
    hint.hidden = m !== "attention_flow";
    picture.canvas.classList.toggle("atw-clickable", m === "attention_flow");
  };
  const syncStatus = () => {
    const state = model.get("status");
    status.dataset.state = state;
    const pct = Math.round(100 * model.get("progress"));
    statusText.textContent = state === "computing" ? `computing… ${pct}%` : state === "error" ? "error" : "ready";
    progressBar.style.width = state === "computing" ? `${pct}%` : "0%";
    errorBox.textContent = model.get("error");
    errorBox.hidden = !model.get("error");
  };
  const computeFields = [
    "method",
    "target_class",
    "layer",
    "smoothgrad",
    "noise_level",
    "num_samples",
    "steps",
    "baseline",
    "head_fusion",
    "discard_ratio",
    "target_patch",
  ];
  for (const name of computeFields)
    on(`change:${name}`, () => {
      syncControls();
      takeHeatmap();
      renderScores();
    });
  on("change:_scores", renderScores);
  on("change:target_class", renderClasses);
  on("change:_top_classes", renderClasses);
  on("change:target_patch", repaint);
  on("change:method", repaint);
  on("change:opacity", () => {
    fields.opacity.show();
    opacity.value = String(model.get("opacity"));
    repaint();
  });
  on("change:colormap", () => {
    colormap.value = model.get("colormap");
    repaint();
  });
  on("change:_heatmap", takeHeatmap);
  for (const name of ["status", "progress", "error"]) on(`change:${name}`, syncStatus);

  syncControls();
  syncStatus();
  renderClasses();
  renderScores();
  repaint();
  takeHeatmap();

  return () => {
    for (const [event, fn] of listeners) model.off(event, fn);
    root.remove();
  };
}

function exportPng(doc, canvas) {
  canvas.toBlob((blob) => {
    const link = doc.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "explanation.png";
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }, "image/png");
}

export default { render };
