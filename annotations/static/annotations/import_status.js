// Polls an import job's status (URL in data-status-url); reloads once it has finished so the
// counts or errors show. A file, not an inline script: the CSP allows scripts from 'self' only.
(function () {
  "use strict";
  const holder = document.querySelector("[data-status-url]");
  if (!holder) return;
  const url = holder.dataset.statusUrl;
  (function poll() {
    fetch(url, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        document.getElementById("job-status").textContent = s.status;
        document.getElementById("job-progress").textContent = s.lines_done;
        if (s.status === "done" || s.status === "failed") location.reload();
        else setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  })();
})();
