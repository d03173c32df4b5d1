// The status bar under the picture: ready / computing with progress / error, and the error text.
import { el } from "./controls.js";

export class StatusBar {
  constructor(doc) {
    this.text = el(doc, "span", { className: "atw-status-text" });
    this.bar = el(doc, "span", { className: "atw-progress" });
    this.root = el(doc, "div", { testid: "atw-status", className: "atw-status" }, [
      this.text,
      el(doc, "span", { className: "atw-progress-track" }, [this.bar]),
    ]);
    this.errorBox = el(doc, "div", { testid: "atw-error", className: "atw-error" });
  }

  /** Show `state` ("idle", "computing", "error"), `progress` in [0, 1] and `error` text. */
  render(state, progress, error) {
    this.root.dataset.state = state;
    const pct = Math.round(100 * progress);
    this.text.textContent = state === "computing" ? `computing… ${pct}%` : state === "error" ? "error" : "ready";
    this.bar.style.width = state === "computing" ? `${pct}%` : "0%";
    this.errorBox.textContent = error;
    this.errorBox.hidden = !error;
  }
}
