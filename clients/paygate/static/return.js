// Back to the merchant at once, as a bank's gateway does; without JavaScript the button does it.
(function () {
  var form = document.querySelector("form[data-auto-submit]");
  if (form) { form.submit(); }
}());
