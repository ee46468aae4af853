// The secretary's editor: as the texts of an item change, the protocol's preview is
// laid out again by the server (the same template as the PDF) without saving anything.
import { csrfToken } from "./http.js";

const preview = document.querySelector('[data-role="preview"]');
let timer = null;
let latest = 0;

async function refresh(form) {
  const asked = ++latest;
  const response = await fetch(form.dataset.preview, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken() },
    body: new URLSearchParams(new FormData(form)),
  });
  if (!response.ok || asked !== latest) return;
  const html = await response.text();
  // The server escapes every text it puts in the article (the same Jinja2 autoescape as
  // the page itself), so the fragment is markup of our own template only.
  const fresh = new DOMParser().parseFromString(html, "text/html").querySelector("article");
  if (fresh) preview.replaceChildren(document.importNode(fresh, true));
}

if (preview) {
  for (const form of document.querySelectorAll("form.doc-texts")) {
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => refresh(form).catch(() => {}), 400);
    });
  }
}
