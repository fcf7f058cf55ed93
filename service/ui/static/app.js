// Shipped with the package. Shows each <time datetime> in the reader's time zone and language;
// its title keeps the UTC time for hover.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var shown = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time[datetime]").forEach(function (node) {
    var moment = new Date(node.getAttribute("datetime"));
    if (!isNaN(moment.getTime()) && node.getAttribute("datetime").length > 10) {
      node.textContent = shown.format(moment);
      node.classList.add("local");
    }
  });
})();
