// The login form shared by both pages: GET /api/v2/me with Basic credentials (Gws.login), or a silent
// resume with the cookie when this tab signed in before. Resolves with the user resource.
import {$, flash} from "./dom.js";

export async function signIn(gws, {requireRole} = {}) {
  const form = $("#login");
  const status = $("#login-status");
  if (gws.rememberedUser()) {
    try {
      const user = await gws.resume();
      if (!requireRole || user.roles.includes(requireRole)) return user;
    } catch { gws.forget(); }
  }
  form.hidden = false;
  $("#login-user").focus();
  return new Promise((resolve) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      flash(status, "Signing in…");
      try {
        const user = await gws.login($("#login-user").value.trim(), $("#login-password").value);
        $("#login-password").value = "";
        if (requireRole && !user.roles.includes(requireRole)) {
          flash(status, `User ${user.userName} is not a supervisor (needs ${requireRole}).`, "error");
          gws.forget();
          return;
        }
        form.hidden = true;
        resolve(user);
      } catch (err) {
        flash(status, err.status === 401 ? "Wrong user name or password." : err.message, "error");
      } finally {
        button.disabled = false;
      }
    });
  });
}
