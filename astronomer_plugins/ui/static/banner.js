// The end-of-maintenance banner on Airflow's dashboard (a `react_apps` entry, destination "dashboard").
//
// Airflow imports this module and renders `globalThis.AirflowPlugin` as a React component with its
// own React. To need neither a bundler nor a second React, the component returns one element of a
// custom element type, and the custom element does the work in its shadow DOM: it asks
// astronomer/api/notice (the session cookie authenticates it) whether to show a banner for this
// user, and POSTs astronomer/api/notice/dismiss when the user closes it. The element object is the
// shape React 19 (Airflow 3's UI) renders; if a future React changes it, only the banner is lost.
const TAG = "astro-eom-banner";
const API = new URL("astronomer/api/", document.baseURI);

const COLOURS = {
  light: { warning: ["#fffaf0", "#b7791f"], error: ["#fff5f5", "#c53030"], fg: "#1a202c" },
  dark: { warning: ["#2d2412", "#f6ad55"], error: ["#2d1515", "#fc8181"], fg: "#e2e8f0" },
};

function mode() {
  return document.documentElement.classList.contains("dark") ? "dark" : "light";
}

class EndOfMaintenanceBanner extends HTMLElement {
  connectedCallback() {
    if (this.shadowRoot) return;
    this.attachShadow({ mode: "open" });
    this.observer = new MutationObserver(() => this.paint());
    this.observer.observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
    fetch(new URL("notice", API), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((notice) => { this.notice = notice; this.paint(); })
      .catch(() => {});
  }

  disconnectedCallback() {
    if (this.observer) this.observer.disconnect();
  }

  paint() {
    const notice = this.notice;
    if (!notice) { this.shadowRoot.replaceChildren(); return; }
    const colours = COLOURS[mode()];
    const [background, accent] = colours[notice.level] || colours.warning;
    const box = document.createElement("div");
    box.setAttribute("role", "alert");
    box.dataset.testid = "astro-eom-banner";
    box.style.cssText = `display:flex;gap:1rem;align-items:center;justify-content:space-between;` +
      `padding:.6rem .9rem;margin-bottom:.5rem;border-radius:.3rem;border-left:4px solid ${accent};` +
      `background:${background};color:${colours.fg};font:14px/1.4 system-ui,sans-serif`;
    const text = document.createElement("span");
    text.textContent = notice.message;
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Dismiss";
    close.dataset.testid = "astro-eom-dismiss";
    close.style.cssText = `border:1px solid ${accent};background:transparent;color:inherit;border-radius:.25rem;` +
      `padding:.2rem .6rem;cursor:pointer`;
    close.addEventListener("click", () => {
      fetch(new URL("notice/dismiss", API), { method: "POST", credentials: "same-origin" })
        .then((response) => { if (response.ok) { this.notice = null; this.paint(); } });
    });
    box.append(text, close);
    this.shadowRoot.replaceChildren(box);
  }
}

if (!customElements.get(TAG)) customElements.define(TAG, EndOfMaintenanceBanner);

function AstronomerRuntimeNotice() {
  return { $$typeof: Symbol.for("react.transitional.element"), type: TAG, key: null, ref: null, props: {} };
}

globalThis.AirflowPlugin = AstronomerRuntimeNotice;
