// Progressive enhancement only: every page works without this file.
// No inline scripts anywhere (the Content-Security-Policy forbids them); behaviour hangs off data- attributes.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches && el.matches("[data-autosubmit]")) el.form.submit();
});
