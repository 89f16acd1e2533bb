// Author addresses arrive XOR-encoded (see stories/templatetags/byline_tags.py) so that harvesters
// reading the page source find none; the reader's browser turns each back into a working link.
(function () {
  "use strict";
  function decode(hex) {
    var key = parseInt(hex.substr(0, 2), 16);
    var bytes = [];
    for (var i = 2; i < hex.length; i += 2) {
      bytes.push(parseInt(hex.substr(i, 2), 16) ^ key);
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  }
  function revealEmails(root) {
    root.querySelectorAll(".protected-email[data-email]").forEach(function (el) {
      var address = decode(el.getAttribute("data-email"));
      var link = document.createElement("a");
      link.href = "mailto:" + address;
      link.textContent = address;
      link.className = "email";
      el.replaceWith(link);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { revealEmails(document); });
})();
