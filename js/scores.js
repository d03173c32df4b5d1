// The scores panel: deletion and insertion AUC of the current map, with a small curve.
import { el } from "./controls.js";

const SVG = "http://www.w3.org/2000/svg";

/**
 * SVG polyline points for `values` over `fractions` (0..1) in a width x height box; `top` is the
 * score at the top of the box (by default the curve's own maximum; curves drawn together share one).
 */
export function curvePoints(fractions, values, width, height, top = Math.max(1e-12, ...values)) {
  return fractions
    .map((f, i) => `${(f * width).toFixed(1)},${(height - (values[i] / top) * height).toFixed(1)}`)
    .join(" ");
}

export class ScoresPanel {
  constructor(doc, onAsk) {
    this.doc = doc;
    this.button = el(doc, "button", { testid: "atw-scores", type: "button", className: "atw-button", text: "Scores" });
    this.button.addEventListener("click", onAsk);
    this.text = el(doc, "div", { testid: "atw-scores-result", className: "atw-scores-text" });
    this.chart = doc.createElementNS(SVG, "svg");
    this.chart.setAttribute("class", "atw-scores-chart");
    this.chart.setAttribute("viewBox", "0 0 160 60");
    this.root = el(doc, "div", { className: "atw-scores" }, [this.button, this.text, this.chart]);
  }

  /** Show `scores` when they belong to the current state, else an invitation to compute them. */
  render(scores, current) {
    this.chart.replaceChildren();
    if (!current) {
      this.text.textContent = "Deletion / insertion AUC: click Scores.";
      this.text.dataset.state = "none";
      return;
    }
    this.text.dataset.state = "shown";
    this.text.textContent =
      `deletion AUC ${scores.deletion_auc.toFixed(3)} (lower is better) · ` +
      `insertion AUC ${scores.insertion_auc.toFixed(3)} (higher is better)`;
    const top = Math.max(1e-12, ...scores.deletion_curve, ...scores.insertion_curve); // one scale for both
    for (const [values, cls] of [
      [scores.deletion_curve, "atw-curve-deletion"],
      [scores.insertion_curve, "atw-curve-insertion"],
    ]) {
      const line = this.doc.createElementNS(SVG, "polyline");
      line.setAttribute("points", curvePoints(scores.fractions, values, 160, 60, top));
      line.setAttribute("class", cls);
      this.chart.append(line);
    }
  }
}
