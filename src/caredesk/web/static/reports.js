// Reports: apply a filter as soon as it changes (the form still works without JavaScript).
(function () {
  "use strict";
  var form = document.getElementById("rep-filters");
  if (!form) return;
  form.addEventListener("change", function (ev) {
    if (ev.target && ev.target.tagName === "SELECT") form.requestSubmit();
  });
})();
