// The lead's item page: maths (vendored KaTeX), and j/n and k/p to walk the list the page was
// opened from (the links carry its filters). Keys typed into a field are left alone.
(function () {
  "use strict";

  // The server marks maths (annotations/annotate/markdown.py): each span.math holds its TeX.
  function renderMath() {
    if (!window.katex) return;
    document.querySelectorAll(".review span.math").forEach(function (el) {
      window.katex.render(el.textContent, el, {
        displayMode: el.classList.contains("display"),
        throwOnError: false,
        trust: false,
        strict: "ignore",
      });
    });
  }

  function follow(id) {
    const link = document.getElementById(id);
    if (link) window.location.assign(link.href);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (event.key === "j" || event.key === "n") follow("next-target");
    else if (event.key === "k" || event.key === "p") follow("previous-target");
  });

  renderMath();
  // Opened from the list: bring the first marked step into view (a #step- anchor wins).
  if (!window.location.hash) {
    const marked = document.querySelector(".review-step.marked");
    if (marked) marked.scrollIntoView({ block: "start" });
  }
})();
