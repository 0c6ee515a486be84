// The add-in's logic against the real missend API on loopback: what the sender sees, what each
// button does to the compose details, and what is recorded.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  CheckError,
  applyFixes,
  beforeSend,
  checkDraft,
  draftFromDetails,
  postDecision,
  present,
  resolveRecipients,
} from "../lib/check.js";
import { freePort, missend, startApi } from "./support/api.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const AGENCY = "eu-settlement@migration.example.gov.uk";
const SAM = "sam.hale@acme-grid.com";
const DOMAINS = ["gmail.com", "outlook.com", "gmx.de", "yahoo.co.uk", "icloud.com", "hotmail.com"];

let api;

before(async () => {
  api = await startApi({
    senders: [AGENCY, SAM],
    prepare: (db) => missend("learn", join(ROOT, "examples", "history"), "--db", db),
  });
});

after(async () => {
  await api?.stop();
});

const options = (sender = AGENCY) => ({ baseUrl: api.baseUrl, token: api.tokens[sender] });

/** A dialog that gives the answers in order and remembers what it was shown. */
function scripted(...answers) {
  const shown = [];
  return {
    shown,
    ask: async (view) => {
      shown.push(view);
      return answers.shift() ?? { id: "cancel" };
    },
  };
}

function address(entry) {
  const match = /<([^<>]+)>\s*$/.exec(entry);
  return (match ? match[1] : entry).trim().toLowerCase();
}

function applicants(count) {
  return Array.from({ length: count }, (_, i) => `Applicant ${i} <applicant.${i}@${DOMAINS[i % DOMAINS.length]}>`);
}

function newsletter(to) {
  return {
    from: `EU Settlement Team <${AGENCY}>`,
    to,
    cc: [],
    bcc: [],
    subject: "Your settlement application",
    isPlainText: true,
    plainTextBody: "Dear applicant,\n\nyour application is being processed.\n",
  };
}

describe("a draft to 240 private addresses in To", () => {
  test("offers Move to Bcc, and the fixed details show no outsider", async () => {
    const dialog = scripted({ id: "fix-1" });
    const result = await beforeSend(newsletter(applicants(240)), { options: options(), ask: dialog.ask });
    assert.equal(dialog.shown.length, 1);
    const view = dialog.shown[0];
    assert.equal(view.kind, "findings");
    assert.deepEqual(
      view.buttons.map((b) => b.label),
      ["Move to Bcc", "Send anyway", "Cancel"],
    );
    assert.match(view.findings[0].explanation, /240 people outside your organisation/);
    assert.equal(result.cancel, false);
    const visible = [...result.details.to, ...result.details.cc].map(address);
    assert.deepEqual(visible.filter((a) => !a.endsWith("@migration.example.gov.uk")), []);
    assert.equal(result.details.bcc.length, 240);
    assert.deepEqual(new Set(result.details.bcc.map(address)), new Set(applicants(240).map(address)));
    assert.equal(result.decision.decision, "fixed");
    const again = await postDecision(options(), { verdict_id: result.decision.verdict_id, decision: "fixed" }).catch((e) => e);
    assert.ok(again instanceof CheckError);
    assert.match(again.message, /already decided \(fixed\)/);
  });

  test("Send anyway needs a reason, and is recorded with it", async () => {
    const dialog = scripted({ id: "send-anyway", reason: "  " }, { id: "send-anyway", reason: "They all agreed to share addresses" });
    const result = await beforeSend(newsletter(applicants(240)), { options: options(), ask: dialog.ask });
    assert.equal(dialog.shown.length, 2);
    assert.equal(dialog.shown[0].buttons.find((b) => b.id === "send-anyway").needsReason, true);
    assert.match(dialog.shown[1].error, /Say why/);
    assert.deepEqual(result, { cancel: false, decision: result.decision });
    assert.equal(result.decision.decision, "sent_anyway");
    assert.equal(result.decision.incident_id, null); // a fix-level verdict: no incident
  });

  test("Cancel does not send and is recorded", async () => {
    const dialog = scripted({ id: "cancel" });
    const result = await beforeSend(newsletter(applicants(240)), { options: options(), ask: dialog.ask });
    assert.equal(result.cancel, true);
    assert.equal(result.details, undefined);
    assert.equal(result.decision.decision, "cancelled");
  });

  test("closing the dialog counts as Cancel", async () => {
    const result = await beforeSend(newsletter(applicants(240)), { options: options(), ask: async () => undefined });
    assert.equal(result.cancel, true);
  });
});

test("a clean draft is sent without a question", async () => {
  const dialog = scripted();
  const draft = { ...newsletter([`Kim Lee <kim.lee@migration.example.gov.uk>`]), subject: "Lunch", plainTextBody: "See you at noon.\n" };
  const result = await beforeSend(draft, { options: options(), ask: dialog.ask });
  assert.equal(dialog.shown.length, 0);
  assert.equal(result.cancel, false);
  assert.equal(result.details, undefined);
  assert.equal(result.decision.decision, "sent");
});

test("a typo in a known domain offers Replace X with Y", async () => {
  const draft = {
    from: `Sam Hale <${SAM}>`,
    to: ["Tom Reed <tom.reed@northwind-energy.co>", "Ada Keller <ada.keller@northwind-energy.co.uk>"],
    subject: "Outage plan",
    isPlainText: true,
    plainTextBody: "Hi Tom, Ada,\n\nThe outage plan for the substation works is below.\n",
  };
  const verdict = await checkDraft(options(SAM), draftFromDetails(draft).draft);
  const view = present(verdict);
  const replace = view.buttons.find((b) => b.label.startsWith("Replace "));
  assert.ok(replace, `no Replace button in ${JSON.stringify(view.buttons)}`);
  assert.match(replace.label, /^Replace tom\.reed@northwind-energy\.co with tom\.reed@northwind-energy\.co\.uk$/);
  const lists = applyFixes(verdict, replace.fixIds);
  assert.deepEqual(lists.to.map(address).sort(), ["ada.keller@northwind-energy.co.uk", "tom.reed@northwind-energy.co.uk"]);
  const recorded = await postDecision(options(SAM), { verdict_id: verdict.verdict_id, decision: "fixed", fix_ids: replace.fixIds, ...lists });
  assert.equal(recorded.decision, "fixed");
});

describe("when missend cannot answer, the sender decides", () => {
  const badToken = () => ({ baseUrl: api.baseUrl, token: "msd_000000000000_not-a-real-token" });

  test("a bad token shows a clear error and cancels if the sender cancels", async () => {
    const dialog = scripted({ id: "cancel" });
    const result = await beforeSend(newsletter(applicants(3)), { options: badToken(), ask: dialog.ask });
    assert.deepEqual(result, { cancel: true });
    assert.equal(dialog.shown.length, 1);
    const view = dialog.shown[0];
    assert.equal(view.kind, "error");
    assert.equal(view.headline, "missend could not check this message");
    assert.match(view.message, /did not accept the add-in's token/);
    assert.deepEqual(view.buttons.map((b) => b.label), ["Send without checking", "Cancel"]);
  });

  test("a bad token sends unchanged only when the sender says so", async () => {
    const dialog = scripted({ id: "send-unchecked" });
    const result = await beforeSend(newsletter(applicants(3)), { options: badToken(), ask: dialog.ask });
    assert.deepEqual(result, { cancel: false, unchecked: true });
    assert.equal(dialog.shown.length, 1);
  });

  test("a server that is not there, or no settings at all, ask too", async () => {
    const down = { baseUrl: `http://127.0.0.1:${await freePort()}`, token: "msd_x_y" };
    for (const [settings, pattern] of [
      [down, /could not be reached at http:\/\/127\.0\.0\.1:\d+\./],
      [{ baseUrl: "", token: "" }, /not set up yet/],
    ]) {
      const dialog = scripted({ id: "cancel" });
      const result = await beforeSend(newsletter(applicants(3)), { options: settings, ask: dialog.ask });
      assert.deepEqual(result, { cancel: true });
      assert.match(dialog.shown[0].message, pattern);
    }
  });

  test("a token for another sender is refused with the reason", async () => {
    const error = await checkDraft(options(SAM), draftFromDetails(newsletter(applicants(3))).draft).catch((e) => e);
    assert.ok(error instanceof CheckError);
    assert.equal(error.kind, "auth");
    assert.match(error.message, /only check messages from its own sender/);
  });
});

describe("gathering the draft", () => {
  test("address-book entries and lists become addresses", async () => {
    const found = await resolveRecipients(["a@x.example", { id: "c1", type: "contact" }, { id: "l1", type: "mailingList" }, "  "], {
      contact: async (id) => (id === "c1" ? "Bea <bea@x.example>" : null),
      mailingList: async () => ["c@x.example", "d@x.example"],
    });
    assert.deepEqual(found, ["a@x.example", "Bea <bea@x.example>", "c@x.example", "d@x.example"]);
  });

  test("attachments are sent base64 up to the budget, the rest named", () => {
    const bytes = new TextEncoder().encode("name,ni\nAda,QQ123456C\n");
    const { draft, skipped } = draftFromDetails(
      { from: `Sam <${SAM}>`, to: ["x@y.example"], body: "<p>Hi</p>", plainTextBody: "Hi", isPlainText: false },
      {
        attachments: [
          { name: "list.csv", type: "text/csv", bytes },
          { name: "huge.bin", type: "application/octet-stream", bytes: new Uint8Array(200) },
        ],
        maxBytes: 100,
        inReplyTo: "<1@y.example>",
      },
    );
    assert.deepEqual(skipped, ["huge.bin"]);
    assert.equal(draft.attachments.length, 1);
    assert.equal(atob(draft.attachments[0].content), "name,ni\nAda,QQ123456C\n");
    assert.equal(draft.attachments[0].content_type, "text/csv");
    assert.equal(draft.html, "<p>Hi</p>");
    assert.equal(draft.text, "Hi");
    assert.equal(draft.in_reply_to, "<1@y.example>");
  });

  test("findings the chosen fix does not answer keep the message back for another look", async () => {
    const verdict = {
      verdict_id: "v",
      action: "hold",
      reason_required: true,
      findings: [
        { detector: "exposed-recipients", action: "fix", severity: 0.6, title: "t", explanation: "e", recipients: [], fix_id: "fix-1" },
        { detector: "personal-data", action: "hold", severity: 0.9, title: "t2", explanation: "e2", recipients: [], fix_id: "fix-2" },
      ],
      fixes: [
        { id: "fix-1", kind: "move-to-bcc", label: "Move to Bcc", description: "", result: { to: [], cc: [], bcc: ["a@b.example"] } },
        { id: "fix-2", kind: "remove-attachment", label: "Remove list.csv", description: "Remove list.csv before sending.", result: null },
      ],
      fixed: { to: [], cc: [], bcc: ["a@b.example"] },
    };
    const view = present(verdict);
    assert.deepEqual(view.findings.map((f) => f.title), ["t2", "t"]); // most severe first
    assert.deepEqual(view.advice, ["Remove list.csv before sending."]);
    const fetch = async (url) => {
      if (url.endsWith("/v1/check")) return new Response(JSON.stringify(verdict), { status: 200 });
      return new Response(JSON.stringify({ verdict_id: "v", decision: "fixed" }), { status: 200 });
    };
    const result = await beforeSend(newsletter(["a@b.example"]), {
      options: { baseUrl: "http://missend.test", token: "t", fetch },
      ask: async () => ({ id: "fix-1" }),
    });
    assert.equal(result.cancel, true); // the attachment finding is still open
    assert.deepEqual(result.details, { to: [], cc: [], bcc: ["a@b.example"] });
  });
});
