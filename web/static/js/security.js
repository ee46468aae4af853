// "Sign-in and keys": create a passkey on this device.
import { registerPasskey, supported } from "./webauthn.js";

const panel = document.getElementById("passkeys");
const button = panel.querySelector('[data-action="add-passkey"]');
const message = panel.querySelector('[data-role="message"]');

if (supported()) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    message.textContent = "";
    try {
      await registerPasskey(navigator.platform || "");
      message.textContent = panel.dataset.added;
      window.location.reload();
    } catch (error) {
      message.textContent = panel.dataset.failed.replace("{reason}", error.message || error.name);
      button.disabled = false;
    }
  });
}
