// Follow Airflow's colour mode: the page runs in Airflow's frame (same origin), whose <html> carries
// the class "dark" or "light"; opened on its own, the system preference decides.
(function () {
  var root = document.documentElement;
  function airflowMode() {
    try {
      var classes = window.parent.document.documentElement.classList;
      if (window.parent !== window && (classes.contains("dark") || classes.contains("light"))) {
        return classes.contains("dark") ? "dark" : "light";
      }
    } catch (e) { /* not framed by Airflow */ }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function apply() { root.setAttribute("data-theme", airflowMode()); }
  apply();
  try {
    new MutationObserver(apply).observe(window.parent.document.documentElement, { attributes: true, attributeFilter: ["class"] });
  } catch (e) { /* not framed */ }
})();
