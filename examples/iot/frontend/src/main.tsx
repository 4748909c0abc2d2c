import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { readSession } from "./session";
import "./styles.css";

const root = document.getElementById("root");
if (root === null) throw new Error("#root is missing from index.html");

createRoot(root).render(
  <StrictMode>
    <App session={readSession()} />
  </StrictMode>,
);
