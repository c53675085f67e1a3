// The tablet app's figures, against baselines measured in the same run on the same machine:
//
// 1. First load over an emulated slow mobile link (150 ms round trip, 1.6 Mbit/s down): bytes on
//    the wire and time until the sign-in form shows, compressed (what browsers get) against the
//    same bundle sent uncompressed.
// 2. Live updates: from `signq submit` returning to the record showing on the tablet, against the
//    submit's own round trip.
// 3. Signing ten with one PIN: the Approve call as the browser sees it, and the tap on Confirm to
//    the "signed" message (both timed inside the page), against `signq approve` of ten records
//    from the command line (a whole process that opens its own session).
//
// Usage: SIGNQ_BIN=../target/release/signq npm run bench [-- --records 60 --loads 3]

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { DEPUTY_1, PORTRAIT, SIGNQ, Ward, signIn } from "./harness.mjs";

const run = promisify(execFile);
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RECORDS = arg("records", 30);
const LOADS = arg("loads", 3);
const SLOW_LINK = {
  offline: false,
  latency: 150,
  downloadThroughput: 1.6e6 / 8,
  uploadThroughput: 0.75e6 / 8,
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const ms = (x) => `${x.toFixed(0)} ms`;

async function firstLoad(ward, encoding) {
  const { context, page } = await ward.tablet(PORTRAIT);
  await context.setExtraHTTPHeaders(encoding ? {} : { "accept-encoding": "identity" });
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", SLOW_LINK);
  let bytes = 0;
  cdp.on("Network.loadingFinished", (e) => (bytes += e.encodedDataLength));
  const start = performance.now();
  await page.goto(ward.url);
  await page.locator('form[data-testid="sign-in"]').waitFor();
  const elapsed = performance.now() - start;
  await context.close();
  return { bytes, elapsed };
}

async function main() {
  const ward = await Ward.start(["--lease-size", "100"]);
  try {
    // 1. First load.
    const loads = { gzip: [], identity: [] };
    for (let i = 0; i < LOADS; i++) {
      loads.gzip.push(await firstLoad(ward, true));
      loads.identity.push(await firstLoad(ward, false));
    }
    const load = (k) => ({
      bytes: median(loads[k].map((l) => l.bytes)),
      elapsed: median(loads[k].map((l) => l.elapsed)),
    });
    const [gz, id] = [load("gzip"), load("identity")];

    // 2. Live updates: stamp each row when it appears, in the page's clock (same machine clock).
    const { page } = await ward.tablet(PORTRAIT);
    await signIn(page, ward, DEPUTY_1);
    await page.evaluate(() => {
      window.seen = {};
      new MutationObserver(() => {
        for (const row of document.querySelectorAll('[data-testid="record"]')) {
          window.seen[row.dataset.recordId] ??= performance.timeOrigin + performance.now();
        }
      }).observe(document.body, { childList: true, subtree: true });
    });
    const submitted = [];
    for (let i = 0; i < RECORDS; i++) {
      const start = Date.now();
      const id = await ward.submit("CT-BS", `Bản sao số ${i}`, `bench-${i}`);
      submitted.push({ id, start, acked: Date.now() });
    }
    for (const s of submitted) await page.locator(`[data-record-id="${s.id}"]`).waitFor();
    const seen = await page.evaluate(() => window.seen);
    const shown = submitted.map((s) => seen[s.id] - s.acked);
    const submitRtt = submitted.map((s) => s.acked - s.start);

    // 3. Ten signed with one PIN in the app (timed in the page: the tap on Confirm to the message
    // appearing, and the Approve call itself), then ten with the command line.
    await page.evaluate(() => {
      window.tap = 0;
      window.shownAt = 0;
      document.addEventListener("submit", () => (window.tap = performance.now()), true);
      new MutationObserver(() => {
        if (!window.shownAt && document.querySelector('[data-testid="toast-ok"]'))
          window.shownAt = performance.now();
      }).observe(document.body, { childList: true, subtree: true });
    });
    const approveCalls = [];
    page.on("requestfinished", (r) => {
      if (r.url().endsWith("/signq.v1.Inbox/Approve"))
        approveCalls.push(r.timing().responseEnd - r.timing().requestStart);
    });
    const app = [];
    const batches = Math.floor(RECORDS / 20);
    for (let b = 0; b < batches; b++) {
      const ids = submitted.slice(b * 20, b * 20 + 10).map((s) => s.id);
      for (const id of ids) await page.locator(`[data-record-id="${id}"] input[type="checkbox"]`).check();
      await page.getByTestId("approve-selected").click();
      await page.getByTestId("pin-dialog").locator('input[name="pin"]').fill(DEPUTY_1.pin);
      await page.evaluate(() => (window.shownAt = 0));
      await page.getByTestId("pin-dialog").getByRole("button", { name: "Xác nhận" }).click();
      await page.getByTestId("toast-ok").waitFor();
      app.push(await page.evaluate(() => window.shownAt - window.tap));
      await page.getByTestId("toast-ok").getByRole("button").click();
    }
    const cli = [];
    for (let b = 0; b < batches; b++) {
      const ids = submitted.slice(b * 20 + 10, b * 20 + 20).map((s) => s.id);
      const port = ward.scheduler.split(":").pop();
      const start = performance.now();
      await run(
        SIGNQ,
        ["--data-dir", ward.data, "approve", "--addr", `localhost:${port}`, "--signer", DEPUTY_1.id, ...ids],
        {
          env: { ...process.env, SIGNQ_PIN: DEPUTY_1.pin, RUST_LOG: "warn" },
        },
      );
      cli.push(performance.now() - start);
    }

    console.log(`\nsignq tablet app, ${RECORDS} records, ${LOADS} first loads each (medians)\n`);
    console.log("| measure | tablet app | baseline | ratio |");
    console.log("|---|---:|---:|---:|");
    console.log(
      `| first load, bytes on the wire (compressed vs uncompressed) | ${(gz.bytes / 1024).toFixed(0)} KiB | ${(id.bytes / 1024).toFixed(0)} KiB | ${(gz.bytes / id.bytes).toFixed(2)} |`,
    );
    console.log(
      `| first load on a 1.6 Mbit/s, 150 ms link (compressed vs uncompressed) | ${ms(gz.elapsed)} | ${ms(id.elapsed)} | ${(gz.elapsed / id.elapsed).toFixed(2)} |`,
    );
    console.log(
      `| submit acknowledged → shown on the tablet, p50 (vs submit round trip p50) | ${ms(pct(shown, 50))} | ${ms(pct(submitRtt, 50))} | ${(pct(shown, 50) / pct(submitRtt, 50)).toFixed(2)} |`,
    );
    console.log(
      `| submit acknowledged → shown on the tablet, p99 (vs submit round trip p99) | ${ms(pct(shown, 99))} | ${ms(pct(submitRtt, 99))} | ${(pct(shown, 99) / pct(submitRtt, 99)).toFixed(2)} |`,
    );
    console.log(
      `| sign 10 with one PIN: the Approve call from the browser (vs \`signq approve\`, whole command) | ${ms(median(approveCalls))} | ${ms(median(cli))} | ${(median(approveCalls) / median(cli)).toFixed(2)} |`,
    );
    console.log(
      `| sign 10 with one PIN: tap on Confirm → "signed" shown (vs \`signq approve\`, whole command) | ${ms(median(app))} | ${ms(median(cli))} | ${(median(app) / median(cli)).toFixed(2)} |`,
    );
  } finally {
    await ward.stop();
  }
}

await main();
