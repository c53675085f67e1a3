// The clerk (văn thư) on the tablet, end to end against `signq dev --seal clerk`: a PDF the
// director signed waits in the clerk's inbox, which speaks of the seal; one PIN seals it, and
// the sealed PDF carries both signatures, which pdfsig reports valid, the director's checked with
// openssl too.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accessibilityViolations,
  DIRECTOR,
  PORTRAIT,
  Ward,
  screenshot,
  signIn,
  smallTargets,
} from "./harness.mjs";

const CLERK = { id: "cat-lai/clerk", pin: "864200", name: "Ủy ban nhân dân Phường Cát Lái" };

/** Approves the record `id` on `page` with `who`'s PIN and waits for the toast saying `done`. */
async function approve(page, id, who, done) {
  const row = page.locator(`[data-testid="record"][data-record-id="${id}"]`);
  await row.waitFor();
  await row.locator('input[type="checkbox"]').check();
  await page.getByTestId("approve-selected").click();
  await page.getByTestId("pin-dialog").locator('input[name="pin"]').fill(who.pin);
  await page.getByTestId("pin-dialog").getByRole("button", { name: "Xác nhận" }).click();
  await page.getByTestId("toast-ok").getByText(done).waitFor();
}

test("the clerk seals what the director signed, with one PIN", { timeout: 180_000 }, async () => {
  const ward = await Ward.start(["--seal", "clerk"]);
  try {
    const land = await ward.submit("DD-BD", "Đăng ký biến động đất đai - thửa 9, tờ 3", "land-seal");
    const director = (await ward.tablet(PORTRAIT, DIRECTOR)).page;
    await signIn(director, ward, DIRECTOR);
    await approve(director, land, DIRECTOR, "Đã ký 1 hồ sơ.");
    assert.equal((await ward.get(land)).state, "QUEUED", "signed, waiting for the seal");

    const { page } = await ward.tablet(PORTRAIT, CLERK);
    await signIn(page, ward, CLERK);
    assert.match(await page.getByTestId("who").innerText(), /Văn thư/);
    assert.match(await page.getByTestId("tab-inbox").innerText(), /Hồ sơ chờ đóng dấu/);
    const row = page.locator(`[data-testid="record"][data-record-id="${land}"]`);
    await row.waitFor();
    assert.deepEqual(await smallTargets(page), [], "touch targets of the clerk's inbox");
    await row.locator('input[type="checkbox"]').check();
    assert.match(await page.getByTestId("approve-selected").innerText(), /Đóng dấu 1 hồ sơ/);
    await screenshot(page, "clerk-inbox");
    assert.deepEqual(await accessibilityViolations(page), [], "clerk-inbox");
    await page.getByTestId("approve-selected").click();
    assert.match(await page.getByTestId("pin-dialog").innerText(), /Đóng dấu 1 hồ sơ bằng mã PIN/);
    await page.getByTestId("pin-dialog").locator('input[name="pin"]').fill(CLERK.pin);
    await page.getByTestId("pin-dialog").getByRole("button", { name: "Xác nhận" }).click();
    await page.getByTestId("toast-ok").getByText("Đã đóng dấu 1 hồ sơ.").waitFor();
    await page.getByTestId("inbox-empty").getByText("Không có hồ sơ nào chờ đóng dấu.").waitFor();

    // Sealed: the director's signature verifies, and the PDF carries the ward's seal after it.
    const sealed = await ward.verify(land);
    assert.deepEqual(
      [sealed.state, sealed.stage, sealed.signer, sealed.clerk, sealed.signatures],
      ["SIGNED", "SEAL", DIRECTOR.id, CLERK.id, 2],
    );
  } finally {
    await ward.stop();
  }
});
