/* duban_archive UI helpers: image preview before upload, tab deep links. */
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
