// «گام بعدی» waits for its checkbox (issue 10; without JavaScript the server refuses instead).
document.querySelectorAll("button[data-needs]").forEach((button) => {
  const box = document.getElementById(button.dataset.needs);
  if (!box) return;
  const sync = () => { button.disabled = !box.checked; };
  box.addEventListener("change", sync);
  sync();
});
