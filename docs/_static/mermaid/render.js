// Draws every ```mermaid block of the page as an SVG with the copy of mermaid shipped beside
// this file: no network needed. A classic script, not an ES module, because browsers refuse
// module imports from a site opened from disk (file://), the way students often open it.
document.addEventListener("DOMContentLoaded", () => {
  const theme = document.body.dataset.theme;  // furo: "light", "dark" or "auto"
  const dark = theme === "dark" ||
    (theme !== "light" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  mermaid.initialize({ startOnLoad: false, theme: dark ? "dark" : "default" });
  mermaid.run({ querySelector: "pre.mermaid" });
});
