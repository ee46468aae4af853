// Copy buttons: <button data-copy="ID"> copies the value of the input #ID and says so.
// Loaded as a module (no inline script: the page's CSP forbids it).

async function copy(button) {
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  const text = field.value ?? field.textContent;
  let done = false;
  try {
    await navigator.clipboard.writeText(text);
    done = true;
  } catch {
    // No clipboard API (an insecure origin, an old browser): select and copy.
    field.select?.();
    done = document.execCommand?.("copy") ?? false;
  }
  const status = button.parentElement.querySelector("[data-copy-status]");
  if (status) status.textContent = done ? button.dataset.copied : button.dataset.failed;
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", () => copy(button));
}
