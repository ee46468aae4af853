// The secret vote's panel on an election's page and in the meeting's room: the chair opens and closes it (the
// buttons are there only when the state allows), and everyone sees who has voted —
// names and their number, never how — refreshed every five seconds while it is open.
import { getJSON, postJSON } from "./http.js";

for (const panel of document.querySelectorAll('[data-role="secret"]')) {
  const text = JSON.parse(panel.dataset.texts);
  const base = `/api/v1/elections/${panel.dataset.election}/secret`;
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));

  for (const [action, path] of [
    ["secret-open", "open"],
    ["secret-close", "close"],
  ]) {
    panel.querySelector(`[data-action="${action}"]`)?.addEventListener("click", async (event) => {
      if (path === "close" && !window.confirm(text.close_confirm)) return;
      event.currentTarget.disabled = true;
      const line = panel.querySelector('[data-role="secret-message"]');
      try {
        await postJSON(`${base}/${path}`, {});
        window.location.reload();
      } catch (error) {
        line.textContent = fill(text.refused, { reason: error.message });
        line.className = "field-error";
        event.currentTarget.disabled = false;
      }
    });
  }

  const voted = panel.querySelector('[data-role="secret-voted"]');
  const refresh = async () => {
    try {
      const state = await getJSON(base);
      const names = state.voted.map((v) => v.name);
      voted.textContent = names.length
        ? fill(text.voted, { count: names.length, names: names.join(", ") })
        : text.nobody_voted;
      voted.dataset.count = String(names.length);
      return state.phase;
    } catch {
      return "";
    }
  };
  if (voted) {
    refresh().then((phase) => {
      if (phase === "open") setInterval(refresh, 5000);
    });
  }
}
