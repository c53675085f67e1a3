// The director on the tablet, end to end against `signq dev`: signs what only a director may,
// watches the ward (pool, each signer's load, director's share, on time, waits), and creates a
// delegation with the PIN, then revokes it.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accessibilityViolations,
  DIRECTOR,
  LANDSCAPE,
  PORTRAIT,
  Ward,
  screenshot,
  signIn,
  smallTargets,
  waitUntil,
} from "./harness.mjs";

/** The smallest text of the ward's charts as drawn on screen, in CSS pixels. */
function smallestChartText(page) {
  return page.evaluate(() =>
    Math.min(
      ...[...document.querySelectorAll(".chart svg text")].map(
        (t) => parseFloat(getComputedStyle(t).fontSize) * (t.getScreenCTM()?.a ?? 0),
      ),
    ),
  );
}

test("the director sees the ward and creates and revokes a delegation", { timeout: 180_000 }, async () => {
  const ward = await Ward.start();
  try {
    const { context, page } = await ward.tablet(LANDSCAPE, DIRECTOR);
    // A land record only the director may sign, and a certified copy a deputy may.
    const land = await ward.submit("DD-BD", "Đăng ký biến động đất đai - thửa 112, tờ 7", "land-1");
    await ward.submit("CT-BS", "Bản sao sổ hộ khẩu - Võ Minh Tuấn", "copy-1");
    await signIn(page, ward, DIRECTOR);
    const row = page.locator(`[data-testid="record"][data-record-id="${land}"]`);
    await row.waitFor();
    await row.locator('input[type="checkbox"]').check();
    await page.getByTestId("approve-selected").click();
    await page.getByTestId("pin-dialog").locator('input[name="pin"]').fill(DIRECTOR.pin);
    await page.getByTestId("pin-dialog").getByRole("button", { name: "Xác nhận" }).click();
    await page.getByTestId("toast-ok").getByText("Đã ký 1 hồ sơ.").waitFor();
    assert.equal((await ward.verify(land)).signer, DIRECTOR.id);

    // The ward: every chart drawn from the scheduler's numbers.
    await page.getByTestId("tab-ward").click();
    for (const chart of ["chart-pool", "chart-signers", "chart-wait", "chart-backlog"]) {
      await page.getByTestId(chart).locator("svg").waitFor();
    }
    const signers = await page.getByTestId("chart-signers").innerText();
    for (const name of ["Trần Thị Hồng Nhung", "Lê Văn Phúc", "Phạm Thu Hà"])
      assert.match(signers, new RegExp(name));
    // Holding and signed today, per signer: the director signed one; the deputies are not signed in.
    const load = (name) =>
      page.getByTestId("chart-signers").locator(`g[data-category^="${name}"]`).getAttribute("data-values");
    assert.equal(await load("Trần Thị Hồng Nhung"), "0,1");
    assert.equal(await load("Lê Văn Phúc"), "0,0");
    // The director signed the only signed record: a share of 100%, on time.
    assert.match(await page.getByTestId("director-share").innerText(), /100/);
    assert.match(await page.getByTestId("on-time").innerText(), /100/);
    // Words for a director, not an engineer: no percentile names, no bare units.
    const waits = await page.getByTestId("chart-wait").innerText();
    assert.match(waits, /Một nửa số hồ sơ chờ ít hơn/);
    assert.match(waits, /99 trên 100 hồ sơ chờ ít hơn/);
    assert.doesNotMatch(await page.getByTestId("ward").innerText(), /\bp(50|90|99)\b|\d s\b/);
    assert.ok((await smallestChartText(page)) >= 15.9, "chart labels of 16 px (landscape)");
    assert.deepEqual(await smallTargets(page), [], "touch targets on the ward (landscape)");
    await screenshot(page, "ward-landscape");
    assert.deepEqual(await accessibilityViolations(page), [], "ward-landscape");
    await page.setViewportSize(PORTRAIT);
    await waitUntil(async () => (await smallestChartText(page)) >= 15.9, "chart labels of 16 px (portrait)");
    assert.deepEqual(await smallTargets(page), [], "touch targets on the ward (portrait)");
    await screenshot(page, "ward-portrait");
    assert.deepEqual(await accessibilityViolations(page), [], "ward-portrait");

    // Delegations: the two `signq dev` made, then a new one signed with the director's PIN.
    await page.getByTestId("tab-delegations").click();
    const items = page.getByTestId("delegation");
    await items.nth(1).waitFor();
    assert.equal(await items.count(), 2);
    const form = page.getByTestId("new-delegation");
    await form.locator('select[name="deputy"]').selectOption("cat-lai/deputy-2");
    await form.locator('input[name="procedure"][value="CT-BS"]').check();
    await form.locator('input[name="cap"]').fill("20");
    assert.deepEqual(await smallTargets(page), [], "touch targets on delegations (portrait)");
    await screenshot(page, "delegations-portrait");
    assert.deepEqual(await accessibilityViolations(page), [], "delegations-portrait");
    await form.getByRole("button", { name: "Ký ủy quyền bằng PIN" }).click();
    const pin = page.getByTestId("pin-dialog");
    await pin.locator('input[name="pin"]').fill(DIRECTOR.pin);
    await pin.getByRole("button", { name: "Xác nhận" }).click();
    await page.getByTestId("toast-ok").getByText("Đã tạo ủy quyền.").waitFor();
    await items.nth(2).waitFor();
    const created = page.locator('[data-testid="delegation"][data-deputy="cat-lai/deputy-2"]', {
      hasText: "CT-BS",
    });
    assert.match(await created.innerText(), /Đang hiệu lực/);

    await page.setViewportSize(LANDSCAPE);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, "delegations-landscape");
    assert.deepEqual(await accessibilityViolations(page), [], "delegations-landscape");
    await created.getByRole("button", { name: "Thu hồi" }).click();
    const reason = page.getByTestId("reason-dialog");
    await reason.locator("textarea").fill("Phó giám đốc chuyển công tác.");
    await reason.getByRole("button", { name: "Thu hồi" }).click();
    await created.getByText("Đã thu hồi").waitFor();
    assert.match(await created.innerText(), /chuyển công tác/);
    await context.close();
  } finally {
    await ward.stop();
  }
});

test(
  "the director approves a new appointment date with the PIN and refuses another",
  { timeout: 180_000 },
  async () => {
    const ward = await Ward.start();
    try {
      // Two land records (due in ten working days), each given a request for a new date.
      const late = await ward.submit("DD-BD", "Đăng ký biến động đất đai - thửa 40, tờ 3", "late-1");
      const other = await ward.submit("DD-BD", "Đăng ký biến động đất đai - thửa 41, tờ 3", "late-2");
      const { deadline } = await ward.get(late);
      await ward.reappoint(late, "Chờ kết quả đo đạc lại thửa đất", new Date(deadline + 5 * 86_400_000));
      const otherDeadline = (await ward.get(other)).deadline;
      await ward.reappoint(other, "Thiếu hồ sơ gốc", new Date(otherDeadline + 5 * 86_400_000));

      const { context, page } = await ward.tablet(PORTRAIT, DIRECTOR);
      await signIn(page, ward, DIRECTOR);
      await page.getByTestId("tab-reappointments").click();
      const item = (id) => page.locator(`[data-testid="reappointment"][data-record-id="${id}"]`);
      await item(late).waitFor();
      assert.match(await item(late).innerText(), /Chờ kết quả đo đạc lại thửa đất/);
      assert.deepEqual(await smallTargets(page), [], "touch targets on new dates (portrait)");
      await screenshot(page, "reappointments-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "reappointments-portrait");

      // Approved with the PIN: the apology is signed, the record has its new date.
      await item(late).getByRole("button", { name: "Duyệt và ký phiếu xin lỗi" }).click();
      const pin = page.getByTestId("pin-dialog");
      await pin.locator('input[name="pin"]').fill(DIRECTOR.pin);
      await pin.getByRole("button", { name: "Xác nhận" }).click();
      await page.getByTestId("toast-ok").getByText("Đã ký phiếu xin lỗi; hồ sơ được hẹn lại.").waitFor();
      await item(late).waitFor({ state: "detached" });
      const moved = await ward.get(late);
      assert.equal(moved.deadline, deadline + 5 * 86_400_000);

      // Refused with a reason: the deadline stays.
      await item(other).getByRole("button", { name: "Từ chối" }).click();
      const reason = page.getByTestId("reason-dialog");
      await reason.locator("textarea").fill("Hồ sơ đủ điều kiện giải quyết đúng hạn.");
      await reason.getByRole("button", { name: "Từ chối" }).click();
      await page.getByTestId("toast-ok").getByText("Đã từ chối đề nghị hẹn lại.").waitFor();
      await item(other).waitFor({ state: "detached" });
      assert.equal((await ward.get(other)).deadline, otherDeadline);
      await page.getByText("Không có đề nghị nào đang chờ.").waitFor();
      await context.close();
    } finally {
      await ward.stop();
    }
  },
);

/**
 * What the header hides or pushes out on the page as it is now (content under the sticky header,
 * the preview's buttons below the screen, a page wider than the screen) and the serious or
 * critical accessibility violations axe-core finds on it.
 */
async function layoutProblems(page, where) {
  const accessibility = (await accessibilityViolations(page)).map((v) => `${where}: ${v}`);
  const problems = await page.evaluate(() => {
    const out = [];
    const header = document.querySelector("header.top").getBoundingClientRect();
    const below = (sel) => {
      const el = document.querySelector(sel);
      if (!el || el.getClientRects().length === 0) return;
      const r = el.getBoundingClientRect();
      // In portrait the preview covers the whole screen, the header included, on purpose.
      const covering = [el, el.closest(".preview")].some(
        (e) => e && getComputedStyle(e).position === "fixed",
      );
      if (!covering && r.top < header.bottom - 0.5)
        out.push(`${sel} starts under the header (${r.top} < ${header.bottom})`);
      if (r.bottom > innerHeight + 0.5)
        out.push(`${sel} ends below the screen (${r.bottom} > ${innerHeight})`);
    };
    below(".inbox .toolbar");
    below(".preview-head");
    below(".preview-actions");
    if (document.documentElement.scrollWidth > innerWidth)
      out.push(`wider than the screen (${document.documentElement.scrollWidth})`);
    return out;
  });
  return [...problems.map((p) => `${where}: ${p}`), ...accessibility];
}

test(
  "the director's screens in both orientations: nothing under the header, no button off screen, nothing axe-core calls serious",
  { timeout: 180_000 },
  async () => {
    const ward = await Ward.start(["--lease-size", "20"]);
    try {
      const { page } = await ward.tablet(LANDSCAPE, DIRECTOR);
      const ids = [];
      for (let i = 1; i <= 14; i++)
        ids.push(
          await ward.submit(
            "DD-BD",
            `Đăng ký biến động đất đai - thửa ${100 + i}, tờ bản đồ số 7`,
            `layout-${i}`,
          ),
        );
      await signIn(page, ward, DIRECTOR);
      for (const id of ids) await page.locator(`[data-testid="record"][data-record-id="${id}"]`).waitFor();
      const headerHeight = () => page.locator("header.top").evaluate((el) => el.offsetHeight);
      // The director's header (four tabs, away, two languages, sign out) takes two rows here.
      assert.ok((await headerHeight()) > 100, `the director's header wraps (${await headerHeight()} px)`);

      const problems = [];
      const last = page.locator(`[data-testid="record"][data-record-id="${ids.at(-1)}"]`);
      for (const viewport of [LANDSCAPE, PORTRAIT]) {
        const name = viewport === LANDSCAPE ? "landscape" : "portrait";
        await page.setViewportSize(viewport);
        await page.getByTestId("tab-inbox").click();
        problems.push(...(await layoutProblems(page, `inbox (${name})`)));
        // A preview opened at the bottom of a scrolled list.
        await last.scrollIntoViewIfNeeded();
        await last.locator(".record-body").click();
        await page.locator('[data-testid="preview-pages"][data-pages="1"]').waitFor();
        await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
        problems.push(...(await layoutProblems(page, `preview, list scrolled (${name})`)));
        for (const button of ["Trả lại", "Ký hồ sơ này"]) {
          const target = page.getByTestId("preview").getByRole("button", { name: button });
          const box = await target.boundingBox();
          if (box.y + box.height > viewport.height) problems.push(`${name}: "${button}" below the screen`);
        }
        if (viewport === LANDSCAPE) await screenshot(page, "director-preview-landscape");
        await page.keyboard.press("Escape");
        for (const tab of ["ward", "delegations", "reappointments"]) {
          await page.getByTestId(`tab-${tab}`).click();
          await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
          problems.push(...(await layoutProblems(page, `${tab} (${name})`)));
        }
      }
      assert.deepEqual(problems, []);
    } finally {
      await ward.stop();
    }
  },
);
