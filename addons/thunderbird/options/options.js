// The server address and token, kept in the add-in's local storage. Saving asks Thunderbird for
// permission to reach that one server (and no other).
import { normaliseOptions } from "../lib/check.js";

const form = document.querySelector("#options");
const status = document.querySelector("#status");

messenger.storage.local.get({ baseUrl: "", token: "" }).then((saved) => {
  form.baseUrl.value = saved.baseUrl;
  form.token.value = saved.token;
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const options = normaliseOptions({ baseUrl: form.baseUrl.value, token: form.token.value });
  let origin;
  try {
    origin = new URL(options.baseUrl).origin;
  } catch {
    status.textContent = "That is not a web address.";
    return;
  }
  const allowed = await messenger.permissions.request({ origins: [`${origin}/*`] });
  if (!allowed) {
    status.textContent = "Without permission to reach the server the add-in cannot check messages.";
    return;
  }
  await messenger.storage.local.set(options);
  try {
    const health = await fetch(`${options.baseUrl}/healthz`);
    status.textContent = health.ok ? "Saved; the server answers." : `Saved, but the server answered ${health.status}.`;
  } catch {
    status.textContent = "Saved, but the server could not be reached.";
  }
});
