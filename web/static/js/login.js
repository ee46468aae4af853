// The login page: the passkey button (the e-mail code form works without script).
import { loginWithPasskey, supported } from "./webauthn.js";

const panel = document.getElementById("passkey-login");
const button = panel.querySelector('[data-action="passkey-login"]');
const message = panel.querySelector('[data-role="message"]');

if (!supported()) {
  message.textContent = panel.dataset.unsupported;
} else {
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    message.textContent = "";
    try {
      const { redirect } = await loginWithPasskey();
      window.location.assign(redirect || "/");
    } catch (error) {
      message.textContent = panel.dataset.failed;
      console.warn("passkey login failed", error);
      button.disabled = false;
    }
  });
}
