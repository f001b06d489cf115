// Polls each pending or running export's status (URL in its row's data-status-url), shows the
// rows written, and reloads once one has finished so its download link or error shows. A file,
// not an inline script: the CSP allows scripts from 'self' only.
(function () {
  "use strict";
  document.querySelectorAll("tr[data-status-url]").forEach(function (row) {
    const url = row.dataset.statusUrl;
    (function poll() {
      fetch(url, {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (s) {
          row.querySelector("[data-field=status]").textContent = s.status;
          row.querySelector("[data-field=rows_done]").textContent = s.rows_done;
          if (s.rows_total) row.querySelector("[data-field=rows_total]").textContent = s.rows_total;
          if (s.status === "done" || s.status === "failed") location.reload();
          else setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    })();
  });
})();
