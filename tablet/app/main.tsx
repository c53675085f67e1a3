// Entry point: mounts the app into index.html.

import { render } from "preact";
import { App } from "./App";
import "./styles.css";

const root = document.getElementById("app");
if (root) render(<App />, root);

// Keeps the app openable without network (public/sw.js). Browsers refuse it on an untrusted
// certificate; the app works the same without it, only a reload while offline then fails.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch(() => undefined);
}
