// Keeps the 72-hour countdowns current while the page stays open; the server's text is the
// fallback, so the page reads the same without script.
"use strict";

function duration(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const hours = Math.floor(minutes / 60);
  const mins = minutes % 60;
  if (hours >= 100) return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  if (hours) return `${hours} h ${mins} min`;
  return `${mins} min`;
}

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll(".countdown[data-deadline]")) {
    const left = Date.parse(el.dataset.deadline) - now;
    if (Number.isNaN(left)) continue;
    el.textContent = left < 0 ? `overdue by ${duration(left)}` : `${duration(left)} left`;
    const row = el.closest("tr, section.deadline");
    if (row) {
      row.classList.toggle("overdue", left < 0);
      row.classList.toggle("soon", left >= 0 && left < 24 * 3600 * 1000);
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  tick();
  setInterval(tick, 30000);
});
