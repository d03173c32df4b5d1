// ExplainerWidget front end (anywidget ESM). Traits are the single source of truth: controls
// write traits, the view repaints from traits. Opacity and colormap repaint locally at once and
// send nothing to the kernel (they reach Python with the next update that goes there anyway);
// everything else goes to the kernel, which answers with a new heatmap.
import "./widget.css";
import { HeatmapCanvas } from "./canvas.js";
import { ClassPanel } from "./classes.js";
import { bytesOf } from "./colormap.js";
import { el } from "./controls.js";
import { patchAt } from "./hit.js";
import { ControlPanel } from "./panel.js";
import { ScoresPanel } from "./scores.js";
import { StatusBar } from "./status.js";

/** True when a heatmap was computed for the state the model holds now. */
export function heatmapMatches(model, heatmap) {
  if (!heatmap?.state) return false;
  return Object.entries(heatmap.state).every(([key, value]) => model.get(key) === value);
}

function render({ model, el: host }) {
  const doc = host.ownerDocument;
  const schema = model.get("_schema");
  const listeners = [];
  const on = (event, fn) => {
    model.on(event, fn);
    listeners.push([event, fn]);
  };
  const save = (values) => {
    for (const [key, value] of Object.entries(values)) model.set(key, value);
    model.save_changes();
  };
  const fromPatch = () => panel.describe(model.get("method")).takes_patch;

  // -- picture -------------------------------------------------------------------------
  const picture = new HeatmapCanvas(doc);
  picture.setImage(model.get("_image"));
  const tables = {};
  const table = (name) => (tables[name] ??= bytesOf(model.get("_colormaps")[name]));
  let shownHeat = null;
  const repaint = () => {
    const patch = fromPatch() ? model.get("target_patch") : null;
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
    if (!fromPatch()) return;
    const { x, y } = picture.eventPoint(event);
    const token = patchAt(x, y, picture.canvas.width, picture.canvas.height, model.get("_grid"));
    if (token != null) save({ target_patch: token });
  });

  // -- panels --------------------------------------------------------------------------
  // View-only values (opacity, colormap) are set locally: they repaint through their change
  // events and send nothing to the kernel.
  const panel = new ControlPanel(doc, schema, model.get("_layers"), {
    save,
    local: (name, value) => model.set(name, value),
    exportPng: () => exportPng(doc, picture.canvas),
  });
  const status = new StatusBar(doc);
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

  const root = el(doc, "div", { testid: "atw-root", className: "atw-root" }, [
    el(doc, "div", { className: "atw-picture" }, [picture.canvas, hint, status.root, status.errorBox]),
    el(doc, "div", { className: "atw-side" }, [classes.root, panel.root, scores.root]),
  ]);
  host.append(root);

  // -- trait -> view -------------------------------------------------------------------
  const syncControls = () => {
    panel.sync(model);
    hint.hidden = !fromPatch();
    picture.canvas.classList.toggle("atw-clickable", fromPatch());
  };
  const syncStatus = () => status.render(model.get("status"), model.get("progress"), model.get("error"));
  for (const name of schema.fields)
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
  for (const name of Object.keys(schema.view))
    on(`change:${name}`, () => {
      syncControls();
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
