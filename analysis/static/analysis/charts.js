// Renders the report's charts: each <figure data-chart="ID"> gets the Vega-Lite spec kept in
// the <script type="application/json" id="ID"> next to it (Django's json_script). No inline
// code and no eval: vega-embed's `ast: true` uses the bundled expression interpreter, so the
// page works under a Content-Security-Policy without 'unsafe-inline' or 'unsafe-eval'.
(function () {
  "use strict";
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
    const source = document.getElementById(figure.dataset.chart);
    const target = figure.querySelector(".chart");
    if (!source || !target || typeof vegaEmbed !== "function") return;
    const spec = JSON.parse(source.textContent);
    vegaEmbed(target, spec, {
      ast: true,
      renderer: "svg",
      theme: dark ? "dark" : undefined,
      downloadFileName: figure.dataset.name || "chart",
      loader: {target: "_self"},
      actions: {export: true, source: false, compiled: false, editor: false},
    }).then(function (result) {
      figure.classList.add("rendered");
      if (dark) result.view.background("transparent").run();
    }).catch(function (error) {
      target.textContent = "This chart could not be drawn: " + error.message;
    });
  });
})();
