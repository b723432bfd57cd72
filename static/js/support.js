// Support pages. <button data-confirm="question"> asks before submitting its form (the staff's
// one-click cancel of an order from a ticket).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
});
