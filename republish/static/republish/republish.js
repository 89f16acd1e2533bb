// The "Republish This Story" dialog: a native <dialog> opened modally, so focus stays inside it and Escape
// closes it; the copy buttons put the handout on the clipboard as both text/html and text/plain, so it
// pastes as formatted text into a visual editor and as markup into an HTML field.
// The story page leaves the handout out (few readers open the dialog, and it repeats the whole body): the
// dialog fetches it from the JSON endpoint named by data-handout-url as it opens, the same JSON partners'
// tools read, so what is copied is exactly what they get.
(function () {
  "use strict";

  function status(root, message) {
    var el = root.querySelector(".republish-copy-status");
    if (el) { el.textContent = message; }
  }

  // Said in the status line, with the way round it: the republish page holds the same handout.
  function unavailable(dialog) {
    var el = dialog.querySelector(".republish-copy-status");
    var opener = document.querySelector('[data-republish-open="' + dialog.id + '"]');
    if (!el) { return; }
    el.textContent = "The handout could not be loaded. ";
    if (opener) {
      var link = document.createElement("a");
      link.href = opener.href;
      link.textContent = "Open the republish page";
      el.appendChild(link);
    }
  }

  // One fetch per dialog, started when it opens; resolves once the textareas hold the handout.
  function loadHandout(dialog) {
    var url = dialog.getAttribute("data-handout-url");
    if (!url) { return Promise.resolve(); }
    if (!dialog.handoutLoaded) {
      var sources = dialog.querySelectorAll("[data-copy-source]");
      Array.prototype.forEach.call(sources, function (el) { el.setAttribute("aria-busy", "true"); });
      // "no-cache": the browser may keep the JSON for minutes, but the page cache is purged when the story
      // is published again, so asking it each time gives the corrected copy at once.
      dialog.handoutLoaded = fetch(url, { cache: "no-cache", credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          if (!data.html) { throw new Error(data.reason || "no handout"); }
          Array.prototype.forEach.call(sources, function (el) {
            el.value = data[el.getAttribute("data-copy-source")] || "";
          });
        })
        .catch(function (error) {
          dialog.handoutLoaded = null;  // the next click tries again
          unavailable(dialog);
          throw error;
        })
        .finally(function () {
          Array.prototype.forEach.call(sources, function (el) { el.removeAttribute("aria-busy"); });
        });
    }
    return dialog.handoutLoaded;
  }

  function copyWithSelection(textarea) {
    textarea.focus();
    textarea.select();
    return document.execCommand("copy");
  }

  function copy(button) {
    var root = button.closest("dialog, .republish-page") || document;
    if (root.tagName === "DIALOG") {
      // Clicked before the handout arrived: copy it as soon as it is there.
      loadHandout(root).then(function () { copyLoaded(root, button); }, function () {});
    } else {
      copyLoaded(root, button);
    }
  }

  function copyLoaded(root, button) {
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

  // The dialog is taller than a phone's screen: focusing its first Copy button, as browsers do, would scroll
  // its title and close button out of sight. Focus goes to the title instead (read out first by screen
  // readers; Tab then reaches the close button), and the dialog starts at its top.
  function openAtTop(dialog) {
    var title = document.getElementById(dialog.getAttribute("aria-labelledby")) || dialog;
    if (!title.hasAttribute("tabindex")) { title.setAttribute("tabindex", "-1"); }
    title.focus({ preventScroll: true });
    dialog.scrollTop = 0;
  }

  // A tap on the backdrop reaches the dialog element itself, at a point outside its box: that closes it, as
  // readers expect of a box over the page. A tap on the dialog's own padding is inside its box and does not.
  function outside(dialog, event) {
    var box = dialog.getBoundingClientRect();
    return event.clientX < box.left || event.clientX > box.right || event.clientY < box.top || event.clientY > box.bottom;
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
        loadHandout(dialog).catch(function () {});
        dialog.showModal();
        openAtTop(dialog);
      }
      return;
    }
    var target = event.target;
    if (target.tagName === "DIALOG" && target.classList.contains("republish-dialog") && target.open
        && outside(target, event)) {
      target.close();
      return;
    }
    var closer = event.target.closest("[data-republish-close]");
    if (closer) { closer.closest("dialog").close(); return; }
    var copier = event.target.closest("[data-copy]");
    if (copier) { copy(copier); }
  });
})();
