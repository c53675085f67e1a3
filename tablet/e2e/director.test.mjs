// The director on the tablet, end to end against `signq dev`: signs what only a director may,
// watches the ward (pool, each signer's load, director's share, on time, waits, the backlog of the
// last day, who is locked out with records), and creates a delegation with the PIN, then revokes
// it.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accessibilityViolations,
  DEPUTY_1,
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

/**
 * How the ward screen on `page` may write any minute from `from` to `to` (milliseconds) in ward
 * time: `kind` "time" ("14:05") or "day" (with the date), formatted by the page's own browser.
 */
function wardMinutes(page, from, to, kind) {
  return page.evaluate(
    ([from, to, kind]) => {
      const format = new Intl.DateTimeFormat("vi-VN", {
        timeZone: "Asia/Ho_Chi_Minh",
        hour12: false,
        ...(kind === "day" ? { day: "2-digit", month: "2-digit" } : {}),
        hour: "2-digit",
        minute: "2-digit",
      });
      const said = [];
      for (let t = from - 60_000; t <= to + 60_000; t += 30_000) said.push(format.format(t));
      return said;
    },
    [from, to, kind],
  );
}

test(
  "the ward screen draws the last day's backlog from the store and lists a locked signer with the records they hold",
  { timeout: 240_000 },
  async () => {
    const started = Date.now();
    const hour = 3_600_000;
    // Three hours ago by the ward's clock, two land records arrived...
    const ward = await Ward.start([], { at: new Date(started - 3 * hour) });
    try {
      const land = await ward.submit("DD-BD", "Đăng ký biến động đất đai - thửa 12, tờ 4", "history-1");
      await ward.submit("DD-BD", "Đăng ký biến động đất đai - thửa 13, tờ 4", "history-2");
      // ...and an hour later the director signed the first, long before this screen opened.
      await ward.killAndRestart({ at: new Date(started - 2 * hour) });
      const asDirector = { env: { SIGNQ_PIN: DIRECTOR.pin } };
      await ward.signq(asDirector, "inbox", "@addr", "--signer", DIRECTOR.id);
      await ward.signq(asDirector, "approve", "@addr", "--signer", DIRECTOR.id, land);
      await ward.killAndRestart({ at: null });

      // Now two certified copies are leased to deputy 1, whose key five wrong PINs then lock.
      const titles = ["Bản sao giấy khai sinh - Nguyễn Văn An", "Bản sao giấy khai sinh - Trần Thị Bình"];
      const copies = [
        await ward.submit("CT-BS", titles[0], "held-1"),
        await ward.submit("CT-BS", titles[1], "held-2"),
      ];
      const deputy = await ward.tablet(LANDSCAPE, DEPUTY_1);
      await signIn(deputy.page, ward, DEPUTY_1);
      for (const id of copies)
        await deputy.page.locator(`[data-testid="record"][data-record-id="${id}"]`).waitFor();
      const lockedFrom = Date.now();
      for (let i = 0; i < 5; i++) {
        await assert.rejects(
          ward.signq({ env: { SIGNQ_PIN: "000000" } }, "inbox", "@addr", "--signer", DEPUTY_1.id),
          "a wrong PIN",
        );
      }
      const lockedBy = Date.now();

      const { page } = await ward.tablet(LANDSCAPE, DIRECTOR);
      await signIn(page, ward, DIRECTOR);
      const opened = Date.now();
      await page.getByTestId("tab-ward").click();

      // (a) The line is the store's last 24 hours, there from the first answer: nothing before the
      // land records, both waiting for the hour before one was signed, the other alone since, and
      // now the copies too.
      const line = page.getByTestId("chart-backlog").locator("polyline");
      await waitUntil(
        async () => ((await line.getAttribute("data-values")) ?? "").split(",").length === 97,
        "the backlog line has the scheduler's 97 points",
      );
      const seen = Date.now();
      const values = (await line.getAttribute("data-values")).split(",").map(Number);
      assert.deepEqual(values, [...Array(84).fill(0), ...Array(4).fill(2), ...Array(8).fill(1), 3]);
      // The axis: from 24 hours ago to now, in ward time (its ticks: the top, 0, first, last).
      const [, , first, last] = await page
        .getByTestId("chart-backlog")
        .locator("text.chart-tick")
        .allTextContents();
      assert.ok(
        (await wardMinutes(page, opened - 24 * hour, seen - 24 * hour, "day")).includes(first),
        `starts: ${first}`,
      );
      assert.ok((await wardMinutes(page, opened, seen, "day")).includes(last), `ends: ${last}`);

      // (b) Under the signers chart: deputy 1, locked until when (ward time), and what waits on them.
      const stuck = page.locator('[data-testid="stuck-signer"][data-signer-id="cat-lai/deputy-1"]');
      await stuck.waitFor();
      const said = await stuck.innerText();
      assert.match(said, /Lê Văn Phúc \(Phó giám đốc\)/);
      const until = await wardMinutes(page, lockedFrom + 15 * 60_000, lockedBy + 15 * 60_000, "time");
      assert.ok(
        until.some((u) => said.includes(`Khóa đến ${u}`)),
        `locked for 15 minutes from ${new Date(lockedFrom).toISOString()}: ${said}`,
      );
      for (const title of titles) assert.ok(said.includes(title), `${title} in ${said}`);
      assert.equal(await stuck.getByTestId("stuck-record").count(), 2);
      assert.match(said, /hạn .*\d{2}\/\d{2}\/\d{4}/);
      assert.doesNotMatch(said, /cat-lai|deputy|R0[0-9a-f]{6}|locked/i, "no ids, no English");
      assert.equal(
        await page.locator('[data-testid="stuck-signer"]').count(),
        1,
        "only the locked deputy is listed",
      );
      const chart = await page.getByTestId("chart-signers").boundingBox();
      const list = await page.getByTestId("stuck-signers").boundingBox();
      assert.ok(list.y >= chart.y + chart.height, "the list is under the signers chart");
      await page.getByTestId("stuck-signers").evaluate((el) => el.scrollIntoView({ block: "center" }));
      assert.deepEqual(await smallTargets(page), [], "touch targets on the ward with a locked signer");
      await screenshot(page, "ward-locked-signer-landscape");
      assert.deepEqual(await accessibilityViolations(page), [], "ward-locked-signer-landscape");

      // In English, the same facts in English words.
      await page.getByTestId("lang-en").click();
      await stuck.getByText(/Locked until \d\d:\d\d/).waitFor();
      assert.match(await stuck.innerText(), /Lê Văn Phúc \(Deputy\)/);
      assert.match(
        await page.getByTestId("chart-backlog").innerText(),
        /Records waiting to be signed, last 24 hours/,
      );
      await deputy.context.close();
    } finally {
      await ward.stop();
    }
  },
);
