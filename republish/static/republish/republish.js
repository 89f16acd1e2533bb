// The "Republish This Story" dialog: a native <dialog> opened modally, so focus stays inside it and Escape
// closes it; the copy buttons put the handout on the clipboard as both text/html and text/plain, so it
// pastes as formatted text into a visual editor and as markup into an HTML field.
(function () {
  "use strict";

  function status(root, message) {
    var el = root.querySelector(".republish-copy-status");
    if (el) { el.textContent = message; }
  }

  function copyWithSelection(textarea) {
    textarea.focus();
    textarea.select();
    return document.execCommand("copy");
  }

  function copy(button) {
    var root = button.closest("dialog, .republish-page") || document;
    var kind = button.getAttribute("data-copy");
    var textarea = root.querySelector('[data-copy-source="' + kind + '"]');
    var value = textarea.value;
    var done = function () { status(root, "Copied to the clipboard."); };
    var fallback = function () {
      if (copyWithSelection(textarea)) { done(); } else { status(root, "Select the text and copy it with your keyboard."); }
    };
    if (!navigator.clipboard) { fallback(); return; }
    if (kind === "html" && window.ClipboardItem) {
      var item = new ClipboardItem({
        "text/html": new Blob([value], { type: "text/html" }),
        "text/plain": new Blob([value], { type: "text/plain" })
      });
      navigator.clipboard.write([item]).then(done, function () {
        navigator.clipboard.writeText(value).then(done, fallback);
      });
    } else {
      navigator.clipboard.writeText(value).then(done, fallback);
    }
  }

  // A modal <dialog> makes the page behind it inert, but Tab from its last control still leaves for the
  // browser's own toolbar; wrap focus around so keyboard users stay in the dialog until they close it.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") { return; }
    var dialog = document.querySelector("dialog.republish-dialog[open]");
    if (!dialog) { return; }
    var focusable = Array.prototype.filter.call(
      dialog.querySelectorAll("a[href], button, textarea, input, select, [tabindex]:not([tabindex='-1'])"),
      function (el) { return !el.disabled && el.offsetParent !== null; }
    );
    if (!focusable.length) { return; }
    var first = focusable[0], last = focusable[focusable.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-republish-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-republish-open"));
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.showModal();
        dialog.querySelector("[data-copy]").focus();
      }
      return;
    }
    var closer = event.target.closest("[data-republish-close]");
    if (closer) { closer.closest("dialog").close(); return; }
    var copier = event.target.closest("[data-copy]");
    if (copier) { copy(copier); }
  });
})();
