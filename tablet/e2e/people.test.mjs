// For people: Vietnamese by default, English on request (and remembered), away and back, large
// touch targets, and the sign-in screen in both orientations.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accessibilityViolations,
  DEPUTY_1,
  LANDSCAPE,
  PORTRAIT,
  Ward,
  screenshot,
  signIn,
  smallTargets,
} from "./harness.mjs";

test("Vietnamese by default, English on request, away and back", { timeout: 120_000 }, async () => {
  const ward = await Ward.start();
  try {
    const { context, page } = await ward.tablet(PORTRAIT);
    await page.goto(ward.url);
    await page.getByRole("heading", { name: "Đăng nhập để ký" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "vi");
    assert.deepEqual(await smallTargets(page), [], "touch targets on sign in (portrait)");
    await screenshot(page, "sign-in-portrait");
    assert.deepEqual(await accessibilityViolations(page), [], "sign-in-portrait");

    // The tablet knows whose it is; a wrong PIN is refused with the reason; nothing else happens.
    await page.getByTestId("device").getByText(DEPUTY_1.name).waitFor();
    await page.getByTestId("device").getByText("Phường Cát Lái").waitFor();
    await page.locator('input[name="pin"]').fill("111111");
    await page.locator('form[data-testid="sign-in"] button[type="submit"]').click();
    await page.locator('form[data-testid="sign-in"] .error').getByText("Mã PIN không đúng.").waitFor();

    await page.getByTestId("lang-en").click();
    await page.getByRole("heading", { name: "Sign in to sign" }).waitFor();
    await page.setViewportSize(LANDSCAPE);
    assert.deepEqual(await smallTargets(page), [], "touch targets on sign in (landscape)");
    await screenshot(page, "sign-in-landscape-en");
    assert.deepEqual(await accessibilityViolations(page), [], "sign-in-landscape-en");
    await page.reload();
    await page.getByRole("heading", { name: "Sign in to sign" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");

    await signIn(page, ward, DEPUTY_1);
    await page.getByTestId("tab-inbox").getByText("To sign").waitFor();
    await page.getByText("Nothing is waiting for your signature.").waitFor();

    // Away: the scheduler confirms, and the tablet says what it means; then back.
    await page.getByTestId("away").click();
    await page.getByText("You are away: new records are not given to you.").waitFor();
    await screenshot(page, "away-landscape-en");
    assert.deepEqual(await accessibilityViolations(page), [], "away-landscape-en");
    await page.getByTestId("away").click();
    await page.getByText("You are away").waitFor({ state: "detached" });

    // Records submitted while back are leased to the deputy and show in English.
    const id = await ward.submit("CT-CK", "Chứng thực chữ ký - Đỗ Quang Huy", "en-1");
    const row = page.locator(`[data-testid="record"][data-record-id="${id}"]`);
    await row.waitFor();
    assert.match(await row.getByTestId("time-left").innerText(), /left/);
    await page.getByTestId("lang-vi").click();
    assert.match(await row.getByTestId("time-left").innerText(), /còn/);
    await context.close();
  } finally {
    await ward.stop();
  }
});

test(
  "a browser without a device certificate cannot sign in, and is told why",
  { timeout: 120_000 },
  async () => {
    const ward = await Ward.start();
    try {
      const { context, page } = await ward.tablet(PORTRAIT, null);
      await page.goto(ward.url);
      await page.getByTestId("device-error").getByText("chưa được cấp chứng thư thiết bị").waitFor();
      assert.equal(await page.locator('input[name="pin"]').count(), 0, "no PIN is asked for");
      await screenshot(page, "not-enrolled-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "not-enrolled-portrait");
      await context.close();
    } finally {
      await ward.stop();
    }
  },
);
