/* The appeal's button. The page links it to /appeals/click/…, which counts the click and redirects to the
   donation page, so clicks count without JavaScript too. With JavaScript, the link shows its real destination
   (hover, "copy link address") and a click still goes through the counting address: a plain click navigates
   there; a click that opens a new tab or window sends the count with navigator.sendBeacon. */
(function () {
  "use strict";

  function sendCount(url) {
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(url)) return;
      fetch(url, { method: "POST", keepalive: true, credentials: "omit" });
    } catch (error) { /* counting must never stand between a reader and the donation page */ }
  }

  document.querySelectorAll("a.appeal__button[data-appeal-href]").forEach(function (link) {
    var countingUrl = link.getAttribute("href");
    var destination = link.getAttribute("data-appeal-href");
    if (!/^https?:\/\//i.test(destination)) return;
    link.setAttribute("href", destination);
    link.addEventListener("click", function (event) {
      if (event.defaultPrevented) return;
      if (event.button === 0 && !(event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)) {
        event.preventDefault();
        window.location.assign(countingUrl);
      } else {
        sendCount(countingUrl);
      }
    });
    link.addEventListener("auxclick", function (event) {
      if (event.button === 1) sendCount(countingUrl);
    });
  });
})();
