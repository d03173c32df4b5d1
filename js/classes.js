// The class panel: the predicted and true class, the top-k classes with probabilities, and a
// search over every class name. Arrow keys move between the listed classes and stay in the widget.
import { el } from "./controls.js";

/** Classes matching `query` by index (exact) or name (case-insensitive substring), at most `limit`. */
export function searchClasses(names, query, limit = 20) {
  const text = query.trim().toLowerCase();
  if (!text) return [];
  const found = [];
  if (/^\d+$/.test(text) && Number(text) < names.length) found.push(Number(text));
  for (let i = 0; i < names.length && found.length < limit; i++) {
    if (i !== found[0] && names[i].toLowerCase().includes(text)) found.push(i);
  }
  return found.slice(0, limit);
}

/** The index of the row focus moves to from `current` (-1: none) on `key` among `count` rows, or null. */
export function nextRow(key, current, count) {
  if (!count) return null;
  if (key === "ArrowDown") return current < 0 ? 0 : Math.min(count - 1, current + 1);
  if (key === "ArrowUp") return current < 0 ? count - 1 : Math.max(0, current - 1);
  if (key === "Home") return 0;
  if (key === "End") return count - 1;
  return null;
}

export class ClassPanel {
  constructor(doc, onPick) {
    this.doc = doc;
    this.onPick = onPick;
    this.search = el(doc, "input", {
      testid: "atw-class-search",
      type: "search",
      placeholder: "Search classes…",
      className: "atw-search",
    });
    this.summary = el(doc, "div", { testid: "atw-summary", className: "atw-class-summary" });
    this.note = el(doc, "div", { testid: "atw-ignored-note", className: "atw-class-note" });
    this.note.hidden = true;
    this.list = el(doc, "div", { className: "atw-class-list", role: "listbox" });
    this.root = el(doc, "div", { className: "atw-classes" }, [this.summary, this.note, this.search, this.list]);
    this.search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        const first = this.list.querySelector("button");
        if (first) first.click();
      } else if (event.key === "ArrowDown") {
        this.list.querySelector("button")?.focus();
        event.preventDefault();
      }
    });
    this.list.addEventListener("keydown", (event) => {
      const rows = [...this.list.querySelectorAll("button")];
      const to = nextRow(event.key, rows.indexOf(doc.activeElement), rows.length);
      if (to == null) return;
      rows[to].focus();
      event.preventDefault();
      event.stopPropagation(); // the notebook would move to another cell
    });
  }

  /** The predicted class (first of `top`) and the true class `label` ({index, name} or {}). */
  renderSummary(top, label) {
    const best = top[0];
    const parts = [
      el(this.doc, "span", {
        testid: "atw-predicted",
        className: "atw-predicted",
        text: `predicted ${best.index}: ${best.name} (${(100 * best.probability).toFixed(1)}%)`,
      }),
    ];
    if (label && label.index != null) {
      const right = label.index === best.index;
      const node = el(this.doc, "span", {
        testid: "atw-label",
        className: `atw-true ${right ? "atw-right" : "atw-wrong"}`,
        text: `true ${label.index}: ${label.name}${right ? " ✓" : " ✗"}`,
      });
      node.dataset.correct = String(right);
      parts.push(node);
    }
    this.summary.replaceChildren(...parts);
  }

  /** Dim the panel with `note` when the method ignores the class ("" when it does not). */
  setIgnored(note) {
    this.root.classList.toggle("atw-dimmed", Boolean(note));
    this.root.dataset.ignored = String(Boolean(note));
    this.note.textContent = note;
    this.note.hidden = !note;
  }

  render(names, top, selected, label) {
    const query = this.search.value;
    const probability = new Map(top.map((c) => [c.index, c.probability]));
    const indices = query.trim() ? searchClasses(names, query) : top.map((c) => c.index);
    const rows = indices.map((index) => {
      const p = probability.get(index);
      const bar = el(this.doc, "span", { className: "atw-bar" });
      bar.style.width = p == null ? "0%" : `${(100 * p).toFixed(1)}%`;
      const button = el(
        this.doc,
        "button",
        { testid: `atw-class-${index}`, className: "atw-class", type: "button", title: names[index] },
        [
          el(this.doc, "span", { className: "atw-class-name", text: `${index}: ${names[index]}` }),
          el(this.doc, "span", { className: "atw-class-prob", text: p == null ? "" : `${(100 * p).toFixed(1)}%` }),
          bar,
        ],
      );
      if (index === selected) button.classList.add("atw-selected");
      if (label && index === label.index) button.classList.add("atw-true-class");
      button.setAttribute("role", "option");
      button.setAttribute("aria-selected", String(index === selected));
      button.addEventListener("click", () => this.onPick(index));
      return button;
    });
    if (!rows.length) rows.push(el(this.doc, "div", { className: "atw-empty", text: "No class matches." }));
    const focused = this.list.contains(this.doc.activeElement) ? this.doc.activeElement.dataset.testid : null;
    this.list.replaceChildren(...rows);
    if (focused) this.list.querySelector(`[data-testid="${focused}"]`)?.focus(); // keep the keyboard's place
  }
}
