// The status bar under the picture: ready / computing with progress / cancelled / error, the
// error text, a Cancel button while a map computes and Compute after a cancel.
import { el } from "./controls.js";

export class StatusBar {
  constructor(doc, { cancel, compute }) {
    this.text = el(doc, "span", { className: "atw-status-text" });
    this.bar = el(doc, "span", { className: "atw-progress" });
    this.cancel = el(doc, "button", { testid: "atw-cancel", type: "button", className: "atw-button", text: "Cancel" });
    this.cancel.addEventListener("click", cancel);
    this.compute = el(doc, "button", {
      testid: "atw-compute",
      type: "button",
      className: "atw-button",
      text: "Compute",
    });
    this.compute.addEventListener("click", compute);
    this.root = el(doc, "div", { testid: "atw-status", className: "atw-status" }, [
      this.text,
      el(doc, "span", { className: "atw-progress-track" }, [this.bar]),
      this.cancel,
      this.compute,
    ]);
    this.errorBox = el(doc, "div", { testid: "atw-error", className: "atw-error" });
  }

  /** Show `state` ("idle", "computing", "cancelled", "error"), `progress` in [0, 1] and `error` text. */
  render(state, progress, error, restarted) {
    this.root.dataset.state = restarted ? "restarted" : state;
    const pct = Math.round(100 * progress);
    const words = { computing: `computing… ${pct}%`, error: "error", cancelled: "cancelled", idle: "ready" };
    this.text.textContent = restarted ? "kernel restarted" : (words[state] ?? state);
    this.bar.style.width = state === "computing" && !restarted ? `${pct}%` : "0%";
    this.cancel.hidden = restarted || state !== "computing";
    this.compute.hidden = restarted || state !== "cancelled";
    const message = restarted
      ? "The kernel restarted: this widget is no longer connected. Re-run its cell to explore again."
      : error;
    this.errorBox.textContent = message;
    this.errorBox.hidden = !message;
  }
}
