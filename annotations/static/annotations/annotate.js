// The annotator's item page: LaTeX, keyboard, drafts that survive a reload, time on task, and
// a submit that never loses the form and never records twice (the server keys a submission by
// its id; the id changes only when the answers do).
(function () {
  "use strict";

  // ---- LaTeX (also on the guidelines page) -----------------------------------------------
  // The server marks maths (annotations/annotate/markdown.py): each span.math holds its TeX as
  // text; nothing here looks for delimiters.
  function renderMath() {
    if (!window.katex) return;
    document.querySelectorAll("span.math").forEach(function (el) {
      window.katex.render(el.textContent, el, {
        displayMode: el.classList.contains("display"),
        throwOnError: false,
        trust: false,
        strict: "ignore",
      });
    });
  }

  const form = document.getElementById("item-form");
  const configNode = document.getElementById("annotate-config");
  if (!form || !configNode) {
    renderMath();
    return;
  }
  document.addEventListener("pointerdown", function () {
    arrowMove = false;
  });
  const config = JSON.parse(configNode.textContent);
  const draftKey = "judgeapp:draft:v1:" + config.userId + ":" + config.itemId;
  const groups = Array.from(form.querySelectorAll("[data-group]"));
  const submitButton = document.getElementById("submit-button");
  const errorsBox = document.getElementById("form-errors");
  const draftStatus = document.getElementById("draft-status");
  const rationale = document.getElementById("rationale");
  const sidInput = form.elements.namedItem("submission_id");
  const timeInput = form.elements.namedItem("time_spent_ms");
  const baseInput = form.elements.namedItem("base_submission_id");
  const overwriteInput = form.elements.namedItem("overwrite");
  let current = 0;
  let sending = false;
  let submitted = false; // stored: the page is leaving, keep no draft of it
  // The submit button got focus because every answer was given (not because the annotator
  // moved there): keys still change the question answered last, the last key wins.
  let autoSubmitFocus = false;
  let keyPicked = false; // a number key picked the label and moves focus itself
  let arrowMove = false; // ←/→ change a radio natively: stay on the group

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ---- time on task: only while the page is visible ---------------------------------------
  let elapsed = 0;
  let since = document.visibilityState === "visible" ? performance.now() : null;
  function timeSpent() {
    return Math.round(elapsed + (since === null ? 0 : performance.now() - since));
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      since = performance.now();
    } else {
      elapsed = timeSpent();
      since = null;
      saveDraft();
    }
  });

  // ---- values -----------------------------------------------------------------------------
  function groupValue(group) {
    const checked = group.querySelector("input[type=radio]:checked");
    if (checked) return checked.value;
    const number = group.querySelector("input[type=number]");
    return number ? number.value.trim() : "";
  }
  function setGroupValue(group, value) {
    group.querySelectorAll("input[type=radio]").forEach(function (input) {
      input.checked = input.value === value;
    });
    const number = group.querySelector("input[type=number]");
    if (number) number.value = value;
  }
  function isEnabled(group) {
    return !group.disabled;
  }

  // PRM800K style: with the project's setting, the first step labelled as an error ends the
  // solution; later steps are disabled (a disabled fieldset is not sent) and not required.
  function applyErrorEnds() {
    if (!config.errorEndsSolution) return;
    let end = Infinity;
    groups.forEach(function (group) {
      const step = group.dataset.step;
      if (step === "" || group.disabled) return;
      const errors = (group.dataset.errorValues || "").split(" ").filter(Boolean);
      if (errors.indexOf(groupValue(group)) !== -1) end = Math.min(end, Number(step));
    });
    groups.forEach(function (group) {
      const step = group.dataset.step;
      if (step === "") return;
      const after = Number(step) > end;
      group.disabled = after;
      group.closest(".step").classList.toggle("ended", after);
      const note = group.querySelector(".ended-note");
      if (note) note.hidden = !after;
    });
  }

  function missingGroups() {
    return groups.filter((g) => isEnabled(g) && groupValue(g) === "");
  }

  function updateCounts() {
    const steps = groups.filter((g) => g.dataset.step !== "" && isEnabled(g));
    const done = steps.filter((g) => groupValue(g) !== "").length;
    const heading = document.getElementById("steps-heading");
    if (heading && steps.length) heading.dataset.done = done + " / " + steps.length + " labelled";
    groups.forEach(function (g) {
      g.classList.toggle("answered", groupValue(g) !== "");
    });
  }

  // ---- drafts (localStorage, per user and item) -------------------------------------------
  function saveDraft() {
    if (submitted) return;
    const values = {};
    groups.forEach(function (g) {
      const v = groupValue(g);
      if (v !== "") values[g.dataset.group] = v;
    });
    const draft = {
      values: values,
      rationale: rationale ? rationale.value : "",
      elapsed: timeSpent(),
      sid: sidInput.value,
      base: baseInput ? baseInput.value : "",
      saved: Date.now(),
    };
    try {
      localStorage.setItem(draftKey, JSON.stringify(draft));
    } catch (e) {
      // Private mode or a full quota: the draft is a convenience, the form still works.
    }
  }
  function loadDraft() {
    let draft = null;
    try {
      draft = JSON.parse(localStorage.getItem(draftKey) || "null");
    } catch (e) {
      draft = null;
    }
    if (!draft) return false;
    if (draft.sid && draft.sid === config.version) {
      clearDraft(); // a copy of the answers stored since: nothing to restore
      return false;
    }
    const before = snapshot();
    // Radio values first in step order, so "error ends the solution" disables the right steps.
    groups.forEach(function (g) {
      if (Object.prototype.hasOwnProperty.call(draft.values || {}, g.dataset.group)) {
        setGroupValue(g, draft.values[g.dataset.group]);
      }
    });
    if (rationale && typeof draft.rationale === "string") rationale.value = draft.rationale;
    if (typeof draft.elapsed === "number") elapsed = draft.elapsed;
    if (snapshot() === before) return false; // the draft holds what the page shows already
    if (draft.sid) sidInput.value = draft.sid;
    // The draft was made against the answers stored then: if others were stored since (another
    // tab), the server refuses it and shows them instead of replacing them unseen.
    if (baseInput && typeof draft.base === "string") baseInput.value = draft.base;
    if (draftStatus) draftStatus.textContent = "Draft restored.";
    return true;
  }
  function snapshot() {
    return JSON.stringify([groups.map(groupValue), rationale ? rationale.value : ""]);
  }
  function clearDraft() {
    try {
      localStorage.removeItem(draftKey);
    } catch (e) {
      // nothing to clear
    }
  }

  // ---- focus and movement ------------------------------------------------------------------
  function focusGroup(index, scroll) {
    const enabled = groups.filter(isEnabled);
    if (!enabled.length) return;
    index = Math.max(0, Math.min(index, groups.length - 1));
    let group = groups[index];
    if (!isEnabled(group)) {
      // Skip disabled steps in the direction of travel, else go to the first enabled group.
      const forward = index >= current;
      let i = index;
      while (i >= 0 && i < groups.length && !isEnabled(groups[i])) i += forward ? 1 : -1;
      if (i < 0 || i >= groups.length) i = groups.indexOf(enabled[forward ? enabled.length - 1 : 0]);
      group = groups[i];
      index = i;
    }
    groups.forEach((g) => g.classList.remove("current"));
    document.querySelectorAll(".step.current").forEach((s) => s.classList.remove("current"));
    group.classList.add("current");
    const step = group.closest(".step");
    if (step) step.classList.add("current");
    current = index;
    const target =
      group.querySelector("input[type=radio]:checked") ||
      group.querySelector("input[type=radio]") ||
      group.querySelector("input[type=number]");
    if (target) target.focus({ preventScroll: true });
    if (scroll !== false) (step || group).scrollIntoView({ block: "nearest" });
  }

  function focusNextUnanswered(from) {
    for (let i = from + 1; i < groups.length; i++) {
      if (isEnabled(groups[i]) && groupValue(groups[i]) === "") return focusGroup(i);
    }
    const missing = missingGroups();
    if (missing.length) return focusGroup(groups.indexOf(missing[0]));
    submitButton.focus();
    autoSubmitFocus = true;
    submitButton.scrollIntoView({ block: "nearest" });
  }

  function onAnswersChanged() {
    // A new answer set is a new submission: a retry of the old one must not overwrite it.
    sidInput.value = newId();
    applyErrorEnds();
    updateCounts();
    saveDraft();
  }

  form.addEventListener("change", function (event) {
    const group = event.target.closest("[data-group]");
    onAnswersChanged();
    if (group && event.target.type === "radio") {
      current = groups.indexOf(group);
      // A click or Space moves on like a number key does; ←/→ within the group do not.
      if (!keyPicked && !arrowMove) focusNextUnanswered(current);
      arrowMove = false;
    }
  });
  form.addEventListener("focusin", function (event) {
    if (event.target !== submitButton) autoSubmitFocus = false;
    const group = event.target.closest("[data-group]");
    if (group && !group.classList.contains("current")) {
      groups.forEach((g) => g.classList.remove("current"));
      document.querySelectorAll(".step.current").forEach((s) => s.classList.remove("current"));
      group.classList.add("current");
      const step = group.closest(".step");
      if (step) step.classList.add("current");
      current = groups.indexOf(group);
    }
  });
  if (rationale) {
    rationale.addEventListener("input", function () {
      sidInput.value = newId();
      saveDraft();
    });
  }

  function pick(key) {
    const group = groups[current];
    if (!group || !isEnabled(group)) return false;
    // Only when the group (or nothing) has focus: a digit typed on the submit button or a link
    // must not change an answer the annotator has moved past.
    // The submit button counts as the group's when an answer to it sent focus there.
    const active = document.activeElement;
    const onSubmit = active === submitButton && autoSubmitFocus;
    if (active && active !== document.body && !group.contains(active) && !onSubmit) return false;
    const input = Array.from(group.querySelectorAll("input[type=radio]")).find(function (r) {
      return (r.dataset.keys || "").split(" ").indexOf(key) !== -1;
    });
    if (!input) return false;
    keyPicked = true;
    input.checked = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    keyPicked = false;
    focusNextUnanswered(current);
    return true;
  }

  // ---- submit ------------------------------------------------------------------------------
  // The message also goes next to the first missing question, where focus and the eye go (the
  // list by Submit is off-screen then); the list is the live region (role=alert) that reads
  // it out, the note is the question's description.
  const missingNote = document.createElement("p");
  missingNote.id = "missing-note";
  missingNote.className = "missing-note";
  function showMissing(missing, message) {
    clearMissing();
    missing.forEach((g) => g.setAttribute("aria-invalid", "true"));
    missingNote.textContent = message;
    missing[0].appendChild(missingNote);
    missing[0].setAttribute("aria-describedby", "missing-note");
  }
  function clearMissing() {
    groups.forEach(function (g) {
      g.removeAttribute("aria-invalid");
      if (g.getAttribute("aria-describedby") === "missing-note") g.removeAttribute("aria-describedby");
    });
    missingNote.remove();
  }

  function showErrors(messages) {
    errorsBox.innerHTML = "";
    if (!messages.length) return;
    const list = document.createElement("ul");
    messages.forEach(function (m) {
      const li = document.createElement("li");
      li.textContent = m; // text, never HTML
      list.appendChild(li);
    });
    errorsBox.appendChild(list);
  }

  function csrfToken() {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function submit() {
    if (sending) return; // a double click or a held Ctrl+Enter sends once
    const missing = missingGroups();
    if (missing.length) {
      const message =
        missing.length === 1
          ? "One answer is missing: " + missing[0].querySelector("legend").textContent.trim() + "."
          : missing.length + " answers are missing; the first one has focus.";
      showErrors([message]);
      showMissing(missing, message);
      focusGroup(groups.indexOf(missing[0]), false);
      // Where the eye goes: the first missing question, with the message beside it.
      (missing[0].closest(".step") || missing[0]).scrollIntoView({ block: "center" });
      return;
    }
    clearMissing();
    sending = true;
    submitButton.disabled = true;
    submitButton.setAttribute("aria-busy", "true");
    showErrors([]);
    timeInput.value = String(timeSpent());
    saveDraft();
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (e) {
      // Offline or the server is unreachable: keep everything, same submission id for the retry.
      showErrors(["Not sent: the server could not be reached. Your answers are kept; submit again."]);
      finish();
      return;
    }
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    if (response.ok && data.next_url) {
      submitted = true;
      clearDraft();
      window.location.assign(data.next_url);
      return;
    }
    if (overwriteInput) overwriteInput.value = "";
    if (response.status === 403) {
      showErrors(["Your session has expired. Log in again in another tab, then submit again."]);
    } else if (response.status === 404) {
      showErrors(["This item is no longer in your queue."]);
    } else if (response.status === 409 && data.conflict) {
      showConflict(data);
    } else {
      showErrors([data.detail || "The server could not record this (" + response.status + ")."].concat(data.errors || []));
    }
    finish();
  }
  // Another tab stored other answers: say which, and offer to replace them with these.
  function showConflict(data) {
    showErrors([data.detail].concat(data.errors || []));
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "danger";
    button.id = "overwrite-button";
    button.name = "overwrite";
    button.value = data.conflict.version || "";
    button.textContent = "Replace them with these answers";
    errorsBox.appendChild(button);
  }
  function finish() {
    sending = false;
    submitButton.disabled = false;
    submitButton.removeAttribute("aria-busy");
    errorsBox.focus({ preventScroll: false });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const submitter = event.submitter;
    if (overwriteInput && submitter && submitter.name === "overwrite") {
      overwriteInput.value = submitter.value; // the stored version the annotator saw
    }
    submit();
  });

  // ---- keyboard ----------------------------------------------------------------------------
  const guidelinesDialog = document.getElementById("guidelines-dialog");
  const guidelinesLink = document.getElementById("guidelines-link");
  function openGuidelines() {
    if (guidelinesDialog && typeof guidelinesDialog.showModal === "function") {
      guidelinesDialog.showModal();
      return true;
    }
    return false;
  }
  if (guidelinesLink) {
    guidelinesLink.addEventListener("click", function (event) {
      if (openGuidelines()) event.preventDefault();
    });
  }
  function openPanel(id, fieldId) {
    const panel = document.getElementById(id);
    if (!panel) return;
    panel.open = true;
    document.getElementById(fieldId).focus({ preventScroll: true });
    panel.scrollIntoView({ block: "nearest" });
  }
  // Opened by key or by click, the panel comes into view (it sits below the form).
  document.querySelectorAll(".give-back details").forEach(function (panel) {
    panel.addEventListener("toggle", function () {
      if (panel.open) panel.scrollIntoView({ block: "nearest" });
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.isComposing) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      const reasonForm = event.target.closest && event.target.closest(".reason-form");
      if (reasonForm) {
        // Skip or flag: its own form (the browser checks a required reason first).
        if (typeof reasonForm.requestSubmit === "function") reasonForm.requestSubmit();
        else reasonForm.submit();
        return;
      }
      submit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing =
      target.tagName === "TEXTAREA" ||
      target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && target.type !== "radio" && target.type !== "checkbox");
    if (typing) {
      if (event.key === "Escape" && target === rationale) {
        event.preventDefault();
        focusGroup(current);
      }
      return;
    }
    if (guidelinesDialog && guidelinesDialog.open) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    arrowMove = key === "ArrowLeft" || key === "ArrowRight";
    if (arrowMove) return;
    let handled = true;
    if (key === "ArrowDown" || key === "j") {
      focusGroup(current + 1);
    } else if (key === "ArrowUp" || key === "k") {
      focusGroup(current - 1);
    } else if (key === "r" && rationale) {
      rationale.focus();
    } else if (key === "g") {
      if (!openGuidelines() && guidelinesLink) guidelinesLink.click();
    } else if (key === "u" && document.getElementById("previous-link")) {
      document.getElementById("previous-link").click();
    } else if (key === "s") {
      openPanel("skip-panel", "skip-reason");
    } else if (key === "f") {
      openPanel("flag-panel", "flag-reason");
    } else {
      handled = pick(key);
    }
    if (handled) event.preventDefault();
  });

  window.addEventListener("pagehide", saveDraft);

  // ---- start -------------------------------------------------------------------------------
  renderMath(); // deferred scripts run in order once the document is parsed: KaTeX is here
  loadDraft();
  applyErrorEnds();
  updateCounts();
  if (errorsBox.textContent.trim()) errorsBox.focus();
  const firstMissing = missingGroups()[0];
  if (firstMissing) {
    focusGroup(groups.indexOf(firstMissing), firstMissing !== groups[0]);
  } else if (groups.length) {
    focusGroup(0, false);
  }
})();
