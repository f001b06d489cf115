// Polls a running report's status (URL in data-status-url) and reloads the page when it ends.
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
        const bar = document.getElementById("run-progress");
        if (bar) bar.value = s.progress;
        document.getElementById("run-stage").textContent = s.stage;
        if (s.status === "done" || s.status === "failed") location.reload();
        else setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  })();
})();
