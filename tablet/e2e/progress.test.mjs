// Nothing hidden from a signer: how many more records wait for them beyond the ten they hold,
// what "Nhận thêm hồ sơ" did, and what they signed today, each signature checked on the tablet
// (and found invalid when the document it is checked against was changed on the way).

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accessibilityViolations,
  DEPUTY_1,
  PORTRAIT,
  Ward,
  screenshot,
  signIn,
  waitUntil,
} from "./harness.mjs";

const LEASE_SIZE = 10;

test(
  "a deputy sees what more waits, what getting more did, and checks today's signatures",
  { timeout: 240_000 },
  async () => {
    const ward = await Ward.start(["--lease-size", String(LEASE_SIZE)]);
    try {
      const { context, page } = await ward.tablet(PORTRAIT);
      await signIn(page, ward, DEPUTY_1);
      await page.getByTestId("inbox-empty").waitFor();
      const waiting = page.getByTestId("waiting-more");
      await waiting.and(page.locator('[data-waiting="0"]')).waitFor();
      assert.equal(await waiting.innerText(), "Không còn hồ sơ nào khác chờ bạn.");

      const ids = [];
      for (let i = 1; i <= 13; i++)
        ids.push(
          await ward.submit("CT-BS", `Bản sao giấy khai sinh số ${i} - Phạm Thị Lan`, `progress-${i}`),
        );
      // Ten are held; the three others are said to wait, and why they do not come yet.
      await waitUntil(
        async () => (await page.getByTestId("record").count()) === LEASE_SIZE,
        "ten records held",
      );
      await waiting.and(page.locator('[data-waiting="3"]')).waitFor();
      assert.equal(
        await waiting.innerText(),
        "Còn 3 hồ sơ nữa chờ bạn. Mỗi lần bạn giữ tối đa 10 hồ sơ; ký xong, hồ sơ tiếp theo tự đến.",
      );
      await page.getByRole("button", { name: "Nhận thêm hồ sơ" }).click();
      await page
        .getByTestId("toast-ok")
        .getByText("Bạn đang giữ 10 hồ sơ, mức tối đa mỗi lần. Ký hoặc trả lại bớt để nhận thêm.")
        .waitFor();
      await screenshot(page, "waiting-more-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "waiting-more-portrait");

      // Ten signed with one PIN; the three come by themselves, and nothing else waits.
      const held = await page
        .getByTestId("record")
        .evaluateAll((rows) => rows.map((r) => r.dataset.recordId));
      await page.getByTestId("select-all").check();
      await page.getByTestId("approve-selected").click();
      const pin = page.getByTestId("pin-dialog");
      await pin.locator('input[name="pin"]').fill(DEPUTY_1.pin);
      await pin.getByRole("button", { name: "Xác nhận" }).click();
      await page.getByTestId("toast-ok").getByText("Đã ký 10 hồ sơ.").waitFor();
      await waitUntil(async () => (await page.getByTestId("record").count()) === 3, "the last three arrive");
      await waiting.and(page.locator('[data-waiting="0"]')).waitFor();
      await page.getByRole("button", { name: "Nhận thêm hồ sơ" }).click();
      await page.getByTestId("toast-ok").getByText("Không có hồ sơ nào khác đang chờ bạn.").waitFor();

      // Signed today: the ten, newest first, each signature checked on the tablet.
      await page.getByTestId("tab-signed").click();
      const signed = page.getByTestId("signed-record");
      await waitUntil(async () => (await signed.count()) === LEASE_SIZE, "ten signed today");
      const listed = await signed.evaluateAll((rows) => rows.map((r) => r.dataset.recordId));
      assert.deepEqual(new Set(listed), new Set(held));
      for (const id of listed) assert.equal((await ward.verify(id)).state, "SIGNED"); // openssl agrees
      const first = signed.first();
      await first.getByTestId("verify").click();
      const verdict = first.getByTestId("verdict");
      await verdict.and(page.locator('[data-valid="true"]')).waitFor();
      assert.match(
        await verdict.innerText(),
        /^Chữ ký hợp lệ: Lê Văn Phúc ký lúc \d\d:\d\d:\d\d, bằng chứng thư do .+ cấp\. Văn bản không bị thay đổi sau khi ký\.$/,
      );
      await screenshot(page, "signed-today-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "signed-today-portrait");

      // The same check against a document changed on its way to the tablet says so: one byte
      // of the PDF in the scheduler's answer is changed before the app reads it.
      await page.evaluate(() => {
        const real = window.fetch;
        window.fetch = async (input, init) => {
          const response = await real(input, init);
          if (!String(input.url ?? input).endsWith("/signq.v1.Inbox/GetDocument")) return response;
          const body = new Uint8Array(await response.arrayBuffer());
          const at = new TextDecoder("latin1").decode(body).indexOf("%PDF-1.");
          if (at < 0) throw new Error("the answer carries no PDF");
          body[at + 5] = body[at + 5] === 0x31 ? 0x32 : 0x31; // same length, other bytes
          return new Response(body, { status: response.status, headers: response.headers });
        };
      });
      const second = signed.nth(1);
      await second.getByTestId("verify").click();
      const bad = second.getByTestId("verdict");
      await bad.and(page.locator('[data-valid="false"]')).waitFor();
      assert.equal(await bad.innerText(), "Chữ ký KHÔNG hợp lệ: văn bản đã bị thay đổi sau khi ký.");
      await context.close();
    } finally {
      await ward.stop();
    }
  },
);
