// Entry point of the ExplainerWidget front end (anywidget ESM).
// The full view is built by the widget issue; this keeps the build pipeline honest.
function render({ model, el }) {
  const root = document.createElement("div");
  root.dataset.testid = "atw-root";
  root.textContent = "autotimm-widgets";
  el.appendChild(root);
  return () => root.remove();
}

export default { render };
