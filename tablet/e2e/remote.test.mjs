// A director whose key is at a remote signing provider (CSC API v2), on the tablet, end to end
// against `signq dev --remote-provider` and the strict CSC test provider as its own process. The
// PIN signs nothing yet: the tablet shows the waiting panel with the code the signing app shows
// too and the time left, the records stay with the director marked as waiting (they cannot be
// approved again), and a reload brings the panel back. Confirmed in the app, the records are
// signed (openssl and pdfsig judge them) and the tablet says so once; left to expire, they go
// back to the queue, the tablet says why, and they can be signed again.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accessibilityViolations,
  LANDSCAPE,
  PORTRAIT,
  REMOTE_DIRECTOR,
  SigningProvider,
  Ward,
  screenshot,
  signIn,
  smallTargets,
} from "./harness.mjs";

const row = (page, id) => page.locator(`[data-testid="record"][data-record-id="${id}"]`);

/** A ward whose signing service knows `provider`, with the remote director registered and enrolled. */
async function withRemoteDirector(timeoutSecs, body) {
  const provider = await SigningProvider.start({ timeoutSecs });
  let ward = null;
  try {
    ward = await Ward.start(["--remote-provider", provider.remote]);
    await ward.enrolRemoteSigner(REMOTE_DIRECTOR, provider);
    await body({ ward, provider });
    const report = await provider.report();
    assert.deepEqual(report.violations, [], "the provider saw the specification kept");
  } finally {
    await ward?.stop();
    await provider.stop();
  }
}

/** Counts, in the page, each time a toast saying "signed" appears (from now until a reload). */
async function countSignedToasts(page) {
  await page.evaluate(() => {
    const seen = [];
    window.signedToasts = seen;
    let shown = false;
    const look = () => {
      // The toast's own words, without its close button.
      const text = document.querySelector('[data-testid="toast-ok"]')?.firstChild?.textContent ?? "";
      const now = /Đã ký|Signed/.test(text);
      if (now && !shown) seen.push(text);
      shown = now;
    };
    new MutationObserver(look).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
}

/** Selects every record that can be selected, and approves them with the remote director's PIN. */
async function approveAll(page, confirm = "Xác nhận") {
  await page.getByTestId("select-all").check();
  await page.getByTestId("approve-selected").click();
  await page.getByTestId("pin-dialog").locator('input[name="pin"]').fill(REMOTE_DIRECTOR.pin);
  await page.getByTestId("pin-dialog").getByRole("button", { name: confirm }).click();
  await page.getByTestId("pin-dialog").waitFor({ state: "detached" });
}

/** Waits until `read()` gives something other than `before` (30 seconds at most). */
async function changes(read, before) {
  const until = Date.now() + 30_000;
  for (;;) {
    const now = await read();
    if (now !== before) return now;
    if (Date.now() > until) throw new Error(`still ${before}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test(
  "a remote director approves two records, confirms in the signing app, and the tablet says signed once",
  { timeout: 240_000 },
  () =>
    withRemoteDirector(300, async ({ ward, provider }) => {
      const ids = [
        await ward.submit("DD-BD", "Đăng ký biến động đất đai - thửa 21, tờ 4", "remote-1"),
        await ward.submit("DD-BD", "Đăng ký biến động đất đai - thửa 22, tờ 4", "remote-2"),
      ];
      const { context, page } = await ward.tablet(PORTRAIT, REMOTE_DIRECTOR);
      await signIn(page, ward, REMOTE_DIRECTOR);
      for (const id of ids) await row(page, id).waitFor();
      await countSignedToasts(page);

      await approveAll(page);
      const panel = page.getByRole("region", { name: "Xác nhận trong ứng dụng ký số" });
      await panel.waitFor();
      const code = (await panel.getByTestId("confirmation-code").innerText()).trim();
      assert.match(code, /^[0-9A-Z]+(-[0-9A-Z]+)*$/, "a short code");
      assert.equal(await panel.getByTestId("confirmation-records").innerText(), "2 hồ sơ chờ bạn xác nhận");
      await panel.getByText("Hồ sơ vẫn ở với bạn cho đến khi bạn xác nhận").waitFor();
      // The time left counts down, minutes and seconds, to the confirmation's expiry.
      const timer = panel.getByRole("timer");
      const before = await timer.innerText();
      assert.match(before, /^0[45]:[0-5]\d$/, "about five minutes");
      assert.match(await changes(() => timer.innerText(), before), /^0[45]:[0-5]\d$/);
      // Read out once to a screen reader, with the code.
      assert.match(await page.getByTestId("confirmation-announcement").innerText(), new RegExp(code));

      // The signing app shows the same code, for both signatures at once.
      const asked = await provider.waitForPending();
      assert.equal(asked.num_signatures, 2);
      assert.ok(asked.description?.includes(code), `${asked.description} shows ${code}`);

      // Nothing is signed yet, and nothing said so.
      assert.deepEqual(await page.evaluate(() => window.signedToasts), []);
      for (const id of ids) {
        assert.equal((await ward.get(id)).state, "LEASED");
        await row(page, id).getByTestId("waiting-badge").getByText(`Chờ xác nhận ${code}`).waitFor();
        assert.ok(await row(page, id).locator('input[type="checkbox"]').isDisabled(), "not selectable");
      }
      assert.ok(await page.getByTestId("select-all").isDisabled());
      assert.ok(await page.getByTestId("approve-selected").isDisabled());
      // Opened, a waiting record can be read but not signed again.
      await row(page, ids[0]).locator(".record-body").click();
      await page.getByTestId("preview-waiting").getByText(code).waitFor();
      assert.equal(
        await page.getByTestId("preview").getByRole("button", { name: "Ký hồ sơ này" }).count(),
        0,
      );
      await page.getByTestId("preview").getByRole("button", { name: "Đóng" }).click();
      assert.deepEqual(await smallTargets(page), [], "touch targets with the waiting panel (portrait)");
      await screenshot(page, "remote-waiting-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "remote-waiting-portrait");
      await page.setViewportSize(LANDSCAPE);
      assert.deepEqual(await smallTargets(page), [], "touch targets with the waiting panel (landscape)");
      await screenshot(page, "remote-waiting-landscape");
      assert.deepEqual(await accessibilityViolations(page), [], "remote-waiting-landscape");

      // A reload: the panel comes back from the inbox, with the same code and time.
      await page.reload();
      await page.getByTestId("confirmation").getByTestId("confirmation-code").getByText(code).waitFor();
      assert.match(await page.getByRole("timer").innerText(), /^0[45]:[0-5]\d$/);
      for (const id of ids) await row(page, id).getByTestId("waiting-badge").waitFor();
      await countSignedToasts(page);

      // The person confirms in the app: the records are signed, and the tablet says so once.
      await provider.decide(asked.handle, "confirm");
      await page.getByTestId("toast-ok").getByText("Đã ký 2 hồ sơ.").waitFor({ timeout: 60_000 });
      await page.getByTestId("inbox-empty").waitFor();
      assert.equal(await page.getByTestId("confirmation").count(), 0, "the panel is gone");
      await page.getByTestId("toast-ok").waitFor({ state: "detached", timeout: 30_000 });
      assert.deepEqual(await page.evaluate(() => window.signedToasts), ["Đã ký 2 hồ sơ."]);
      for (const id of ids) {
        const record = await ward.verify(id); // openssl against the ward CA; pdfsig on the PDF
        assert.equal(record.state, "SIGNED");
        assert.equal(record.signer, REMOTE_DIRECTOR.id);
      }
      assert.equal((await provider.report()).signed, 2, "two hashes signed, each once");
      await context.close();
    }),
);

test(
  "a confirmation left to expire returns the record, which the tablet says and lets be signed again",
  { timeout: 240_000 },
  () =>
    withRemoteDirector(5, async ({ ward, provider }) => {
      const id = await ward.submit("DD-BD", "Đăng ký biến động đất đai - thửa 30, tờ 9", "remote-late");
      const { context, page } = await ward.tablet(LANDSCAPE, REMOTE_DIRECTOR);
      await signIn(page, ward, REMOTE_DIRECTOR);
      await row(page, id).waitFor();
      // In English this time.
      await page.getByTestId("lang-en").click();
      await approveAll(page, "Confirm");
      const panel = page.getByRole("region", { name: "Confirm in your signing app" });
      await panel.waitFor();
      const code = (await panel.getByTestId("confirmation-code").innerText()).trim();
      assert.equal(
        await panel.getByTestId("confirmation-records").innerText(),
        "1 record waiting for your confirmation",
      );
      assert.match(await panel.getByRole("timer").innerText(), /^00:0[0-5]$/);
      await row(page, id).getByTestId("waiting-badge").getByText(`Awaiting confirmation ${code}`).waitFor();
      assert.deepEqual(await smallTargets(page), [], "touch targets with the waiting panel (English)");
      await screenshot(page, "remote-waiting-landscape-en");
      assert.deepEqual(await accessibilityViolations(page), [], "remote-waiting-landscape-en");
      const asked = await provider.waitForPending();
      assert.ok(asked.description?.includes(code));

      // Nobody confirms: the time runs out, the record goes back to the queue (and, the director
      // being the one signed in, back to them), and the tablet says why.
      const ended = page.getByTestId("confirmation-ended");
      await ended
        .getByText(`Time ran out to confirm code ${code}; the records are back in the queue.`)
        .waitFor({ timeout: 60_000 });
      assert.equal(await ended.getAttribute("role"), "alert");
      await page.getByTestId("confirmation").waitFor({ state: "detached" });
      const back = row(page, id).locator('input[type="checkbox"]');
      await back.and(page.locator(":enabled")).waitFor({ timeout: 30_000 });
      assert.equal(await row(page, id).getByTestId("waiting-badge").count(), 0);
      assert.equal((await ward.get(id)).state, "LEASED");
      assert.deepEqual(await smallTargets(page), [], "touch targets with the notice");
      await screenshot(page, "remote-unconfirmed-landscape-en");
      assert.deepEqual(await accessibilityViolations(page), [], "remote-unconfirmed-landscape-en");
      // The same in Vietnamese.
      await page.getByTestId("lang-vi").click();
      await ended.getByText(`Hết thời gian xác nhận mã ${code}; hồ sơ đã trở lại hàng đợi.`).waitFor();

      // Selectable again: approved again, a new code; the notice is old news.
      await back.check();
      assert.ok(await page.getByTestId("approve-selected").isEnabled());
      await approveAll(page);
      const again = page.getByTestId("confirmation").getByTestId("confirmation-code");
      await again.waitFor();
      assert.equal(await ended.count(), 0, "the notice went with the new approval");
      const second = await provider.waitForPending([asked.handle]);
      assert.ok(second.description?.includes((await again.innerText()).trim()));
      await provider.decide(second.handle, "confirm");
      await page.getByTestId("toast-ok").getByText("Đã ký 1 hồ sơ.").waitFor({ timeout: 60_000 });
      const record = await ward.verify(id);
      assert.deepEqual([record.state, record.signer], ["SIGNED", REMOTE_DIRECTOR.id]);
      assert.equal((await provider.report()).signed, 1, "only the batch confirmed in time was signed");
      await context.close();
    }),
);
