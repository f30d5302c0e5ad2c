/* duban_archive UI helpers: image preview before upload, tab deep links, busy forms. */
(function () {
  "use strict";

  function previewFile(input) {
    var box = document.querySelector(input.dataset.preview);
    var error = document.getElementById("upload-client-error");
    if (!box) { return; }
    var img = box.querySelector("img");
    var note = box.querySelector("p");
    box.hidden = true;
    if (error) { error.hidden = true; error.textContent = ""; }
    var file = input.files && input.files[0];
    if (!file) { return; }
    var max = parseInt(input.dataset.maxBytes || "0", 10);
    if (max && file.size > max && error) {
      error.textContent = input.dataset.tooLarge || "";
      error.hidden = false;
    }
    note.textContent = file.name + " · " + file.size + " B";
    if (/^image\/(jpeg|png|gif|webp)$/.test(file.type)) {
      if (img.dataset.url) { URL.revokeObjectURL(img.dataset.url); }
      img.dataset.url = URL.createObjectURL(file);
      img.src = img.dataset.url;
      img.hidden = false;
    } else {
      img.hidden = true;
      img.removeAttribute("src");
    }
    box.hidden = false;
  }

  function showTabFromHash() {
    if (!window.location.hash || !window.bootstrap) { return; }
    var button = document.querySelector('[data-bs-target="' + window.location.hash + '"]');
    if (button) { window.bootstrap.Tab.getOrCreateInstance(button).show(); }
  }

  /* A submitted form shows that it is working and cannot be sent twice: filing a dossier,
     closing an item or uploading takes seconds, and a second click would repeat it.
     Buttons are not `disabled` (that would drop the clicked button's name from the form data). */
  function markBusy(form, submitter) {
    form.dataset.busy = "1";
    form.setAttribute("aria-busy", "true");
    form.querySelectorAll("button[type=submit], input[type=submit], button:not([type])").forEach(function (b) {
      b.classList.add("disabled");
      b.setAttribute("aria-disabled", "true");
    });
    var button = submitter || form.querySelector("button[type=submit], button:not([type])");
    var text = form.dataset.busyText || document.documentElement.dataset.busyText || "正在处理，请稍候…";
    if (button && !button.querySelector(".spinner-border")) {
      var spin = document.createElement("span");
      spin.className = "spinner-border spinner-border-sm me-1";
      spin.setAttribute("aria-hidden", "true");
      button.prepend(spin);
    }
    var status = form.querySelector(".busy-status");
    if (!status) {
      status = document.createElement("div");
      status.className = "busy-status small text-muted mt-2";
      status.setAttribute("role", "status");
      form.appendChild(status);
    }
    status.textContent = text;
  }

  function clearBusy(form) {
    delete form.dataset.busy;
    form.removeAttribute("aria-busy");
    form.querySelectorAll(".disabled[aria-disabled]").forEach(function (b) {
      b.classList.remove("disabled");
      b.removeAttribute("aria-disabled");
    });
    form.querySelectorAll(".spinner-border").forEach(function (s) { s.remove(); });
    form.querySelectorAll(".busy-status").forEach(function (s) { s.remove(); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    /* only POST forms: a GET form that downloads a file (台账, 通报) never leaves the page */
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post" ||
        form.dataset.noBusy !== undefined) { return; }
    if (form.dataset.busy) {
      event.preventDefault();  /* the first submit is still on its way */
      return;
    }
    if (!event.defaultPrevented) { markBusy(form, event.submitter); }
  });

  /* back/forward cache: a page restored after navigating away must be usable again */
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { document.querySelectorAll("form[data-busy]").forEach(clearBusy); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[type=file][data-preview]").forEach(function (input) {
      input.addEventListener("change", function () { previewFile(input); });
    });
    document.querySelectorAll('#item-tabs [data-bs-toggle="tab"]').forEach(function (button) {
      button.addEventListener("shown.bs.tab", function () {
        history.replaceState(null, "", button.dataset.bsTarget);
      });
    });
    showTabFromHash();
  });
})();
