// Progressive enhancement only: the dashboard works without it. Changing
// the measure shows it at once instead of waiting for the button.
(function () {
  var form = document.querySelector("form.measures");
  if (!form) return;
  var select = form.querySelector("select");
  var button = form.querySelector("button");
  if (button) button.hidden = true;
  select.addEventListener("change", function () { form.submit(); });
})();
