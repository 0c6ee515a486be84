// Thunderbird's side: hook Send, gather the draft, show the dialog, hand the result back.
// The decisions themselves are made in lib/check.js.
import { beforeSend, normaliseOptions, resolveRecipients } from "./lib/check.js";

const pending = new Map();
let nextId = 1;

async function loadOptions() {
  return normaliseOptions(await messenger.storage.local.get({ baseUrl: "", token: "" }));
}

async function contactAddress(id) {
  const contact = await messenger.contacts.get(id);
  const props = contact?.properties ?? {};
  if (!props.PrimaryEmail) return null;
  return props.DisplayName ? `${props.DisplayName} <${props.PrimaryEmail}>` : props.PrimaryEmail;
}

async function listAddresses(id) {
  const members = await messenger.mailingLists.listMembers(id);
  return members.map((m) => m.properties?.PrimaryEmail).filter(Boolean);
}

async function sender(details) {
  if (details.from) return typeof details.from === "string" ? details.from : "";
  if (!details.identityId) return "";
  const identity = await messenger.identities.get(details.identityId);
  return identity ? `${identity.name} <${identity.email}>` : "";
}

async function inReplyTo(details) {
  if (details.type !== "reply" || !details.relatedMessageId) return null;
  try {
    const original = await messenger.messages.get(details.relatedMessageId);
    return original?.headerMessageId ? `<${original.headerMessageId}>` : null;
  } catch {
    return null;
  }
}

async function attachmentsOf(tabId) {
  const out = [];
  for (const attachment of await messenger.compose.listAttachments(tabId)) {
    const file = await messenger.compose.getAttachmentFile(attachment.id);
    out.push({ name: attachment.name, type: file.type, bytes: new Uint8Array(await file.arrayBuffer()) });
  }
  return out;
}

function ask(view) {
  return new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, { view, resolve, windowId: null });
    messenger.windows
      .create({ url: `dialog/dialog.html?id=${id}`, type: "popup", width: 620, height: 640, allowScriptsToClose: true })
      .then((win) => {
        const entry = pending.get(id);
        if (entry) entry.windowId = win.id;
      })
      .catch(() => {
        pending.delete(id);
        resolve({ id: "cancel" });
      });
  });
}

messenger.runtime.onMessage.addListener((message) => {
  const entry = pending.get(message?.id);
  if (!entry) return undefined;
  if (message.type === "missend:view") return Promise.resolve(entry.view);
  if (message.type === "missend:choice") {
    pending.delete(message.id);
    entry.resolve(message.choice);
    if (entry.windowId !== null) messenger.windows.remove(entry.windowId).catch(() => {});
  }
  return undefined;
});

// Closing the dialog is "Cancel": never send because a window went away.
messenger.windows.onRemoved.addListener((windowId) => {
  for (const [id, entry] of pending) {
    if (entry.windowId === windowId) {
      pending.delete(id);
      entry.resolve({ id: "cancel" });
    }
  }
});

messenger.compose.onBeforeSend.addListener(async (tab, details) => {
  const lookups = { contact: contactAddress, mailingList: listAddresses };
  const resolved = {
    ...details,
    from: await sender(details),
    to: await resolveRecipients(details.to, lookups),
    cc: await resolveRecipients(details.cc, lookups),
    bcc: await resolveRecipients(details.bcc, lookups),
  };
  const result = await beforeSend(resolved, {
    options: await loadOptions(),
    ask,
    attachments: await attachmentsOf(tab.id),
    inReplyTo: await inReplyTo(details),
  });
  if (result.warning) console.warn("missend:", result.warning);
  if (result.cancel && result.details) {
    await messenger.compose.setComposeDetails(tab.id, result.details);
    return { cancel: true };
  }
  return result.details ? { cancel: result.cancel, details: result.details } : { cancel: result.cancel };
});
