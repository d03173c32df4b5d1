// The class panel: top-k classes with probabilities, and a search over every class name.
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
    this.list = el(doc, "div", { className: "atw-class-list", role: "listbox" });
    this.root = el(doc, "div", { className: "atw-classes" }, [this.search, this.list]);
    this.search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        const first = this.list.querySelector("button");
        if (first) first.click();
      }
    });
  }

  render(names, top, selected) {
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
      button.addEventListener("click", () => this.onPick(index));
      return button;
    });
    if (!rows.length) rows.push(el(this.doc, "div", { className: "atw-empty", text: "No class matches." }));
    this.list.replaceChildren(...rows);
  }
}
