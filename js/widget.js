// ExplainerWidget front end (anywidget ESM). Traits are the single source of truth: controls
// write traits, the view repaints from traits. Opacity and colormap repaint locally at once and
// send nothing to the kernel (they reach Python with the next update that goes there anyway);
// everything else goes to the kernel, which answers with a new heatmap.
import "./widget.css";
import { HeatmapCanvas } from "./canvas.js";
import { captionFor } from "./caption.js";
import { ClassPanel } from "./classes.js";
import { ColorBar } from "./colorbar.js";
import { bytesOf } from "./colormap.js";
import { CompareGrid } from "./compare.js";
import { el, labelled } from "./controls.js";
import { downloadPng, legendCanvas } from "./exporter.js";
import { patchAt } from "./hit.js";
import { LocalMaps } from "./local.js";
import { ControlPanel } from "./panel.js";
import { ScoresPanel } from "./scores.js";
import { StatusBar } from "./status.js";

const SCALE = ["0", "1"]; // the maps are normalised to [0, 1] (as in legend.py)

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
  let restarted = false;
  const colorbar = new ColorBar(doc, el, SCALE);
  const caption = el(doc, "div", { testid: "atw-caption", className: "atw-caption" });
  const describe = () =>
    captionFor({
      status: model.get("status"),
      progress: model.get("progress"),
      error: model.get("error"),
      heatmap: shownHeat,
      matches: heatmapMatches(model, shownHeat),
      methodLabel: panel.describe(model.get("method")).label,
    });
  const repaint = () => {
    const patch = fromPatch() ? model.get("target_patch") : null;
    const { blank } = describe();
    picture.setHeat(blank || !shownHeat ? null : bytesOf(shownHeat.data));
    picture.paint(table(model.get("colormap")), model.get("opacity"), patch, model.get("_grid"));
    colorbar.paint(model.get("colormap"), table(model.get("colormap")));
  };
  // The caption, the stale marking and Export follow the state, the map shown and the status.
  const syncCaption = () => {
    const { text, stale, blank } = describe();
    caption.textContent = text;
    picture.canvas.setAttribute("aria-label", text);
    root.dataset.stale = String(stale || restarted);
    root.dataset.blank = String(blank);
    panel.exportButton.disabled = stale || restarted;
  };
  // A class switch or a patch click: the map made here at once, when the kernel sent what it needs.
  const locals = new LocalMaps(model);
  const takeLocal = () => {
    const local = locals.current();
    if (local && !heatmapMatches(model, shownHeat)) {
      shownHeat = local;
      repaint();
      picture.canvas.dataset.heatPaints = String(Number(picture.canvas.dataset.heatPaints || 0) + 1);
      picture.canvas.dataset.localPaints = String(Number(picture.canvas.dataset.localPaints || 0) + 1);
    }
    syncCaption();
  };
  const takeHeatmap = () => {
    const heatmap = model.get("_heatmap");
    if (heatmap && heatmap !== shownHeat && heatmapMatches(model, heatmap)) {
      shownHeat = heatmap;
      repaint();
      picture.canvas.dataset.heatPaints = String(Number(picture.canvas.dataset.heatPaints || 0) + 1);
    }
    syncCaption();
  };
  picture.canvas.addEventListener("click", (event) => {
    if (!fromPatch()) return;
    const { x, y } = picture.eventPoint(event);
    const token = patchAt(x, y, picture.canvas.width, picture.canvas.height, model.get("_grid"));
    if (token != null) {
      save({ target_patch: token });
      takeLocal();
    }
  });

  // -- panels --------------------------------------------------------------------------
  // View-only values (opacity, colormap) are set locally: they repaint through their change
  // events and send nothing to the kernel.
  const panel = new ControlPanel(doc, schema, model.get("_layers"), {
    save,
    local: (name, value) => model.set(name, value),
    exportPng: () => {
      const lut = table(model.get("colormap"));
      downloadPng(doc, legendCanvas(doc, picture.canvas, lut, SCALE, caption.textContent), shownHeat.file);
    },
  });
  const status = new StatusBar(doc, {
    cancel: () => model.send({ type: "cancel" }),
    compute: () => model.send({ type: "compute" }),
  });
  const hint = el(doc, "div", { className: "atw-hint", text: "Click a patch to move the flow source." });
  const scores = new ScoresPanel(doc, () => model.send({ type: "scores" }));
  const renderScores = () => {
    const value = model.get("_scores");
    scores.render(value, heatmapMatches(model, value));
  };
  const classes = new ClassPanel(doc, (index) => {
    save({ target_class: index });
    takeLocal();
  });
  classes.search.addEventListener("input", () => renderClasses());
  const renderClasses = () => {
    const names = model.get("_classes");
    classes.renderSummary(model.get("_top_classes"), model.get("_label"));
    classes.render(names, model.get("_top_classes"), model.get("target_class"), model.get("_label"));
  };

  const compare = new CompareGrid(doc, {
    onPick: (field, value) => {
      save({ [field]: value });
      takeLocal();
    },
    onAxis: (axis) => save({ compare: axis }),
  });
  const image = model.get("_image");
  const renderCompare = () =>
    compare.render(
      model.get("_compare"),
      { rgba: picture.image, width: image.width, height: image.height },
      table(model.get("colormap")),
      model.get("opacity"),
      model.get(model.get("_compare")?.field ?? "method"),
    );
  panel.root.append(labelled(doc, "Compare", compare.menu));

  const root = el(doc, "div", { testid: "atw-root", className: "atw-root" }, [
    el(doc, "div", { className: "atw-picture" }, [
      picture.canvas,
      colorbar.root,
      caption,
      hint,
      status.root,
      status.errorBox,
    ]),
    el(doc, "div", { className: "atw-side" }, [classes.root, panel.root, scores.root]),
    compare.grid,
  ]);
  picture.canvas.setAttribute("role", "img");
  picture.canvas.style.maxWidth = `${Math.max(240, picture.canvas.width)}px`;
  host.append(root);

  // -- trait -> view -------------------------------------------------------------------
  const syncControls = () => {
    panel.sync(model);
    const method = panel.describe(model.get("method"));
    hint.hidden = !fromPatch();
    picture.canvas.classList.toggle("atw-clickable", fromPatch());
    classes.setIgnored(
      method.class_specific ? "" : `${method.label} ignores the class: its map is the same for every class.`,
    );
  };
  const syncStatus = () => {
    status.render(model.get("status"), model.get("progress"), model.get("error"), restarted);
    repaint();
    syncCaption();
  };
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
  on("change:_compare", renderCompare);
  for (const name of ["compare", "colormap", "opacity", "method", "layer", "target_class"])
    on(`change:${name}`, renderCompare);
  for (const name of ["status", "progress", "error"]) on(`change:${name}`, syncStatus);
  // The widget manager marks every model disconnected when the kernel restarts or dies.
  on("comm_live_update", () => {
    restarted = true;
    syncStatus();
  });
  // Keys pressed in the widget are the widget's: the notebook would move or edit cells.
  root.addEventListener("keydown", (event) => {
    if (event.key.startsWith("Arrow") || ["Home", "End", "PageUp", "PageDown"].includes(event.key))
      event.stopPropagation();
  });

  syncControls();
  syncStatus();
  renderClasses();
  renderScores();
  takeHeatmap();
  renderCompare();

  return () => {
    for (const [event, fn] of listeners) model.off(event, fn);
    root.remove();
  };
}

export default { render };
