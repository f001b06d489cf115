// Polls a running judge run's status (URL in data-status-url), fills the [data-count] cells,
// and reloads the page when the run ends. A file, not an inline script: the CSP allows
// scripts from 'self' only.
(function () {
  "use strict";
  const holder = document.querySelector("[data-status-url]");
  if (!holder) return;
  const url = holder.dataset.statusUrl;
  (function poll() {
    fetch(url, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        document.getElementById("run-status").textContent = s.status;
        for (const el of document.querySelectorAll("[data-count]")) {
          const v = s[el.dataset.count];
          el.textContent = el.dataset.count === "cost" ? v.toFixed(4) : v;
        }
        if (s.status === "pending" || s.status === "running") setTimeout(poll, 1500);
        else location.reload();
      })
      .catch(function () { setTimeout(poll, 5000); });
  })();
})();
