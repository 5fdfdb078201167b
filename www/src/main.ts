/** Entry point: mounts the app on #app. */
import "./style.css";
import { App } from "./app.js";

const root = document.getElementById("app");
if (root) void new App(root).boot();
