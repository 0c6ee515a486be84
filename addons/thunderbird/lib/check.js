// The add-in's logic, free of Thunderbird's APIs so it runs (and is tested) under Node too:
// compose details -> draft -> POST /v1/check -> what to show -> the sender's choice -> the
// corrected compose details -> POST /v1/decisions. Thunderbird-specific work (looking up
// contacts, reading attachments, opening the dialog) is passed in as functions.
//
// The one rule that matters most: when missend cannot answer, the add-in neither sends nor
// blocks on its own; it tells the sender what went wrong and lets them decide.

export const DEFAULT_TIMEOUT_MS = 20000;
export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;
const FIX_KINDS_WITH_LISTS = new Set(["move-to-bcc", "remove-recipients", "replace-recipient"]);

/** Why a check or a decision failed, in words for the sender; `kind` is for the code. */
export class CheckError extends Error {
  constructor(kind, message, status = null) {
    super(message);
    this.name = "CheckError";
    this.kind = kind; // config | auth | network | timeout | busy | rejected | server
    this.status = status;
  }
}

/** Options as stored: a base URL without a trailing slash, and the bearer token. */
export function normaliseOptions({ baseUrl = "", token = "" } = {}) {
  const url = String(baseUrl).trim().replace(/\/+$/, "");
  return { baseUrl: url, token: String(token).trim() };
}

/**
 * Thunderbird gives a recipient as "Name <address>" or as an address-book entry
 * ({id, type: "contact" | "mailingList"}); the check needs the addresses themselves.
 */
export async function resolveRecipients(list, { contact, mailingList } = {}) {
  const out = [];
  for (const item of list ?? []) {
    if (typeof item === "string") {
      if (item.trim()) out.push(item.trim());
    } else if (item?.type === "contact" && contact) {
      const found = await contact(item.id);
      if (found) out.push(found);
    } else if (item?.type === "mailingList" && mailingList) {
      out.push(...((await mailingList(item.id)) ?? []));
    }
  }
  return out;
}

function base64(bytes) {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/**
 * The draft as /v1/check takes it. `details` are compose details with recipients already
 * resolved to strings; `attachments` are {name, type, bytes: Uint8Array}. Attachments beyond
 * the byte budget are left out and named in `skipped`, so the sender can be told.
 */
export function draftFromDetails(details, { attachments = [], inReplyTo = null, maxBytes = MAX_ATTACHMENT_BYTES } = {}) {
  const draft = {
    from: String(details.from ?? "").trim(),
    to: [...(details.to ?? [])],
    cc: [...(details.cc ?? [])],
    bcc: [...(details.bcc ?? [])],
    subject: details.subject ?? "",
  };
  if (details.plainTextBody) draft.text = details.plainTextBody;
  if (!details.isPlainText && details.body) draft.html = details.body;
  if (inReplyTo) draft.in_reply_to = inReplyTo;
  const skipped = [];
  let used = 0;
  draft.attachments = [];
  for (const file of attachments) {
    if (used + file.bytes.length > maxBytes) {
      skipped.push(file.name);
      continue;
    }
    used += file.bytes.length;
    draft.attachments.push({
      filename: file.name ?? "",
      content_type: /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/.test(file.type ?? "") ? file.type : "application/octet-stream",
      content: base64(file.bytes),
    });
  }
  return { draft, skipped };
}

function detailText(body) {
  const detail = body?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => `${(d.loc ?? []).join(".")}: ${d.msg}`).join("; ");
  return "";
}

async function call(options, path, body) {
  const { baseUrl, token } = normaliseOptions(options);
  if (!baseUrl || !token) {
    throw new CheckError(
      "config",
      "The missend add-in is not set up yet: enter the server address and your token in the add-in's options.",
    );
  }
  const fetcher = options.fetch ?? globalThis.fetch;
  let response;
  try {
    response = await fetcher(`${baseUrl}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    if (error?.name === "TimeoutError" || error?.name === "AbortError") {
      throw new CheckError("timeout", `missend at ${baseUrl} did not answer in time.`);
    }
    throw new CheckError("network", `missend could not be reached at ${baseUrl}.`);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (response.ok && payload) return payload;
  const detail = detailText(payload);
  const status = response.status;
  if (status === 401) {
    throw new CheckError(
      "auth",
      "missend did not accept the add-in's token. Check the token in the add-in's options, or ask for a new one.",
      status,
    );
  }
  if (status === 403) {
    throw new CheckError("auth", `missend refused the check: ${detail || "this token may not do that"}.`, status);
  }
  if (status === 429) {
    const wait = response.headers.get("retry-after");
    throw new CheckError("busy", `missend is busy${wait ? `; try again in ${wait} seconds` : ""}.`, status);
  }
  if (status === 413) {
    throw new CheckError("rejected", "The message is too large for missend to check.", status);
  }
  if (status >= 400 && status < 500) {
    throw new CheckError("rejected", `missend could not read the message: ${detail || `error ${status}`}.`, status);
  }
  throw new CheckError("server", `missend had a problem (error ${status}); try again in a moment.`, status);
}

/** POST /v1/check; resolves to the verdict, rejects with a CheckError. */
export function checkDraft(options, draft) {
  return call(options, "/v1/check", draft);
}

/** POST /v1/decisions; resolves to the recorded decision, rejects with a CheckError. */
export function postDecision(options, body) {
  return call(options, "/v1/decisions", body);
}

function shortList(addresses, limit = 5) {
  if (!addresses?.length) return "";
  const shown = addresses.slice(0, limit).join(", ");
  return addresses.length > limit ? `${shown} and ${addresses.length - limit} more` : shown;
}

/** The buttons and words the dialog shows for a verdict that is not "allow". */
export function present(verdict) {
  const findings = (verdict.findings ?? [])
    .filter((f) => f.action !== "allow")
    .sort((a, b) => b.severity - a.severity)
    .map((f) => ({
      title: f.title,
      explanation: f.explanation,
      recipients: shortList(f.recipients),
      action: f.action,
    }));
  const listFixes = (verdict.fixes ?? []).filter((f) => FIX_KINDS_WITH_LISTS.has(f.kind) && f.result);
  const buttons = listFixes.map((f) => ({ id: f.id, kind: "fix", label: f.label, fixIds: [f.id] }));
  if (listFixes.length > 1) {
    buttons.push({ id: "all-fixes", kind: "fix", label: "Apply all fixes", fixIds: listFixes.map((f) => f.id) });
  }
  buttons.push({ id: "send-anyway", kind: "send_anyway", label: "Send anyway", needsReason: Boolean(verdict.reason_required) });
  buttons.push({ id: "cancel", kind: "cancel", label: "Cancel" });
  const advice = (verdict.fixes ?? [])
    .filter((f) => !FIX_KINDS_WITH_LISTS.has(f.kind))
    .map((f) => f.description || f.label);
  const count = findings.length;
  return {
    kind: "findings",
    headline: count === 1 ? "Check this before sending: missend found a problem." : `Check this before sending: missend found ${count} problems.`,
    findings,
    advice,
    buttons,
  };
}

/** What the dialog shows when the check itself failed: the sender decides, nothing is automatic. */
export function errorView(error) {
  const message = error instanceof CheckError ? error.message : "Something went wrong while checking the message.";
  return {
    kind: "error",
    headline: "missend could not check this message",
    message,
    hint: "You can send it without the check, or cancel and try again.",
    buttons: [
      { id: "send-unchecked", kind: "send_unchecked", label: "Send without checking" },
      { id: "cancel", kind: "cancel", label: "Cancel" },
    ],
  };
}

/** The recipient lists after the chosen fixes: one fix's own result, or every fix at once. */
export function applyFixes(verdict, fixIds) {
  const chosen = (verdict.fixes ?? []).filter((f) => fixIds.includes(f.id) && f.result);
  if (chosen.length === 0) throw new Error(`no such fix: ${fixIds.join(", ")}`);
  const lists = chosen.length === 1 ? chosen[0].result : verdict.fixed;
  return { to: [...lists.to], cc: [...lists.cc], bcc: [...lists.bcc] };
}

/** Whether the chosen fixes answer every finding that asked for more than a note. */
export function resolvesAll(verdict, fixIds) {
  return (verdict.findings ?? [])
    .filter((f) => f.action !== "allow")
    .every((f) => f.fix_id && fixIds.includes(f.fix_id));
}

/**
 * Everything that happens when the sender presses Send. `ask(view)` shows the dialog and
 * resolves to {id, reason}. Resolves to {cancel, details?, decision?, warning?}:
 * - cancel false, no details: send as it is;
 * - cancel false, details: apply the corrected recipients, then send;
 * - cancel true, details: put the corrected recipients in the window, do not send yet
 *   (findings the fix does not answer remain, and the next Send checks again);
 * - cancel true: do not send.
 */
export async function beforeSend(details, { options, ask, attachments = [], inReplyTo = null }) {
  const { draft, skipped } = draftFromDetails(details, { attachments, inReplyTo });
  let verdict;
  try {
    verdict = await checkDraft(options, draft);
  } catch (error) {
    const choice = await ask(errorView(error));
    return choice?.id === "send-unchecked" ? { cancel: false, unchecked: true } : { cancel: true };
  }
  const record = async (body) => {
    try {
      return { decision: await postDecision(options, { verdict_id: verdict.verdict_id, ...body }) };
    } catch (error) {
      return { warning: `The decision was not recorded: ${error.message}` };
    }
  };
  if (verdict.action === "allow") {
    return { cancel: false, skipped, ...(await record({ decision: "sent" })) };
  }
  let view = present(verdict);
  if (skipped.length) view.advice.push(`Not checked (too large): ${skipped.join(", ")}.`);
  for (;;) {
    const choice = (await ask(view)) ?? { id: "cancel" };
    const button = view.buttons.find((b) => b.id === choice.id) ?? { kind: "cancel" };
    if (button.kind === "cancel") {
      return { cancel: true, ...(await record({ decision: "cancelled" })) };
    }
    if (button.kind === "send_anyway") {
      const reason = String(choice.reason ?? "").trim();
      if (button.needsReason && !reason) {
        view = { ...view, error: "Say why you are sending it anyway; the reason is kept with the record." };
        continue;
      }
      return { cancel: false, ...(await record({ decision: "sent_anyway", reason })) };
    }
    const lists = applyFixes(verdict, button.fixIds);
    const recorded = await record({ decision: "fixed", fix_ids: button.fixIds, ...lists });
    return { cancel: !resolvesAll(verdict, button.fixIds), details: lists, ...recorded };
  }
}
