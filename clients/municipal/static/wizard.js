// «گام بعدی» waits for its checkbox (issue 10; without JavaScript the server refuses instead).
document.querySelectorAll("button[data-needs]").forEach((button) => {
  const box = document.getElementById(button.dataset.needs);
  if (!box) return;
  const sync = () => { button.disabled = !box.checked; };
  box.addEventListener("change", sync);
  sync();
});

// «+»: another «انتخاب فایل» (without JavaScript, one input takes several files).
const add = document.getElementById("add-file");
if (add) {
  add.hidden = false;
  add.addEventListener("click", () => {
    const input = document.createElement("input");
    input.type = "file";
    input.name = "files";
    input.accept = "image/jpeg,image/png";
    input.setAttribute("aria-label", document.querySelector("label[for=files]").textContent);
    document.getElementById("file-inputs").appendChild(input);
  });
}
