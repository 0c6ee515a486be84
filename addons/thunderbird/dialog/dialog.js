// Renders the view made by lib/check.js (as text, never as HTML) and sends the choice back.
const id = Number(new URLSearchParams(location.search).get("id"));
const $ = (selector) => document.querySelector(selector);

function choose(choice) {
  messenger.runtime.sendMessage({ type: "missend:choice", id, choice });
}

function item(parent, finding) {
  const li = document.createElement("li");
  li.className = finding.action;
  const title = document.createElement("strong");
  title.textContent = finding.title;
  const text = document.createElement("p");
  text.textContent = finding.explanation;
  li.append(title, text);
  if (finding.recipients) {
    const who = document.createElement("p");
    who.className = "who";
    who.textContent = finding.recipients;
    li.append(who);
  }
  parent.append(li);
}

function render(view) {
  $("#headline").textContent = view.headline;
  $("#message").textContent = [view.message, view.hint].filter(Boolean).join(" ");
  for (const finding of view.findings ?? []) item($("#findings"), finding);
  for (const advice of view.advice ?? []) {
    const li = document.createElement("li");
    li.textContent = advice;
    $("#advice").append(li);
  }
  if (view.error) {
    $("#error").textContent = view.error;
    $("#error").hidden = false;
  }
  for (const button of view.buttons) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = button.label;
    element.className = button.kind === "fix" ? "fix" : "";
    element.addEventListener("click", () => {
      if (button.kind === "send_anyway" && button.needsReason) {
        $("#reason-form").hidden = false;
        $("#reason").focus();
        return;
      }
      choose({ id: button.id });
    });
    $("#buttons").append(element);
  }
  $("#reason-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = $("#reason").value.trim();
    if (reason) choose({ id: "send-anyway", reason });
  });
}

messenger.runtime.sendMessage({ type: "missend:view", id }).then((view) => {
  if (view) render(view);
  else window.close();
});
