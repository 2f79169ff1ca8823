// «چاپ» needs the browser's print dialog: shown only where JavaScript can open it.
(function () {
  var button = document.getElementById("print-certificate");
  if (!button) { return; }
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
}());
