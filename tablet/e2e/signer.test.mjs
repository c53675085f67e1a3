// A deputy's day on the tablet, end to end against `signq dev`: sign in, records arrive live,
// preview a PDF, return one with a reason, sign ten with one PIN (openssl verifies each), see
// overdue records in red. Then the bad days: the network cut in the middle of an approval, a
// reload without network, and signq killed with SIGKILL; each record is still signed once.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accessibilityViolations,
  Cable,
  DEPUTY_1,
  LANDSCAPE,
  PORTRAIT,
  Ward,
  screenshot,
  signIn,
  smallTargets,
  waitUntil,
} from "./harness.mjs";

const row = (page, id) => page.locator(`[data-testid="record"][data-record-id="${id}"]`);

/** Selects every record and approves them with the PIN; the cable is cut once they are signed. */
async function approveAndLoseTheAnswer(page, ward, cable, ids) {
  await page.getByTestId("select-all").check();
  await page.getByTestId("approve-selected").click();
  await page.getByTestId("pin-dialog").locator('input[name="pin"]').fill(DEPUTY_1.pin);
  cable.hold();
  await page.getByTestId("pin-dialog").getByRole("button", { name: "Xác nhận" }).click();
  for (const id of ids)
    await waitUntil(async () => (await ward.get(id)).state === "SIGNED", `${id} is signed`);
  cable.cut();
}

/**
 * A deputy signed in on a tablet whose network runs through a cable the test can hold and cut;
 * signq dev and the cable are stopped whatever happens.
 */
async function onCable(viewport, body) {
  const ward = await Ward.start(["--lease-size", "20"]);
  const cable = await Cable.plug(ward.scheduler);
  try {
    const { page } = await ward.tablet(viewport);
    await signIn(page, ward, DEPUTY_1, cable.url);
    await body({ ward, cable, page });
  } finally {
    cable.close();
    await ward.stop();
  }
}

/** Submits `n` records through Intake and waits until each shows on the tablet. */
async function submitAndSee(ward, page, n, procedure, title, key) {
  const ids = [];
  for (let i = 1; i <= n; i++) ids.push(await ward.submit(procedure, title(i), `${key}-${i}`));
  for (const id of ids) await row(page, id).waitFor();
  return ids;
}

test(
  "a deputy signs ten records with one PIN and returns one with a reason",
  { timeout: 180_000 },
  async () => {
    const ward = await Ward.start(["--lease-size", "20"]);
    try {
      const { context, page } = await ward.tablet(PORTRAIT);
      await signIn(page, ward, DEPUTY_1);
      await page.getByTestId("inbox-empty").waitFor();
      assert.deepEqual(await smallTargets(page), [], "touch targets on the empty inbox");

      // A record submitted through Intake appears without a reload (the inbox stream).
      const first = await ward.submit("CT-BS", "Bản sao giấy khai sinh - Nguyễn Văn An", "e2e-1");
      await row(page, first).waitFor();
      assert.match(await row(page, first).innerText(), /CT-BS/);
      assert.match(await row(page, first).innerText(), /Chứng thực bản sao từ bản chính/);

      const ids = [first];
      for (let i = 2; i <= 12; i++) {
        ids.push(
          await ward.submit(i % 2 ? "CT-CK" : "CT-BS", `Hồ sơ chứng thực số ${i} - Trần Thị Mai`, `e2e-${i}`),
        );
      }
      for (const id of ids) await row(page, id).waitFor();
      // Deadline order: the list is sorted by the deadline the scheduler computed.
      const shown = await page
        .getByTestId("record")
        .evaluateAll((rows) => rows.map((r) => r.dataset.recordId));
      assert.equal(shown.length, 12);
      assert.deepEqual(await smallTargets(page), [], "touch targets on a full inbox (portrait)");
      await screenshot(page, "inbox-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "inbox-portrait");

      // The document, drawn inline.
      const reject = ids[11];
      await row(page, reject).locator(".record-body").click();
      await page.locator('[data-testid="preview-pages"][data-pages="1"]').waitFor();
      await screenshot(page, "preview-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "preview-portrait");

      // Return one with a reason; intake sees it rejected.
      await page.getByTestId("preview").getByRole("button", { name: "Trả lại" }).click();
      const dialog = page.getByTestId("reason-dialog");
      await dialog.locator("textarea").fill("Bản sao không rõ dấu giáp lai, đề nghị nộp lại.");
      await dialog.getByRole("button", { name: "Trả lại" }).click();
      await row(page, reject).waitFor({ state: "detached" });
      assert.equal((await ward.get(reject)).state, "REJECTED");

      // Select the ten at the top (one stays) and sign them with one PIN.
      const batch = ids.slice(0, 10);
      for (const id of batch) await row(page, id).locator('input[type="checkbox"]').check();
      await page.getByTestId("approve-selected").click();
      const pin = page.getByTestId("pin-dialog");
      await pin.locator('input[name="pin"]').fill("000000");
      await screenshot(page, "pin-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "pin-portrait");
      await pin.getByRole("button", { name: "Xác nhận" }).click();
      // A wrong PIN is refused in the server's words, and nothing is signed.
      await pin
        .getByTestId("dialog-error")
        .getByText("Mã PIN không đúng. Còn 4 lần thử trước khi khóa.")
        .waitFor();
      assert.equal((await ward.get(batch[0])).state, "LEASED");
      await pin.locator('input[name="pin"]').fill(DEPUTY_1.pin);
      await pin.getByRole("button", { name: "Xác nhận" }).click();
      await page.getByTestId("toast-ok").getByText("Đã ký 10 hồ sơ.").waitFor();
      for (const id of batch) await row(page, id).waitFor({ state: "detached" });
      for (const id of batch) {
        const record = await ward.verify(id); // openssl cms -verify against the ward CA
        assert.equal(record.state, "SIGNED");
        assert.equal(record.signer, DEPUTY_1.id);
      }

      // The one left is due at the close of a working day (a certification: the same working
      // day, or the next after 15:00). The evening before, a full working day is left: not
      // urgent, whatever the clock says. A week after it: overdue, in red.
      const left = ids[10];
      const { deadline } = await ward.get(left);
      const dayStart = Math.floor((deadline + 7 * 3600_000) / 86_400_000) * 86_400_000 - 7 * 3600_000;
      await page.clock.setFixedTime(new Date(dayStart - 2 * 3600_000));
      await page.reload();
      const before = row(page, left).getByTestId("time-left");
      await before.and(page.locator('[data-working="true"]')).waitFor();
      assert.equal(await before.innerText(), "còn 1 ngày làm việc");
      assert.doesNotMatch((await before.getAttribute("class")) ?? "", /soon|overdue/);
      await page.clock.setFixedTime(new Date(deadline + 7 * 86_400_000));
      await page.reload();
      const late = row(page, left).getByTestId("time-left");
      await late.and(page.locator('[data-working="true"]')).waitFor();
      assert.match(await late.innerText(), /quá hạn .* làm việc/);
      assert.equal(await late.evaluate((el) => getComputedStyle(el).color), "rgb(179, 38, 30)");
      await screenshot(page, "overdue-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "overdue-portrait");

      await page.setViewportSize(LANDSCAPE);
      await row(page, left).locator(".record-body").click();
      await page.locator('[data-testid="preview-pages"][data-pages="1"]').waitFor();
      assert.deepEqual(await smallTargets(page), [], "touch targets with the preview (landscape)");
      await screenshot(page, "preview-landscape");
      assert.deepEqual(await accessibilityViolations(page), [], "preview-landscape");
      await context.close();
    } finally {
      await ward.stop();
    }
  },
);

test(
  "a network cut in the middle of an approval shows the banner and signs each record once",
  { timeout: 180_000 },
  () =>
    onCable(LANDSCAPE, async ({ ward, cable, page }) => {
      const ids = await submitAndSee(ward, page, 3, "CT-BS", (i) => `Bản sao hợp đồng số ${i}`, "cut");
      const signaturesBefore = await ward.counter("signq_signer_signatures_total");

      // The approval reaches the scheduler and is signed, but the cable is cut before the answer
      // comes back: the tablet cannot know whether it signed.
      await approveAndLoseTheAnswer(page, ward, cable, ids);

      const banner = page.getByTestId("offline-banner");
      await banner.getByText("Mất kết nối mạng").waitFor();
      await banner.getByText("Đang chờ xác nhận ký 3 hồ sơ").waitFor();
      await screenshot(page, "offline-landscape");
      assert.deepEqual(await accessibilityViolations(page), [], "offline-landscape");
      // Nothing is lost: the records stay on screen while the answer is unknown, and retries keep
      // failing while the cable is out.
      await new Promise((r) => setTimeout(r, 2_000));
      for (const id of ids) assert.equal(await row(page, id).count(), 1);
      assert.equal(await banner.count(), 1);

      // Plugged back in: the same request goes again and gets the stored signatures back.
      cable.restore();
      await page.getByTestId("toast-ok").getByText("Đã ký 3 hồ sơ.").waitFor({ timeout: 30_000 });
      await banner.waitFor({ state: "detached", timeout: 30_000 });
      for (const id of ids) await row(page, id).waitFor({ state: "detached" });

      const signaturesAfter = await ward.counter("signq_signer_signatures_total");
      assert.equal(
        signaturesAfter - signaturesBefore,
        ids.length,
        "the signer service signed each record exactly once",
      );
      for (const id of ids) {
        const record = await ward.verify(id);
        assert.equal(record.signer, DEPUTY_1.id);
      }
    }),
);

test(
  "a reload without network keeps the inbox, and the interrupted approval is finished with the PIN",
  { timeout: 180_000 },
  () =>
    onCable(LANDSCAPE, async ({ ward, cable, page }) => {
      // Once the service worker runs, one more load puts the app's shell in its cache.
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      await page.reload();
      await page.getByTestId("who").waitFor();
      assert.ok(
        await page.evaluate(() => navigator.serviceWorker.controller !== null),
        "the service worker controls the page",
      );
      const ids = await submitAndSee(
        ward,
        page,
        2,
        "CT-HD",
        (i) => `Hợp đồng mua bán xe máy số ${i}`,
        "reload",
      );
      const signaturesBefore = await ward.counter("signq_signer_signatures_total");

      await approveAndLoseTheAnswer(page, ward, cable, ids);
      await page.getByTestId("offline-banner").getByText("Đang chờ xác nhận ký 2 hồ sơ").waitFor();

      // Reloaded with the cable out: the app, the inbox as last seen and the unconfirmed batch.
      await page.reload();
      await page.getByTestId("offline-banner").getByText("Mất kết nối mạng").waitFor();
      for (const id of ids) await row(page, id).waitFor();
      assert.match(await row(page, ids[0]).innerText(), /Chứng thực hợp đồng, giao dịch/);
      await page.getByTestId("interrupted").getByText("Lần ký 2 hồ sơ trước chưa được xác nhận").waitFor();
      await screenshot(page, "interrupted-landscape");
      assert.deepEqual(await accessibilityViolations(page), [], "interrupted-landscape");
      await screenshot(page, "offline-reload-landscape");
      assert.deepEqual(await accessibilityViolations(page), [], "offline-reload-landscape");

      // Back online: the server's snapshot no longer holds them; the PIN finishes the batch, which
      // gets the signatures already made.
      cable.restore();
      for (const id of ids) await row(page, id).waitFor({ state: "detached", timeout: 30_000 });
      await page.getByTestId("interrupted").getByRole("button", { name: "Hoàn tất" }).click();
      await page.getByTestId("pin-dialog").locator('input[name="pin"]').fill(DEPUTY_1.pin);
      await page.getByTestId("pin-dialog").getByRole("button", { name: "Xác nhận" }).click();
      await page.getByTestId("toast-ok").getByText("Đã ký 2 hồ sơ.").waitFor();
      await page.getByTestId("interrupted").waitFor({ state: "detached" });

      const signaturesAfter = await ward.counter("signq_signer_signatures_total");
      assert.equal(signaturesAfter - signaturesBefore, ids.length, "each record signed exactly once");
      for (const id of ids) assert.equal((await ward.verify(id)).signer, DEPUTY_1.id);
    }),
);

test(
  "signq killed with SIGKILL after signing: the tablet stays signed in and the batch goes through, signing nothing twice",
  { timeout: 180_000 },
  () =>
    onCable(PORTRAIT, async ({ ward, cable, page }) => {
      const ids = await submitAndSee(
        ward,
        page,
        2,
        "CT-CK",
        (i) => `Chứng thực chữ ký giấy ủy quyền số ${i}`,
        "crash",
      );
      await approveAndLoseTheAnswer(page, ward, cable, ids);
      await page.getByTestId("offline-banner").getByText("Đang chờ xác nhận ký 2 hồ sơ").waitFor();

      // The process dies with the signatures stored but unacknowledged to the tablet. Its
      // sessions are in its store: the tablet is still signed in once it is back, and the batch
      // it kept sending goes through by itself, answered with the signatures made before.
      await ward.killAndRestart();
      cable.restore(ward.scheduler);
      await page.getByTestId("toast-ok").getByText("Đã ký 2 hồ sơ.").waitFor({ timeout: 60_000 });
      assert.equal(
        await page.getByRole("heading", { name: "Đăng nhập để ký" }).count(),
        0,
        "still signed in",
      );
      await screenshot(page, "resumed-after-restart-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "resumed-after-restart-portrait");

      // The restarted signer service signed nothing: the batch got the signatures made before.
      assert.equal(await ward.counter("signq_signer_signatures_total"), 0);
      for (const id of ids) assert.equal((await ward.verify(id)).signer, DEPUTY_1.id);
      assert.match(await ward.signq("audit", "verify"), /audit chain OK/);
    }),
);

/** Collects, from now on, every success notice that appears on `page`: a function reading them. */
async function countSuccessNotices(page) {
  await page.evaluate(() => {
    window.__successNotices = [];
    const seen = new Set();
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('[data-testid="toast-ok"]')) {
        if (seen.has(el.dataset.notice)) continue;
        seen.add(el.dataset.notice);
        window.__successNotices.push(el.firstChild?.textContent ?? "");
      }
    }).observe(document.body, { subtree: true, childList: true });
  });
  return () => page.evaluate(() => window.__successNotices);
}

test(
  "signed rows leave the list as soon as the answer says so, even with the inbox stream down, and the success is said once",
  { timeout: 180_000 },
  async () => {
    const ward = await Ward.start(["--lease-size", "20"]);
    try {
      const { page } = await ward.tablet(LANDSCAPE);
      await signIn(page, ward, DEPUTY_1);
      const ids = await submitAndSee(ward, page, 3, "CT-BS", (i) => `Bản sao sổ hộ khẩu số ${i}`, "known");
      // From here the inbox stream cannot reach the scheduler (the open one is dropped as when
      // the browser loses the network, and every new one fails): only the approval's answer
      // tells the tablet what was signed.
      await page.route("**/signq.v1.Inbox/StreamInbox", (route) => route.abort());
      await page.evaluate(() => window.dispatchEvent(new Event("offline")));
      const notices = await countSuccessNotices(page);

      await page.getByTestId("select-all").check();
      await page.getByTestId("approve-selected").click();
      await page.getByTestId("pin-dialog").locator('input[name="pin"]').fill(DEPUTY_1.pin);
      await page.getByTestId("pin-dialog").getByRole("button", { name: "Xác nhận" }).click();
      await page.getByTestId("toast-ok").getByText("Đã ký 3 hồ sơ.").waitFor();
      for (const id of ids) await row(page, id).waitFor({ state: "detached", timeout: 5_000 });
      assert.equal(await page.getByTestId("select-all").isDisabled(), true, "nothing left to select");
      assert.deepEqual(await notices(), ["Đã ký 3 hồ sơ."], "said once");

      // A reload while the stream is still down shows the kept inbox: without them.
      await page.reload();
      await page.getByTestId("inbox-empty").waitFor();
      for (const id of ids) assert.equal(await row(page, id).count(), 0, `${id} is not shown again`);

      // The stream back: the same inbox, and no second "signed".
      const again = await countSuccessNotices(page);
      await page.unroute("**/signq.v1.Inbox/StreamInbox");
      await page.evaluate(() => window.dispatchEvent(new Event("online")));
      await page.getByTestId("offline-banner").waitFor({ state: "detached", timeout: 30_000 });
      const more = await ward.submit("CT-BS", "Bản sao sổ hộ khẩu số 4", "known-4");
      await row(page, more).waitFor();
      assert.deepEqual(await again(), [], "nothing is said signed a second time");
      for (const id of ids) {
        const record = await ward.get(id);
        assert.equal(record.state, "SIGNED");
      }
      assert.equal(await ward.counter("signq_signer_signatures_total"), 3, "each signed once");
    } finally {
      await ward.stop();
    }
  },
);

test(
  "a selection larger than one call accepts is signed in parts under one PIN and reported as one",
  { timeout: 300_000 },
  async () => {
    const n = 105;
    const ward = await Ward.start(["--lease-size", String(n)]);
    try {
      const { page } = await ward.tablet(PORTRAIT);
      await signIn(page, ward, DEPUTY_1);
      const ids = [];
      // Eight submits at a time: a one-stop desk's morning batch.
      for (let i = 0; i < n; i += 8) {
        const lane = [];
        for (let j = i + 1; j <= Math.min(i + 8, n); j++)
          lane.push(ward.submit("CT-BS", `Bản sao văn bằng số ${j} - Nguyễn Thị Thu Hà`, `large-${j}`));
        ids.push(...(await Promise.all(lane)));
      }
      await waitUntil(async () => (await page.getByTestId("record").count()) === n, `${n} records on screen`);
      const notices = await countSuccessNotices(page);

      await page.getByTestId("select-all").check();
      await page.getByTestId("approve-selected").click();
      const pin = page.getByTestId("pin-dialog");
      await pin.locator('input[name="pin"]').fill(DEPUTY_1.pin);
      await pin.getByRole("button", { name: "Xác nhận" }).click();
      await page.getByTestId("toast-ok").getByText(`Đã ký ${n} hồ sơ.`).waitFor({ timeout: 120_000 });
      await page.getByTestId("inbox-empty").waitFor();
      assert.equal(await page.getByTestId("toast-error").count(), 0, "no refusal");
      assert.deepEqual(await notices(), [`Đã ký ${n} hồ sơ.`], "one outcome, said once");
      assert.equal(await ward.counter("signq_signer_signatures_total"), n, "each signed once");
      for (const id of [ids[0], ids[99], ids[n - 1]]) assert.equal((await ward.get(id)).state, "SIGNED");
    } finally {
      await ward.stop();
    }
  },
);

test(
  "what a newcomer meets: the PIN field focused, the ward by name, instructions instead of zero, a preview that takes focus and closes with Escape, a destructive return",
  { timeout: 180_000 },
  async () => {
    const ward = await Ward.start(["--lease-size", "20"]);
    try {
      const { page } = await ward.tablet(LANDSCAPE);
      await page.goto(ward.url);
      await page.getByTestId("device").getByText(DEPUTY_1.name).waitFor();
      // Sign in: type at once; the page names the product and the ward.
      await waitUntil(
        () => page.evaluate(() => document.activeElement?.getAttribute("name") === "pin"),
        "the PIN field has the focus",
      );
      assert.equal(await page.title(), "signq · Phường Cát Lái");
      assert.deepEqual(await accessibilityViolations(page), [], "sign-in");
      await page.keyboard.type(DEPUTY_1.pin);
      await page.keyboard.press("Enter");
      await page.getByTestId("who").getByText(DEPUTY_1.name).waitFor();
      assert.equal(await page.getByTestId("ward-name").innerText(), "Phường Cát Lái");
      assert.equal(await page.title(), "signq · Phường Cát Lái");

      const long =
        "Bản sao trích lục khai sinh và giấy xác nhận tình trạng hôn nhân của Nguyễn Hoàng Phương Thảo " +
        "kèm theo hợp đồng ủy quyền số 1234/2026/HĐUQ-CCPT-TP.HCM-QUẬN7-PHƯỜNGTÂNTHUẬNĐÔNG";
      const ids = [
        await ward.submit("CT-BS", long, "newcomer-1"),
        await ward.submit("CT-BS", "Bản sao giấy khai sinh số 2", "newcomer-2"),
      ];
      for (const id of ids) await row(page, id).waitFor();

      // Nothing selected: the button says what to do, not "Ký 0 hồ sơ".
      const sign = page.getByTestId("approve-selected");
      assert.equal(await sign.innerText(), "Chọn hồ sơ để ký");
      assert.equal(await sign.isDisabled(), true);
      // One of two selected: "Chọn tất cả" shows a partial selection; one record is no batch.
      await row(page, ids[1]).locator('input[type="checkbox"]').check();
      const all = page.getByTestId("select-all");
      assert.equal(
        await all.evaluate((el) => el.indeterminate),
        true,
        "select-all shows a partial selection",
      );
      assert.equal(await all.isChecked(), false);
      await sign.click();
      const pin = page.getByTestId("pin-dialog");
      await pin.waitFor();
      assert.equal(
        await pin.getByText("Một lần nhập PIN cho cả lô.").count(),
        0,
        "no batch hint for one record",
      );
      await pin.getByRole("button", { name: "Hủy" }).click();
      await all.check();
      assert.equal(await all.evaluate((el) => el.indeterminate), false);
      await sign.click();
      await pin.getByText("Một lần nhập PIN cho cả lô.").waitFor();
      assert.deepEqual(await accessibilityViolations(page), [], "the PIN dialog");
      await pin.getByRole("button", { name: "Hủy" }).click();
      await all.uncheck();

      // The preview of the long title: focus moves into it, "Đóng" stays whole, Escape closes.
      await row(page, ids[0]).locator(".record-body").click();
      const preview = page.getByTestId("preview");
      await page.locator('[data-testid="preview-pages"][data-pages="1"]').waitFor();
      await waitUntil(
        () => preview.evaluate((el) => el.contains(document.activeElement)),
        "the focus is inside the preview",
      );
      const close = preview.getByRole("button", { name: "Đóng" });
      const [box, area] = [await close.boundingBox(), await preview.boundingBox()];
      assert.ok(box.x >= area.x && box.x + box.width <= area.x + area.width + 0.5, "Đóng inside the preview");
      assert.equal(await close.evaluate((el) => el.scrollWidth <= el.clientWidth), true, "Đóng not clipped");
      await screenshot(page, "preview-long-title-landscape");
      assert.deepEqual(await accessibilityViolations(page), [], "preview-long-title-landscape");
      await page.keyboard.press("Escape");
      await preview.waitFor({ state: "detached" });

      // Returning a record: the confirmation looks destructive, and the "reason needed" error goes
      // away once a reason is typed.
      await row(page, ids[1]).locator(".record-body").click();
      await preview.getByRole("button", { name: "Trả lại" }).click();
      const reason = page.getByTestId("reason-dialog");
      const confirm = reason.getByRole("button", { name: "Trả lại" });
      assert.match((await confirm.getAttribute("class")) ?? "", /\bdanger\b/);
      await reason.locator("textarea").fill("   ");
      await confirm.click();
      await reason.getByTestId("dialog-error").waitFor();
      assert.deepEqual(await accessibilityViolations(page), [], "the reason dialog with its error");
      await reason.locator("textarea").fill("Thiếu bản chính để đối chiếu.");
      assert.equal(
        await reason.getByTestId("dialog-error").count(),
        0,
        "the error cleared as the reason was typed",
      );
      // Escape in the dialog closes the dialog, not the preview under it.
      await page.keyboard.press("Escape");
      await reason.waitFor({ state: "detached" });
      assert.equal(await preview.count(), 1);
    } finally {
      await ward.stop();
    }
  },
);

test(
  "refusals in the person's words: wrong PINs count down, and the lockout says until when and whom to call",
  { timeout: 180_000 },
  async () => {
    const ward = await Ward.start(["--lease-size", "20"]);
    try {
      const { page } = await ward.tablet(PORTRAIT);
      await signIn(page, ward, DEPUTY_1);
      const [id] = await submitAndSee(ward, page, 1, "CT-BS", () => "Bản sao bằng tốt nghiệp", "locked");
      await row(page, id).locator('input[type="checkbox"]').check();
      await page.getByTestId("approve-selected").click();
      const pin = page.getByTestId("pin-dialog");
      const error = pin.getByTestId("dialog-error");
      for (const left of [4, 3, 2, 1]) {
        await pin.locator('input[name="pin"]').fill("000000");
        await pin.getByRole("button", { name: "Xác nhận" }).click();
        await error.getByText(`Mã PIN không đúng. Còn ${left} lần thử trước khi khóa.`).waitFor();
      }
      await pin.locator('input[name="pin"]').fill("000000");
      await pin.getByRole("button", { name: "Xác nhận" }).click();
      await error.getByText("Khóa ký đã bị khóa đến").waitFor();
      const said = await error.innerText();
      assert.match(said, /đến \d{2}:\d{2}/, "until when");
      assert.match(said, /gọi cán bộ công nghệ thông tin của phường/, "whom to call");
      assert.doesNotMatch(said, /locked|signer|PIN for|attempt/i, "no developer English");
      await screenshot(page, "locked-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "locked-portrait");
      assert.equal((await ward.get(id)).state, "LEASED", "nothing signed");
    } finally {
      await ward.stop();
    }
  },
);
