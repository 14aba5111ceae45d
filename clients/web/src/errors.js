// Errors in words, in the banner at the top; a refused key sends the user back to key entry.
import { Code } from "@connectrpc/connect";
import { codeOf, describe, key } from "./api.js";

export const session = { role: null };
const errorBox = document.getElementById("error");

export function showError(err) {
  errorBox.textContent = typeof err === "string" ? err : describe(err);
  errorBox.hidden = false;
  if (typeof err !== "string" && codeOf(err) === Code.Unauthenticated) {
    key.clear();
    session.role = null;
  }
}
export function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = "";
}

